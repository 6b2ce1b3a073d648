import middy from '@middy/core';
import * as z from 'zod';
import { programSchema } from '#domain/program.ts';
import { awardFixedPoints } from '#domain/use-cases/award-points.ts';
import { correlationOf, observeInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `award_points`: a named program award or fixed points, once per journey and step.

export const inputSchema = z.object({
  customerId: z.string().min(1),
  journeyId: z.string().min(1),
  eventId: z.string().min(1),
  flowId: z.string().min(1),
  revision: z.string().optional(),
  stepId: z.string().min(1),
  points: z.number().int().positive(),
  rule: z.object({ id: z.string().min(1), version: z.number().int().positive() }),
  program: programSchema,
});

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(observeInvocation(runtime, correlationOf))
    .use(parseInput(inputSchema))
    .handler(async ({ program, ...input }) => awardFixedPoints(input, { ...runtime(), program }));

export const handler = createHandler(lazy(() => createRuntime(process.env)));
