import middy from '@middy/core';
import * as z from 'zod';
import {
  endJourney,
  enterJourney,
  issueCoupon,
  loadProfile,
  parkJourney,
  resumeJourney,
  updateProfile,
} from '#domain/use-cases/journeys.ts';
import { correlationOf, observeInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// The journey steps of every flow: enter, wait, resume, end, and the profile and coupon steps.
// One function, one action per call, each an idempotent use case.

const ref = {
  customerId: z.string().min(1),
  journeyId: z.string().min(1),
  flowId: z.string().min(1),
  revision: z.string(),
};
const listen = z.object({ event: z.string(), where: z.record(z.string(), z.unknown()).optional() });
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const duration = z.object({
  days: z.number().optional(),
  hours: z.number().optional(),
  minutes: z.number().optional(),
});

export const inputSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('profile'),
    customerId: z.string().min(1),
    flowId: z.string(),
    revision: z.string(),
  }),
  z.object({
    action: z.literal('enter'),
    ...ref,
    profile: z.record(z.string(), z.unknown()),
    reentry: z.union([z.enum(['once', 'always']), z.object({ after: duration })]),
    cap: z.number().int().positive().optional(),
    exitOn: z.array(listen),
    goal: listen.extend({ withinMinutes: z.number() }).optional(),
    splits: z.array(z.string()),
  }),
  z.object({ action: z.literal('resume'), ...ref }),
  z.object({
    action: z.literal('wait'),
    ...ref,
    stepId: z.string(),
    due: z.union([
      z.object({ minutes: z.number().positive() }),
      z.object({ until: z.object({ time: z.string(), weekdays: z.array(weekday).optional() }) }),
    ]),
    listen: listen.optional(),
    targets: z.object({
      elapsed: z.string().optional(),
      event: z.string().optional(),
      timeout: z.string().optional(),
    }),
    context: z.object({ trigger: z.unknown(), steps: z.unknown() }),
  }),
  z.object({ action: z.literal('end'), ...ref, status: z.enum(['completed', 'exited', 'holdout']) }),
  z.object({
    action: z.literal('update_profile'),
    ...ref,
    stepId: z.string(),
    set: z.record(z.string(), scalar).optional(),
    addTags: z.array(z.string()).optional(),
    removeTags: z.array(z.string()).optional(),
  }),
  z.object({
    action: z.literal('issue_coupon'),
    ...ref,
    stepId: z.string(),
    discount: z.object({
      percent: z.number().optional(),
      amount: z.number().optional(),
      free_shipping: z.boolean().optional(),
    }),
    validMinutes: z.number().positive(),
    prefix: z.string(),
  }),
]);
type Input = z.infer<typeof inputSchema>;

const run = (input: Input, deps: RuntimeDeps) => {
  switch (input.action) {
    case 'profile':
      return loadProfile(input.customerId, deps);
    case 'enter':
      return enterJourney(input, deps);
    case 'resume':
      return resumeJourney(input, deps);
    case 'wait':
      return parkJourney(input, deps);
    case 'end':
      return endJourney(input, deps);
    case 'update_profile':
      return updateProfile(input, deps);
    case 'issue_coupon':
      return issueCoupon(input, deps);
  }
};

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<Input>()
    .use(
      observeInvocation(runtime, (input) => ({ ...correlationOf(input), action: (input as Input).action })),
    )
    .use(parseInput(inputSchema))
    .handler(async (input) => run(input, runtime()));

export const handler = createHandler(lazy(() => createRuntime(process.env)));
