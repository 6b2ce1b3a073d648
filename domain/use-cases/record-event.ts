import { changesForOrder, changesForRegistration } from '../customer.ts';
import { InvalidEventError, NotFoundError } from '../errors.ts';
import type { CommerceEvent, CustomerRegistered, OrderPlaced, OrderRefunded } from '../events.ts';
import { formatMoney, toMinorUnits } from '../money.ts';
import { pointsToReverse } from '../points.ts';
import type { Clock, CustomerStore } from '../ports.ts';
import type { Program } from '../program.ts';
import { withOptimisticRetry } from './retry.ts';

export interface RecordDeps {
  store: CustomerStore;
  clock: Clock;
  program: Program;
}

export type RecordResult =
  | { outcome: 'applied' | 'duplicate'; type: 'customer.registered' }
  | { outcome: 'applied' | 'duplicate'; type: 'order.placed'; totalMinor: number }
  | { outcome: 'applied' | 'duplicate'; type: 'order.refunded'; pointsReversed: number };

/** Keeps the customer record true to every event, once per event however often it is delivered. */
export const recordEvent = async (event: CommerceEvent, deps: RecordDeps): Promise<RecordResult> => {
  switch (event.type) {
    case 'customer.registered':
      return { type: event.type, outcome: await recordRegistration(event.detail, deps) };
    case 'order.placed':
      return { type: event.type, ...(await recordOrder(event.eventId, event.detail, deps)) };
    case 'order.refunded':
      return { type: event.type, ...(await recordRefund(event.eventId, event.detail, deps)) };
  }
};

const requireProgramCurrency = (currency: string, program: Program): void => {
  if (currency !== program.currency) {
    throw new InvalidEventError(
      `detail.currency: ${currency} is not the program currency ${program.currency}`,
      'detail.currency',
    );
  }
};

const recordRegistration = async (event: CustomerRegistered, { store, clock }: RecordDeps) => {
  const { outcome } = await withOptimisticRetry(clock, async () => {
    const current = await store.getProfile(event.customerId);
    const changes = changesForRegistration(current, event);
    return {
      outcome: await store.saveProfile(
        event.customerId,
        changes,
        current?.version,
        clock.now().toISOString(),
      ),
    };
  });
  return outcome === 'conflict' ? 'duplicate' : outcome;
};

const recordOrder = async (eventId: string, order: OrderPlaced, { store, clock, program }: RecordDeps) => {
  requireProgramCurrency(order.currency, program);
  const totalMinor = toMinorUnits(order.total, order.currency, 'detail.total');
  const { outcome } = await withOptimisticRetry(clock, async () => {
    const current = await store.getProfile(order.customerId);
    const changes = changesForOrder(current, order, totalMinor);
    const record = {
      customerId: order.customerId,
      orderId: order.orderId,
      eventId,
      currency: order.currency,
      totalMinor,
      refundedMinor: 0,
      placedAt: order.placedAt,
      pointsAwarded: 0,
      pointsReversed: 0,
    };
    return { outcome: await store.recordOrder(record, changes, current?.version, clock.now().toISOString()) };
  });
  return { outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome, totalMinor };
};

const recordRefund = async (
  eventId: string,
  refund: OrderRefunded,
  { store, clock, program }: RecordDeps,
) => {
  requireProgramCurrency(refund.currency, program);
  const refundMinor = toMinorUnits(refund.amount, refund.currency, 'detail.amount');
  const entryId = `reverse:refund:${refund.refundId}`;
  let reversed = 0;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    if (await store.getLedgerEntry(refund.customerId, entryId)) return { outcome: 'duplicate' as const };
    const order = await store.getOrder(refund.customerId, refund.orderId);
    if (!order) {
      throw new NotFoundError(
        `order ${refund.orderId} of customer ${refund.customerId} has not been recorded`,
      );
    }
    const left = order.totalMinor - order.refundedMinor;
    if (refundMinor > left) {
      throw new InvalidEventError(
        `detail.amount: ${formatMoney(refundMinor, order.currency)} is more than the ${formatMoney(left, order.currency)} left to refund on order ${order.orderId}`,
        'detail.amount',
      );
    }
    reversed = pointsToReverse(order, refundMinor, program.earn);
    const entry = {
      entryId,
      customerId: refund.customerId,
      points: -reversed,
      kind: 'reverse' as const,
      ruleId: program.earn.id,
      ruleVersion: program.earn.version,
      orderId: refund.orderId,
      refundId: refund.refundId,
      eventId,
      at: refund.refundedAt,
    };
    return { outcome: await store.recordRefund(entry, refundMinor, order) };
  });
  if (outcome === 'duplicate') {
    const entry = await store.getLedgerEntry(refund.customerId, entryId);
    return { outcome, pointsReversed: entry ? -entry.points : 0 };
  }
  return { outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome, pointsReversed: reversed };
};
