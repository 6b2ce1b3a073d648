import middy from '@middy/core';
import { type JourneyInput, journeyInputSchema } from '#domain/contracts/tasks.ts';
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

export const inputSchema = journeyInputSchema;
type Input = JourneyInput;

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
