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
  formatFor(currency).format(fromMinorUnits(minor, currency));
