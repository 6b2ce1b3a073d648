import { NotFoundError } from '../errors.ts';
import { pointsForOrder } from '../points.ts';
import type { Clock, CustomerStore } from '../ports.ts';
import type { EarnRule } from '../program.ts';
import { withOptimisticRetry } from './retry.ts';

export interface AwardOrderPointsInput {
  customerId: string;
  orderId: string;
  eventId: string;
  flowId: string;
  rule: EarnRule;
}

export interface AwardResult {
  points: number;
  entryId: string;
  duplicate: boolean;
}

/** Awards an order's points once: the ledger entry's id is the order's, so a repeat finds it and stops. */
export const awardOrderPoints = async (
  input: AwardOrderPointsInput,
  deps: { store: CustomerStore; clock: Clock },
): Promise<AwardResult> => {
  const { store, clock } = deps;
  const entryId = `earn:order:${input.orderId}`;
  let points = 0;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    const order = await store.getOrder(input.customerId, input.orderId);
    if (!order)
      throw new NotFoundError(`order ${input.orderId} of customer ${input.customerId} has not been recorded`);
    points = pointsForOrder(order, input.rule);
    const entry = {
      entryId,
      customerId: input.customerId,
      points,
      kind: 'earn' as const,
      ruleId: input.rule.id,
      ruleVersion: input.rule.version,
      orderId: input.orderId,
      flowId: input.flowId,
      eventId: input.eventId,
      at: clock.now().toISOString(),
    };
    return { outcome: await store.awardOrderPoints(entry, order.refundedMinor) };
  });
  if (outcome === 'applied') return { points, entryId, duplicate: false };
  const existing = await store.getLedgerEntry(input.customerId, entryId);
  return { points: existing?.points ?? 0, entryId, duplicate: true };
};

export interface AwardFixedPointsInput {
  customerId: string;
  journeyId: string;
  flowId: string;
  stepId: string;
  points: number;
  reason: string;
}

/** A flow's fixed award (a birthday gift): once per journey and step. */
export const awardFixedPoints = async (
  input: AwardFixedPointsInput,
  deps: { store: CustomerStore; clock: Clock },
): Promise<AwardResult> => {
  const entryId = `bonus:${input.flowId}:${input.journeyId}:${input.stepId}`;
  const outcome = await deps.store.awardPoints({
    entryId,
    customerId: input.customerId,
    points: input.points,
    kind: 'bonus',
    ruleId: `flow:${input.flowId}`,
    ruleVersion: 1,
    flowId: input.flowId,
    eventId: input.journeyId,
    at: deps.clock.now().toISOString(),
  });
  if (outcome === 'conflict') throw new NotFoundError(`customer ${input.customerId} has no record yet`);
  return { points: input.points, entryId, duplicate: outcome === 'duplicate' };
};
