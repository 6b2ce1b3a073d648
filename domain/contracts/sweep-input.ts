import * as z from 'zod';
import { WEEKDAYS } from '../local-time.ts';
import { programSchema } from '../program.ts';
import { conditionSchema } from './conditions.ts';

/**
 * The sweeper's input, which the scheduled rule carries: what it must look for, derived by the
 * compiler from the deployed flows' triggers and parsed by the sweep handler.
 */
export const sweepInputSchema = z.object({
  timeZone: z.string(),
  inactivityDays: z.array(z.number().int().positive()),
  dates: z.array(z.object({ field: z.string(), at: z.string() })),
  schedules: z.array(
    z.object({
      flowId: z.string(),
      every: z.enum(['day', 'week', 'month']),
      at: z.string(),
      weekday: z.enum(WEEKDAYS).optional(),
      dayOfMonth: z.number().optional(),
      /** The flow's entry conditions: the broadcast sends triggers only to customers who meet them. */
      when: z.array(conditionSchema).optional(),
    }),
  ),
  /** The program, when points mature, expire, move tiers or are redeemed: accounts then come due. */
  program: programSchema.optional(),
});

export type SweepConfig = z.infer<typeof sweepInputSchema>;
