import { InvalidEventError } from './errors.ts';

/** Digits after the decimal point for an ISO 4217 currency (USD 2, JPY 0, BHD 3). */
export const fractionDigits = (currency: string): number => {
  try {
    return (
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2
    );
  } catch (cause) {
    throw new InvalidEventError(`${currency} is not an ISO 4217 currency code`, 'currency', { cause });
  }
};

/**
 * Converts an amount in currency units (29.99) to integer minor units (2999), so sums stay exact.
 * Rejects amounts with more decimals than the currency has, rather than rounding money silently.
 */
export const toMinorUnits = (amount: number, currency: string, field = 'amount'): number => {
  const scale = 10 ** fractionDigits(currency);
  const minor = Math.round(amount * scale);
  if (Math.abs(minor - amount * scale) > 1e-6 * Math.max(1, Math.abs(amount * scale))) {
    throw new InvalidEventError(
      `${amount} has more decimals than ${currency} allows (${fractionDigits(currency)})`,
      field,
    );
  }
  return minor;
};

export const fromMinorUnits = (minor: number, currency: string): number =>
  minor / 10 ** fractionDigits(currency);

export const formatMoney = (minor: number, currency: string): string =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(fromMinorUnits(minor, currency));
