// The CDNOW purchase history: master (header; id, yyyymmdd, units, dollars) or the 1/10 sample
// (no header; id, sample id, yyyymmdd, units, dollars). Whitespace-separated either way.

export interface Purchase {
  customerId: string;
  /** 1-based line in the file, so an order id points back at its row. */
  line: number;
  date: string;
  units: number;
  dollars: number;
}

export class DatasetError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'DatasetError';
  }
}

export const parseCdnow = (text: string, file = 'dataset'): Purchase[] => {
  const purchases: Purchase[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const fields = raw.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return;
    if (!/^\d/.test(fields[0] ?? '')) {
      if (line === 1) return; // the master file's header
      throw new DatasetError(file, line, `expected a customer id, found "${fields[0]}"`);
    }
    if (fields.length !== 4 && fields.length !== 5) {
      throw new DatasetError(file, line, `expected 4 columns (master) or 5 (sample), found ${fields.length}`);
    }
    const [id, date, units, dollars] =
      fields.length === 5 ? [fields[0], fields[2], fields[3], fields[4]] : fields;
    if (!/^\d{8}$/.test(date ?? '')) throw new DatasetError(file, line, `date "${date}" is not yyyymmdd`);
    const parsedUnits = Number(units);
    const parsedDollars = Number(dollars);
    if (!Number.isInteger(parsedUnits) || parsedUnits < 0)
      throw new DatasetError(file, line, `units "${units}" is not a count`);
    if (!Number.isFinite(parsedDollars) || parsedDollars < 0)
      throw new DatasetError(file, line, `dollars "${dollars}" is not an amount`);
    purchases.push({
      customerId: String(Number(id)),
      line,
      date: `${date?.slice(0, 4)}-${date?.slice(4, 6)}-${date?.slice(6, 8)}`,
      units: parsedUnits,
      dollars: parsedDollars,
    });
  });
  // In time order; a stable sort keeps same-day purchases in file order.
  return purchases.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
};

/** The order.placed a shop would have sent for a CDNOW purchase. */
export const toOrderPlaced = (purchase: Purchase) => ({
  version: 1,
  orderId: `cdnow-${purchase.customerId}-${purchase.line}`,
  customerId: purchase.customerId,
  email: `customer-${purchase.customerId}@example.com`,
  name: `Customer ${purchase.customerId}`,
  currency: 'USD',
  total: Math.round(purchase.dollars * 100) / 100,
  items:
    purchase.units > 0
      ? [
          {
            sku: 'cdnow-cd',
            name: 'CD',
            quantity: purchase.units,
            unitPrice: Math.round((purchase.dollars / purchase.units) * 100) / 100,
          },
        ]
      : [],
  placedAt: `${purchase.date}T12:00:00Z`,
  // The history says nothing about consent; the replay treats every buyer as having ticked the
  // checkout's opt-in box, so the loyalty and win-back mails show. Without it none would go.
  marketingConsent: true,
});
