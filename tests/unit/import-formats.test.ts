import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../domain/workflow/compile.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { parseCommandLine } from '../../local/cli-options.ts';
import { CsvError, parseCsv } from '../../local/csv.ts';
import { ImportRefusedError, planImport } from '../../local/import.ts';
import { guessFormat, shopifyTime } from '../../local/import-formats.ts';

const program = compileProject(readWorkflowSources()).program;
const asOf = '2024-06-01T00:00:00Z';
const plan = (text: string, format: 'cdnow' | 'shopify-csv' | 'ndjson') =>
  planImport(text, format, 'history', { program, asOf });
const refusal = (text: string, format: 'cdnow' | 'shopify-csv' | 'ndjson'): string[] => {
  try {
    plan(text, format);
  } catch (error) {
    if (error instanceof ImportRefusedError) return error.problems;
    throw error;
  }
  throw new Error('expected the import to be refused');
};

describe('CSV', () => {
  it('reads quoted fields holding commas, doubled quotes and line breaks, and numbers records by their first line', () => {
    const records = parseCsv('a,b,c\r\n"Lovelace, Ada","say ""hi""","two\nlines"\r\nx,,z\n\n');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['Lovelace, Ada', 'say "hi"', 'two\nlines'] },
      { line: 4, fields: ['x', '', 'z'] },
    ]);
  });

  it('drops a byte-order mark and keeps empty fields at the end of a record', () => {
    expect(parseCsv('\ufeffName,Email,\n#1,,')).toEqual([
      { line: 1, fields: ['Name', 'Email', ''] },
      { line: 2, fields: ['#1', '', ''] },
    ]);
  });

  it('refuses a quote that never closes, naming the line the field starts on', () => {
    expect(() => parseCsv('a,b\n1,"open\n\n')).toThrow(
      new CsvError(2, 'column 2: a quoted field is never closed'),
    );
  });

  it('refuses text after a closing quote and a quote inside an unquoted field', () => {
    expect(() => parseCsv('a\n"x"y')).toThrow('line 2: column 1: text after the closing quote');
    expect(() => parseCsv('a,b\nx,4"5')).toThrow(
      'line 2: column 2: a quote inside a field that is not quoted',
    );
  });
});

describe('the Shopify order export', () => {
  const fixture = readFileSync(fromRoot('tests/fixtures/import/shopify-orders.csv'), 'utf8');
  const header =
    'Name,Email,Financial Status,Paid at,Currency,Subtotal,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Refunded Amount,Cancelled at,Id';

  it("turns an order's rows into one order.placed with every line item, keeping Shopify's id as text", () => {
    const { customers } = plan(fixture, 'shopify-csv');
    const ada = customers.find((c) => c.customerId === 'ada@example.com');
    const first = ada?.events[0]?.event;
    expect(first?.type).toBe('order.placed');
    expect(first?.detail).toMatchObject({
      orderId: '5678901234567890123',
      name: 'Lovelace, Ada',
      total: 59.98,
      placedAt: '2024-01-15T10:22:33-05:00',
      marketingConsent: true,
      items: [
        { sku: 'VINYL-KOB', quantity: 1, unitPrice: 29.99 },
        { sku: 'CD-ALS', name: 'A Love Supreme, Deluxe', quantity: 1, unitPrice: 24.99 },
      ],
    });
    expect(ada?.events.map((e) => e.line)).toEqual([2, 10]);
  });

  it('books refunded amounts as refunds and cancellations as order.cancelled, and skips orders never paid or without a customer', () => {
    const history = plan(fixture, 'shopify-csv');
    expect(history.orders).toBe(5);
    expect(history.refunds).toBe(3);
    const linus = history.customers.find((c) => c.customerId === 'linus@example.org');
    expect(linus?.events.map((e) => [e.event.type, e.event.detail])).toEqual([
      ['order.placed', expect.objectContaining({ total: 45.5 })],
      [
        'order.cancelled',
        expect.objectContaining({ orderId: expect.any(String), cancelledAt: '2024-03-11T10:00:00+01:00' }),
      ],
    ]);
    expect(history.skipped).toEqual([
      { line: 6, reason: 'Financial Status "voided": never paid' },
      { line: 7, reason: 'no Email: a guest order names no customer' },
      { line: 13, reason: 'Financial Status "pending": never paid' },
    ]);
  });

  it('names the line and column of an amount that is not one', () => {
    const text = `${header}\n#1,a@example.com,paid,,USD,10,10,2024-01-01 10:00:00 +0000,1,Tee,10,T,,,1\n#2,b@example.com,paid,,USD,1O.00,1O.00,2024-01-02 10:00:00 +0000,1,Tee,10,T,,,2\n`;
    expect(refusal(text, 'shopify-csv')).toEqual(['history:3: Total: "1O.00" is not an amount']);
  });

  it("names the line and the event's field when the schemas refuse an order", () => {
    const text = `${header}\n#1,not-an-email,paid,,USD,10,10,2024-01-01 10:00:00 +0000,1,Tee,10,T,,,1\n#2,b@example.com,paid,,EUR,10,10,2024-01-02 10:00:00 +0000,1,Tee,10,T,,,2\n#3,c@example.com,paid,,USD,10,10.005,2024-01-02 10:00:00 +0000,1,Tee,10,T,,,3\n`;
    expect(refusal(text, 'shopify-csv')).toEqual([
      'history:2: detail.email: must be an email address',
      'history:3: detail.currency: EUR is not the program currency USD',
      'history:4: detail.total: 10.005 has more decimals than USD allows (2)',
    ]);
  });

  it('refuses a file without the columns it needs, naming them', () => {
    expect(refusal('Name,Email\n#1,a@example.com\n', 'shopify-csv')).toEqual([
      'history:1: not a Shopify order export: no column "Financial Status", "Currency", "Total", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price"',
    ]);
  });

  it("reads Shopify's time format as an ISO time with its offset", () => {
    expect(shopifyTime('2024-03-15 10:22:33 -0400')).toBe('2024-03-15T10:22:33-04:00');
    expect(shopifyTime('2024-03-15T10:22:33Z')).toBe('2024-03-15T10:22:33Z');
  });
});

describe('NDJSON of canonical envelopes', () => {
  const order = (line: Record<string, unknown>) =>
    JSON.stringify({
      id: 'e-1',
      'detail-type': 'order.placed',
      source: 'my.shop',
      detail: {
        version: 1,
        orderId: 'o-1',
        customerId: 'c-1',
        email: 'ada@example.com',
        name: 'Ada',
        currency: 'USD',
        total: 10,
        items: [],
        placedAt: '2024-01-01T00:00:00Z',
        ...line,
      },
    });

  it('reads one envelope a line, skipping blank lines but counting them', () => {
    const history = plan(`${order({})}\n\n${order({ orderId: 'o-2' })}\n`, 'ndjson');
    expect(history.customers[0]?.events.map((e) => e.line)).toEqual([1, 3]);
  });

  it('refuses a line that is not JSON, or not an envelope, naming it', () => {
    expect(refusal(`${order({})}\n{"id":`, 'ndjson')[0]).toMatch(/^history:2: not JSON: /);
    expect(refusal('{"type":"order.placed","detail":{}}', 'ndjson')).toEqual([
      'history:1: expected an envelope {"id", "detail-type", "source", "detail"}',
    ]);
  });

  it('lists every refused line with its field, and a privacy request as not history', () => {
    const erasure = JSON.stringify({
      id: 'e-9',
      'detail-type': 'customer.erasure-requested',
      source: 'my.shop',
      detail: { version: 1, customerId: 'c-1', requestId: 'r-1', requestedAt: '2024-01-01T00:00:00Z' },
    });
    expect(
      refusal(
        `${order({ total: '10' })}\n${order({ placedAt: '2030-01-01T00:00:00Z' })}\n${erasure}`,
        'ndjson',
      ),
    ).toEqual([
      'history:1: detail.total: Invalid input: expected number, received string',
      'history:2: detail.placedAt: must not be more than 7 days after now (2024-06-01T00:00:00.000Z)',
      'history:3: detail-type: customer.erasure-requested is not history; send it to the live system',
    ]);
  });
});

describe('CDNOW', () => {
  it('imports a purchase as an order claiming no consent the history does not state', () => {
    const history = plan('1 19970101 2 29.33\n2 19970102 1 11.77\n', 'cdnow');
    expect(history.customers.map((c) => c.customerId)).toEqual(['1', '2']);
    const detail = history.customers[0]?.events[0]?.event.detail;
    expect(detail).toMatchObject({ orderId: 'cdnow-1-1', total: 29.33 });
    expect(detail).not.toHaveProperty('marketingConsent');
  });

  it('refuses a bad row with its line', () => {
    expect(refusal('1 19970101 2 29.33\n2 1997-01-02 1 11.77\n', 'cdnow')).toEqual([
      'history:2: date "1997-01-02" is not yyyymmdd',
    ]);
  });
});

describe('the import command line', () => {
  it('guesses the format from the file name', () => {
    expect(guessFormat('orders_export_1.csv')).toBe('shopify-csv');
    expect(guessFormat('events.ndjson')).toBe('ndjson');
    expect(guessFormat('data/cdnow_master.txt')).toBe('cdnow');
  });

  it('refuses an unknown format and --endpoint without --table, naming the option', () => {
    const dataset = fromRoot('data/cdnow_sample.txt');
    expect(parseCommandLine(['import', '--dataset', dataset, '--format', 'xlsx'])).toMatchObject({
      kind: 'usage-error',
      message: expect.stringContaining('--format must be one of cdnow, shopify-csv, ndjson, got "xlsx"'),
    });
    expect(
      parseCommandLine(['import', '--dataset', dataset, '--endpoint', 'http://127.0.0.1:8000']),
    ).toMatchObject({
      kind: 'usage-error',
      message: expect.stringContaining('--endpoint needs --table NAME'),
    });
    expect(parseCommandLine(['import'])).toMatchObject({
      kind: 'usage-error',
      message: expect.stringContaining('needs --dataset PATH'),
    });
  });
});
