import middy from '@middy/core';
import type * as z from 'zod';
import { sweepInputSchema } from '#domain/contracts/sweep-input.ts';
import { sweep } from '#domain/use-cases/sweep.ts';
import { logInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Every minute (a scheduled rule whose input is the sweep configuration compiled from the flows):
// resume due waits, and emit inactivity, date and schedule triggers.

export const inputSchema = sweepInputSchema;

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
