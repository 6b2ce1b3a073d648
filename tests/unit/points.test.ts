import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toMinorUnits } from '../../domain/money.ts';
import {
  type OrderPointsState,
  pointsForAmount,
  pointsForOrder,
  pointsToReverse,
} from '../../domain/points.ts';
import type { EarnRule } from '../../domain/program.ts';

const rule: EarnRule = { id: 'base-earn', version: 1, pointsPerCurrencyUnit: 1, rounding: 'floor' };

describe('earning points', () => {
  it('gives one point per whole dollar, floored once per order', () => {
    expect(pointsForAmount(toMinorUnits(42.99, 'USD'), 'USD', rule)).toBe(42);
    expect(pointsForAmount(toMinorUnits(0.99, 'USD'), 'USD', rule)).toBe(0);
    expect(pointsForAmount(0, 'USD', rule)).toBe(0);
  });

  it('does not lose a point to binary floating point', () => {
    expect(pointsForAmount(toMinorUnits(19.99, 'USD'), 'USD', { ...rule, pointsPerCurrencyUnit: 1.5 })).toBe(
      29,
    );
    expect(pointsForAmount(toMinorUnits(20, 'USD'), 'USD', { ...rule, pointsPerCurrencyUnit: 1.5 })).toBe(30);
    expect(pointsForAmount(toMinorUnits(0.3, 'USD'), 'USD', { ...rule, pointsPerCurrencyUnit: 10 })).toBe(3);
  });

  it('honours the currency: yen have no minor unit', () => {
    expect(pointsForAmount(toMinorUnits(1500, 'JPY'), 'JPY', { ...rule, pointsPerCurrencyUnit: 0.01 })).toBe(
      15,
    );
  });

  it('rounds as the program says', () => {
    expect(pointsForAmount(4250, 'USD', { ...rule, rounding: 'round' })).toBe(43);
    expect(pointsForAmount(4201, 'USD', { ...rule, rounding: 'ceil' })).toBe(43);
    expect(pointsForAmount(4200, 'USD', { ...rule, rounding: 'ceil' })).toBe(42);
  });

  it('refuses an amount with more decimals than the currency has', () => {
    expect(() => toMinorUnits(1.999, 'USD', 'detail.total')).toThrow(
      '1.999 has more decimals than USD allows (2)',
    );
  });
});

describe('reversing points on refunds', () => {
  const order = (overrides: Partial<OrderPointsState> = {}): OrderPointsState => ({
    totalMinor: 4299,
    refundedMinor: 0,
    currency: 'USD',
    pointsAwarded: 42,
    pointsReversed: 0,
    ...overrides,
  });

  it('takes back all the points of a full refund', () => {
    expect(pointsToReverse(order(), 4299, rule)).toBe(42);
  });

  it('takes back the points of the refunded part only', () => {
    // 42.99 - 12.99 = 30.00 keeps 30 points: 12 come back.
    expect(pointsToReverse(order(), 1299, rule)).toBe(12);
  });

  it('takes back nothing for an order whose points were never awarded', () => {
    expect(pointsToReverse(order({ pointsAwarded: 0 }), 4299, rule)).toBe(0);
  });

  it('awards only the points of what is left when a refund came first', () => {
    expect(pointsForOrder(order({ refundedMinor: 1299, pointsAwarded: 0 }), rule)).toBe(30);
  });

  it('never takes back more than was awarded, however a total is refunded in pieces', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { maxLength: 8 }),
        fc.constantFrom(0.5, 1, 1.5, 3),
        (totalMinor, pieces, perUnit) => {
          const earn = { ...rule, pointsPerCurrencyUnit: perUnit };
          const state = order({ totalMinor, pointsAwarded: pointsForAmount(totalMinor, 'USD', earn) });
          for (const piece of pieces) {
            const refund = Math.min(piece, state.totalMinor - state.refundedMinor);
            if (refund === 0) break;
            const back = pointsToReverse(state, refund, earn);
            expect(back).toBeGreaterThanOrEqual(0);
            state.pointsReversed += back;
            state.refundedMinor += refund;
            // The order's net points are always those of its unrefunded amount.
            expect(state.pointsAwarded - state.pointsReversed).toBe(
              pointsForAmount(state.totalMinor - state.refundedMinor, 'USD', earn),
            );
          }
          expect(state.pointsReversed).toBeLessThanOrEqual(state.pointsAwarded);
        },
      ),
    );
  });
});
