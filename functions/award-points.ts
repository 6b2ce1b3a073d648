import middy from '@middy/core';
import * as z from 'zod';
import { earnRuleSchema } from '#domain/program.ts';
import { awardFixedPoints, awardOrderPoints } from '#domain/use-cases/award-points.ts';
import { correlationOf, logInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `award_points`: an order's points by the program's rule, or a fixed gift; once each.

const common = {
  customerId: z.string().min(1),
  journeyId: z.string().min(1),
  eventId: z.string().min(1),
  flowId: z.string().min(1),
  revision: z.string().optional(),
  stepId: z.string().min(1),
};
export const inputSchema = z.union([
  z.object({ ...common, orderId: z.string().min(1), rule: earnRuleSchema }),
  z.object({ ...common, points: z.number().int().positive(), reason: z.string() }),
]);

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(logInvocation(() => runtime().logger, correlationOf))
    .use(parseInput(inputSchema))
    .handler(async (input) =>
      'orderId' in input ? awardOrderPoints(input, runtime()) : awardFixedPoints(input, runtime()),
    );

export const handler = createHandler(lazy(() => createRuntime(process.env)));
