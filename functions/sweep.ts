import middy from '@middy/core';
import type * as z from 'zod';
import { sweepInputSchema } from '#domain/contracts/sweep-input.ts';
import { sweep } from '#domain/use-cases/sweep.ts';
import { observeInvocation, parseInput } from './commons/middleware.ts';
import { countMetric } from './commons/observability.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Every minute (a scheduled rule whose input is the sweep configuration compiled from the flows):
// resume due waits, emit inactivity and date triggers, and start a Broadcast per due schedule.

export const inputSchema = sweepInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(observeInvocation(runtime, () => ({ task: 'sweep' })))
    .use(parseInput(inputSchema))
    .handler(async (config, context) => {
      const { logger, metrics, ...deps } = runtime();
      const result = await sweep(config, {
        ...deps,
        timeLeft: () => context.getRemainingTimeInMillis(),
        // One line per failure: ids and the error's name, never a message (it may quote an address).
        report: (failure) => logger.error('sweep step failed', { task: 'sweep', ...failure }),
      });
      // The stack's metric filter reads `failed` from this line.
      logger.info('swept', { task: 'sweep', ...result });
      countMetric(metrics, 'SweepStepsFailed', result.failed);
      countMetric(metrics, 'SweepDeadLettered', result.deadLettered);
      return result;
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
