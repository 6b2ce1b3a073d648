import * as z from 'zod';
import { fractionDigits } from '#domain/money.ts';
import { parseCdnow, toOrderPlaced } from './cdnow.ts';
import { CsvError, type CsvRecord, parseCsv } from './csv.ts';

// The histories `rapport import` reads, each turned into the canonical EventBridge envelopes
// `{ id, 'detail-type', source, detail }` that ingest parses, with the line each came from. Only
// the shape of the file is checked here; the events themselves are checked by parseCommerceEvent,
// the same schemas as live ingest, and a refusal is reported with this line.

export const IMPORT_FORMATS = ['cdnow', 'shopify-csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface HistoryLine {
  /** 1-based line of the file the event comes from (an order's first row in a CSV). */
  line: number;
  envelope: { id: string; 'detail-type': string; source: string; detail: unknown } | unknown;
}

/** A row the format says is not a purchase to import (a voided order, a guest without email). */
export interface SkippedLine {
  line: number;
  reason: string;
}

export interface History {
  lines: HistoryLine[];
  skipped: SkippedLine[];
}

/** A line the reader cannot make sense of: the file, its line, the column or field, why. */
export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
  constructor(
    readonly line: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`line ${line}: ${message}`, options);
  }
}

export const IMPORT_SOURCE = 'rapport-import';

/** The format a file's name suggests: .csv is a Shopify export, .ndjson/.jsonl events, else CDNOW. */
export const guessFormat = (path: string): ImportFormat =>
  /\.csv$/i.test(path) ? 'shopify-csv' : /\.(nd)?jsonl?$/i.test(path) ? 'ndjson' : 'cdnow';

export const readHistory = (text: string, format: ImportFormat): History => {
  switch (format) {
    case 'cdnow':
      return readCdnow(text);
    case 'ndjson':
      return readNdjson(text);
    case 'shopify-csv':
      return readShopifyCsv(text);
  }
};

// ---- CDNOW ---------------------------------------------------------------------------------------

const readCdnow = (text: string): History => {
  let purchases: ReturnType<typeof parseCdnow>;
  try {
    purchases = parseCdnow(text, 'dataset');
  } catch (error) {
    const match = error instanceof Error ? /^dataset:(\d+): (.*)$/s.exec(error.message) : null;
    if (!match) throw error;
    throw new HistoryFormatError(Number(match[1]), match[2] ?? '', { cause: error });
  }
  return {
    lines: purchases.map((purchase) => {
      // The history says nothing about consent: an import claims none (the replay assumes it for show).
      const { marketingConsent: _unknown, ...detail } = toOrderPlaced(purchase);
      return {
        line: purchase.line,
        envelope: {
          id: `import:${detail.orderId}`,
          'detail-type': 'order.placed',
          source: IMPORT_SOURCE,
          detail,
        },
      };
    }),
    skipped: [],
  };
};

// ---- NDJSON --------------------------------------------------------------------------------------

const ndjsonLine = z.object({
  id: z.unknown(),
  'detail-type': z.unknown(),
  source: z.unknown(),
  detail: z.unknown(),
});

/** One EventBridge envelope per line, as a rule target receives it; blank lines are skipped. */
const readNdjson = (text: string): History => {
  const lines: HistoryLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new HistoryFormatError(
        line,
        `not JSON: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const shape = ndjsonLine.safeParse(value);
    if (!shape.success)
      throw new HistoryFormatError(line, `expected an envelope {"id", "detail-type", "source", "detail"}`);
    lines.push({ line, envelope: value });
  });
  return { lines, skipped: [] };
};

// ---- Shopify's order export ----------------------------------------------------------------------

/** The columns read; Shopify's export has many more, which are ignored. */
const REQUIRED = [
  'Name',
  'Email',
  'Financial Status',
  'Currency',
  'Total',
  'Created at',
  'Lineitem quantity',
  'Lineitem name',
  'Lineitem price',
] as const;
const OPTIONAL = [
  'Id',
  'Paid at',
  'Lineitem sku',
  'Refunded Amount',
  'Cancelled at',
  'Billing Name',
  'Shipping Name',
  'Accepts Marketing',
  // Not in Shopify's own export, but in those of apps that add it (and easy to add to a sheet):
  // the customer's Shopify id, so imported customers are the ones the live webhooks name.
  'Customer ID',
] as const;
type Column = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];

/** Orders that were paid at some point; the others (pending, authorized, voided) earned nothing. */
const PAID = new Set(['paid', 'partially_paid', 'partially_refunded', 'refunded']);

/** Shopify writes `2024-03-15 10:22:33 -0400`; ISO 8601 with an offset is what the schemas take. */
export const shopifyTime = (text: string): string => {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)\s*([+-])(\d{2}):?(\d{2})$/.exec(
    text.trim(),
  );
  if (!match) return text.trim();
  const [, date, time, sign, hours, minutes] = match;
  return `${date}T${time?.length === 5 ? `${time}:00` : time}${sign}${hours}:${minutes}`;
};

const amount = (row: Row, column: Column, optional = false): number | undefined => {
  const text = row.get(column).trim();
  if (text === '' && optional) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text))
    throw new HistoryFormatError(row.line, `${column}: "${text}" is not an amount`);
  return Number(text);
};

interface Row {
  line: number;
  get(column: Column): string;
}

const rowsOf = (records: CsvRecord[]): Row[] => {
  const [header, ...body] = records;
  if (!header) return [];
  const index = new Map(header.fields.map((name, i) => [name.trim(), i]));
  const missing = REQUIRED.filter((column) => !index.has(column));
  if (missing.length > 0)
    throw new HistoryFormatError(
      header.line,
      `not a Shopify order export: no column ${missing.map((c) => `"${c}"`).join(', ')}`,
    );
  return body.map((record) => {
    if (record.fields.length > header.fields.length)
      throw new HistoryFormatError(
        record.line,
        `${record.fields.length} fields, the header has ${header.fields.length}`,
      );
    return {
      line: record.line,
      get: (column: Column) => {
        const i = index.get(column);
        return i === undefined ? '' : (record.fields[i] ?? '');
      },
    };
  });
};

/**
 * Shopify's order export: a row per line item, the order's own fields (status, totals, dates) on
 * its first row and the line items' on every row, rows of one order one after another under its
 * Name. The refunded amount carries no date in the export: it is booked at the order's time. A
 * cancellation takes back what was not refunded, at its time.
 */
const readShopifyCsv = (text: string): History => {
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvError)
      throw new HistoryFormatError(error.line, error.message.replace(/^line \d+: /, ''), { cause: error });
    throw error;
  }
  const orders: Row[][] = [];
  for (const row of rowsOf(records)) {
    const last = orders.at(-1);
    if (last && last[0]?.get('Name') === row.get('Name')) last.push(row);
    else orders.push([row]);
  }
  const lines: HistoryLine[] = [];
  const skipped: SkippedLine[] = [];
  for (const rows of orders) {
    const first = rows[0] as Row;
    const line = first.line;
    const status = first.get('Financial Status').trim();
    if (first.get('Name').trim() === '') throw new HistoryFormatError(line, 'Name: empty (the order number)');
    if (!PAID.has(status)) {
      skipped.push({ line, reason: `Financial Status "${status}": never paid` });
      continue;
    }
    const email = first.get('Email').trim();
    if (email === '') {
      skipped.push({ line, reason: 'no Email: a guest order names no customer' });
      continue;
    }
    // Shopify's ids exceed 2^53: kept as the text the export wrote.
    const orderId = first.get('Id').trim() || first.get('Name').trim();
    const currency = first.get('Currency').trim();
    const placedAt = shopifyTime(first.get('Created at'));
    const total = amount(first, 'Total') ?? 0;
    const items = rows.map((row) => {
      const quantity = row.get('Lineitem quantity').trim();
      if (!/^\d+$/.test(quantity))
        throw new HistoryFormatError(row.line, `Lineitem quantity: "${quantity}" is not a count`);
      const name = row.get('Lineitem name').trim();
      return {
        sku: row.get('Lineitem sku').trim() || name,
        ...(name ? { name } : {}),
        quantity: Number(quantity),
        unitPrice: amount(row, 'Lineitem price') ?? 0,
      };
    });
    const consent = first.get('Accepts Marketing').trim().toLowerCase();
    // The live mapping keys customers by Shopify's customer id; without one, the email stands in.
    const customerId = first.get('Customer ID').trim() || email.toLowerCase();
    const name = first.get('Billing Name').trim() || first.get('Shipping Name').trim() || email.split('@')[0];
    lines.push({
      line,
      envelope: {
        id: `import:shopify:${orderId}`,
        'detail-type': 'order.placed',
        source: IMPORT_SOURCE,
        detail: {
          version: 1,
          orderId,
          customerId,
          email,
          name,
          currency,
          total,
          items,
          placedAt,
          // Only what the export says: "yes" or "no"; an empty cell says nothing.
          ...(consent === 'yes'
            ? { marketingConsent: true }
            : consent === 'no'
              ? { marketingConsent: false }
              : {}),
        },
      },
    });
    const refunded = amount(first, 'Refunded Amount', true) ?? 0;
    if (refunded > 0)
      lines.push({
        line,
        envelope: {
          id: `import:shopify:${orderId}:refunded`,
          'detail-type': 'order.refunded',
          source: IMPORT_SOURCE,
          detail: {
            version: 1,
            refundId: `${orderId}:refunded`,
            orderId,
            customerId,
            currency,
            amount: refunded,
            refundedAt: placedAt,
          },
        },
      });
    const cancelledAt = first.get('Cancelled at').trim();
    // A currency the program does not use is refused when recorded; its decimals are still its own.
    const scale = /^[A-Z]{3}$/.test(currency) ? 10 ** fractionDigits(currency) : 100;
    const left = Math.round((total - refunded) * scale) / scale;
    if (cancelledAt !== '' && left > 0)
      lines.push({
        line,
        envelope: {
          id: `import:shopify:${orderId}:cancelled`,
          'detail-type': 'order.cancelled',
          source: IMPORT_SOURCE,
          detail: { version: 1, orderId, customerId, cancelledAt: shopifyTime(cancelledAt) },
        },
      });
  }
  return { lines, skipped };
};
