import middy from '@middy/core';
import type * as z from 'zod';
import { awardPointsInputSchema } from '#domain/contracts/tasks.ts';
import { awardFixedPoints } from '#domain/use-cases/award-points.ts';
import { correlationOf, observeInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `award_points`: a named program award or fixed points, once per journey and step.

export const inputSchema = awardPointsInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(observeInvocation(runtime, correlationOf))
    .use(parseInput(inputSchema))
    .handler(async ({ program, ...input }) => awardFixedPoints(input, { ...runtime(), program }));

export const handler = createHandler(lazy(() => createRuntime(process.env)));
