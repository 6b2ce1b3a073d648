import { fractionDigits } from './money.ts';
import type { EarnRule } from './program.ts';

const ROUND = { floor: Math.floor, round: Math.round, ceil: Math.ceil } as const;

/** Points a rule gives for an amount in minor units; rounding applies once per order, never per item. */
export const pointsForAmount = (amountMinor: number, currency: string, rule: EarnRule): number => {
  if (amountMinor <= 0) return 0;
  const units = (amountMinor * rule.pointsPerCurrencyUnit) / 10 ** fractionDigits(currency);
  // The epsilon keeps 19.99 * 1.5 = 29.984999... from losing a point to binary floating point.
  const epsilon = rule.rounding === 'ceil' ? -1e-9 : 1e-9;
  return ROUND[rule.rounding](units + epsilon);
};

export interface OrderPointsState {
  totalMinor: number;
  refundedMinor: number;
  currency: string;
  pointsAwarded: number;
  pointsReversed: number;
}

/** Points an order earns now: those of what is left of it after refunds. */
export const pointsForOrder = (order: OrderPointsState, rule: EarnRule): number =>
  pointsForAmount(order.totalMinor - order.refundedMinor, order.currency, rule);

/**
 * Points a refund takes back. The order's net points always equal the points of its unrefunded
 * amount, so partial refunds telescope: however a total is refunded in pieces, exactly the points
 * awarded for it come back, never more. An order whose points were never awarded gives back nothing.
 */
export const pointsToReverse = (order: OrderPointsState, refundMinor: number, rule: EarnRule): number => {
  if (order.pointsAwarded === 0) return 0;
  const netNow = order.pointsAwarded - order.pointsReversed;
  const netAfter = pointsForAmount(
    order.totalMinor - order.refundedMinor - refundMinor,
    order.currency,
    rule,
  );
  return Math.max(0, Math.min(netNow, netNow - netAfter));
};
