import middy from '@middy/core';
import type * as z from 'zod';
import { scanPageInputSchema } from '#domain/contracts/tasks.ts';
import { scanSegmentPages } from '#domain/use-cases/broadcast.ts';
import { observeInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// ScanPage of the Broadcast machine: a few Scan pages of one segment, a trigger for every customer
// the scheduled flow admits, and the cursor the machine keeps for the next call.

export const inputSchema = scanPageInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(
      observeInvocation(runtime, (input) => {
        const page = inputSchema.safeParse(input);
        if (!page.success) return { task: 'broadcast' };
        const { broadcast, segment, cursor } = page.data;
        return {
          task: 'broadcast',
          flowId: broadcast.flowId,
          occurrence: broadcast.occurrence,
          segment,
          pages: cursor.pages,
        };
      }),
    )
    .use(parseInput(inputSchema))
    .handler(async (page, context) => {
      const { scanner, publisher, clock } = runtime();
      return scanSegmentPages(page, {
        scanner,
        publisher,
        clock,
        timeLeft: () => context.getRemainingTimeInMillis(),
      });
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
