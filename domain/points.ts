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
