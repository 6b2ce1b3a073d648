import middy from '@middy/core';
import * as z from 'zod';
import { earnRuleSchema } from '#domain/program.ts';
import { awardOrderPoints } from '#domain/use-cases/award-points.ts';
import { correlationOf, logInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `award_points`: the order's points, once, whatever is retried.

export const inputSchema = z.object({
  customerId: z.string().min(1),
  orderId: z.string().min(1),
  eventId: z.string().min(1),
  flowId: z.string().min(1),
  stepId: z.string().min(1),
  rule: earnRuleSchema,
});

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(logInvocation(() => runtime().logger, correlationOf))
    .use(parseInput(inputSchema))
    .handler(async (input) => awardOrderPoints(input, runtime()));

export const handler = createHandler(lazy(() => createRuntime(process.env)));
