import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DatasetError, parseCdnow, toOrderPlaced } from '../../local/cdnow.ts';
import { parseOrderPlaced } from '../support/parse.ts';

const data = (name: string) => readFileSync(new URL(`../../data/${name}`, import.meta.url), 'utf8');

describe('the CDNOW purchase history', () => {
  it('reads the 1/10 sample: 6,919 purchases by 2,357 customers', () => {
    const purchases = parseCdnow(data('cdnow_sample.txt'));
    expect(purchases).toHaveLength(6919);
    expect(new Set(purchases.map((p) => p.customerId)).size).toBe(2357);
  });

  it('reads the master file with its header: 69,659 purchases by 23,570 customers', () => {
    const purchases = parseCdnow(data('cdnow_master.txt'));
    expect(purchases).toHaveLength(69659);
    expect(new Set(purchases.map((p) => p.customerId)).size).toBe(23570);
  });

  it('puts purchases in time order', () => {
    const dates = parseCdnow(data('cdnow_sample.txt')).map((p) => p.date);
    expect(dates).toEqual([...dates].sort());
    expect(dates[0]).toBe('1997-01-01');
  });

  it('turns every purchase into a valid order.placed', () => {
    for (const purchase of parseCdnow(data('cdnow_sample.txt'))) {
      expect(() => parseOrderPlaced(toOrderPlaced(purchase))).not.toThrow();
    }
  });

  it('names the file and line of a malformed row', () => {
    expect(() => parseCdnow('1 1 19970101 1 10.5\n2 2 1997-01-02 1 3\n', 'x.txt')).toThrow(
      new DatasetError('x.txt', 2, 'date "1997-01-02" is not yyyymmdd'),
    );
  });
});
