import { describe, expect, it } from 'vitest';
import { toMinorUnits } from '../../domain/money.ts';
import { pointsForAmount } from '../../domain/points.ts';
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
