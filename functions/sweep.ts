import middy from '@middy/core';
import * as z from 'zod';
import { programSchema } from '#domain/program.ts';
import { sweep } from '#domain/use-cases/sweep.ts';
import { conditionSchema } from '#domain/workflow/flow-schema.ts';
import { logInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Every minute (a scheduled rule whose input is the sweep configuration compiled from the flows):
// resume due waits, emit inactivity and date triggers, and start a Broadcast per due schedule.

export const inputSchema = z.object({
  timeZone: z.string(),
  inactivityDays: z.array(z.number().int().positive()),
  dates: z.array(z.object({ field: z.string(), at: z.string() })),
  schedules: z.array(
    z.object({
      flowId: z.string(),
      every: z.enum(['day', 'week', 'month']),
      at: z.string(),
      weekday: z.string().optional(),
      dayOfMonth: z.number().optional(),
      when: z.array(conditionSchema).optional(),
    }),
  ),
  program: programSchema.optional(),
});

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(
      logInvocation(
        () => runtime().logger,
        () => ({ task: 'sweep' }),
      ),
    )
    .use(parseInput(inputSchema))
    .handler(async (config, context) => {
      const { logger, ...deps } = runtime();
      const result = await sweep(config, {
        ...deps,
        timeLeft: () => context.getRemainingTimeInMillis(),
        // One line per failure: ids and the error's name, never a message (it may quote an address).
        report: (failure) => logger.error('sweep step failed', { task: 'sweep', ...failure }),
      });
      // The stack's metric filter reads `failed` from this line.
      logger.info('swept', { task: 'sweep', ...result });
      return result;
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
