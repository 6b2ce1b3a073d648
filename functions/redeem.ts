import middy from '@middy/core';
import * as z from 'zod';
import { redeemInputSchema } from '#domain/contracts/tasks.ts';
import { InsufficientPointsError, RewardNotAllowedError } from '#domain/errors.ts';
import { flushOutbox, redeemReward } from '#domain/use-cases/points.ts';
import { observeInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Redeem a reward (invoked by the shop's backend): debits the points and issues a unique coupon in
// one transaction. A refusal (too few points, a reward of another tier) answers { ok: false, error,
// reason } with nothing debited; a retry with the same requestId returns the same coupon.

export const inputSchema = redeemInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(
      observeInvocation(runtime, (input) => ({
        requestId: z.object({ requestId: z.string() }).safeParse(input).data?.requestId,
      })),
    )
    .use(parseInput(inputSchema))
    .handler(async (input) => {
      const base = runtime();
      if (!base.program) throw new Error('RAPPORT_PROGRAM is not set for the Redeem function');
      const deps = { ...base, program: base.program };
      try {
        const coupon = await redeemReward(input, deps);
        await flushOutbox(input.customerId, deps);
        return { ok: true as const, coupon };
      } catch (error) {
        if (error instanceof InsufficientPointsError || error instanceof RewardNotAllowedError)
          return { ok: false as const, error: error.name, reason: error.message };
        throw error;
      }
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
