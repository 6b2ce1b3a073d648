import middy from '@middy/core';
import type * as z from 'zod';
import { sweepShardInputSchema } from '#domain/contracts/tasks.ts';
import { sweep } from '#domain/use-cases/sweep.ts';
import { observeInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// A sweep worker: due points accounts and waits of the timer shards it is given, within its own
// minute. The scheduled sweep hands it a shard whose backlog is more than one sweep should take.

export const inputSchema = sweepShardInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(
      observeInvocation(runtime, (input) => ({
        task: 'sweep-shard',
        shards: inputSchema.safeParse(input).data?.shards,
      })),
    )
    .use(parseInput(inputSchema))
    .handler(async ({ config, shards }, context) => {
      const { logger, metrics, ...deps } = runtime();
      const result = await sweep(
        { ...config, shards },
        {
          ...deps,
          timeLeft: () => context.getRemainingTimeInMillis(),
          report: (failure) => logger.error('sweep step failed', { task: 'sweep-shard', shards, ...failure }),
        },
      );
      logger.info('swept', { task: 'sweep-shard', shards, ...result });
      return result;
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
