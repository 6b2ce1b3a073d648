import { InvalidEventError } from './errors.ts';

// Building an Intl.NumberFormat is costly and currencies are few: keep one per currency.
const formats = new Map<string, Intl.NumberFormat>();
const formatFor = (currency: string): Intl.NumberFormat => {
  let format = formats.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    } catch (cause) {
      throw new InvalidEventError(`${currency} is not an ISO 4217 currency code`, 'currency', { cause });
    }
    formats.set(currency, format);
  }
  return format;
};

/** Digits after the decimal point for an ISO 4217 currency (USD 2, JPY 0, BHD 3). */
export const fractionDigits = (currency: string): number =>
  formatFor(currency).resolvedOptions().maximumFractionDigits ?? 2;

/**
 * Decimal places of a number as JavaScript writes it (the shortest text that reads back the same):
 * 29.99 has 2, 0.1 + 0.2 has 17, 1e-7 has 7. Exact, unlike comparing amount * 100 with its rounding.
 */
export const decimalPlaces = (amount: number): number => {
  const match = /^-?\d+(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(amount));
  if (!match) return Number.POSITIVE_INFINITY; // NaN, Infinity
  return Math.max(0, (match[1]?.length ?? 0) - Number(match[2] ?? 0));
};

/**
 * Converts an amount in currency units (29.99) to integer minor units (2999), so sums stay exact.
 * Rejects amounts with more decimals than the currency has, rather than rounding money silently,
 * and amounts whose minor units are not a safe integer.
 */
export const toMinorUnits = (amount: number, currency: string, field = 'amount'): number => {
  const digits = fractionDigits(currency);
  if (decimalPlaces(amount) > digits) {
    throw new InvalidEventError(`${amount} has more decimals than ${currency} allows (${digits})`, field);
  }
  const minor = Math.round(amount * 10 ** digits);
  if (!Number.isSafeInteger(minor)) {
    throw new InvalidEventError(`${amount} is too large to count in ${currency} minor units`, field);
  }
  return minor;
};

export const fromMinorUnits = (minor: number, currency: string): number =>
  minor / 10 ** fractionDigits(currency);

export const formatMoney = (minor: number, currency: string): string =>
  formatFor(currency).format(fromMinorUnits(minor, currency));
