import * as z from 'zod';
import { EVENT_TYPES } from '../events.ts';

// Version 1 of the flow language. Steps are a discriminated union on `type`; each step has an id
// that names its state in the compiled state machine and keys its side effects.

const stepId = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,47}$/, 'use lower-case letters, digits, - and _ (starting with a letter)');

export const awardPointsStep = z
  .object({
    id: stepId,
    type: z.literal('award_points'),
    /** `order`: the program's earn rule applied to the triggering order's total. */
    for: z.literal('order'),
  })
  .strict();

export const sendEmailStep = z
  .object({
    id: stepId,
    type: z.literal('send_email'),
    template: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'name a template file in workflows/emails without .liquid'),
  })
  .strict();

export const stepSchema = z.discriminatedUnion('type', [awardPointsStep, sendEmailStep]);

export const flowSchema = z
  .object({
    version: z.literal(1),
    id: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'use lower-case letters, digits and dashes'),
    name: z.string().min(1),
    description: z.string().optional(),
    status: z.enum(['active', 'paused']).default('active'),
    trigger: z
      .object({
        event: z.enum(EVENT_TYPES as [string, ...string[]]),
        where: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    steps: z.array(stepSchema).min(1, 'a flow needs at least one step'),
  })
  .strict();

export type Flow = z.infer<typeof flowSchema>;
export type Step = z.infer<typeof stepSchema>;
