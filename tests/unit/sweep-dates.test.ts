import { describe, expect, it } from 'vitest';
import type { PublishedEvent } from '../../domain/ports.ts';
import { sweep } from '../../domain/use-cases/sweep.ts';
import type { SweepConfig } from '../../domain/workflow/compile.ts';
import { InMemorySweepStore } from '../support/in-memory-sweep-store.ts';

// A 29 February birthday fires on 28 February in common years, at the flow's local time in the
// customer's own time zone, once a year; in leap years on the day itself.

const config: SweepConfig = {
  timeZone: 'UTC',
  inactivityDays: [],
  dates: [{ field: 'birthday', at: '09:00' }],
  schedules: [],
};

/** Sweeps every hour from `from` to `to`, as the every-minute rule would find them. */
const birthdaysBetween = async (from: string, to: string) => {
  const store = new InMemorySweepStore();
  const at = '2020-01-01T00:00:00Z';
  await store.saveProfile(
    'auckland',
    { birthday: '2000-02-29', timeZone: 'Pacific/Auckland' },
    undefined,
    at,
  );
  await store.saveProfile(
    'los-angeles',
    { birthday: '02-29', timeZone: 'America/Los_Angeles' },
    undefined,
    at,
  );
  await store.saveProfile('march', { birthday: '03-01', timeZone: 'Pacific/Auckland' }, undefined, at);
  const events: PublishedEvent[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 3_600_000) {
    await sweep(config, {
      store,
      clock: { now: () => new Date(t), sleep: async () => {} },
      starter: { start: async () => {} },
      publisher: { publish: async (batch) => void events.push(...batch) },
    });
  }
  return events.map((e) => [e.detail.customerId, e.time, (e.detail.meta as { eventId: string }).eventId]);
};

describe('29 February birthdays', () => {
  it('fire on 28 February at 09:00 local time in a common year, once', async () => {
    expect(await birthdaysBetween('2027-02-25T00:00:00Z', '2027-03-03T00:00:00Z')).toEqual([
      // 09:00 in Auckland (UTC+13) is the evening before in UTC.
      ['auckland', '2027-02-27T20:00:00.000Z', 'date:birthday:auckland:2027'],
      ['los-angeles', '2027-02-28T17:00:00.000Z', 'date:birthday:los-angeles:2027'],
      ['march', '2027-02-28T20:00:00.000Z', 'date:birthday:march:2027'],
    ]);
  });

  it('fire on 29 February itself in a leap year, once', async () => {
    expect(await birthdaysBetween('2028-02-25T00:00:00Z', '2028-03-03T00:00:00Z')).toEqual([
      ['auckland', '2028-02-28T20:00:00.000Z', 'date:birthday:auckland:2028'],
      ['los-angeles', '2028-02-29T17:00:00.000Z', 'date:birthday:los-angeles:2028'],
      ['march', '2028-02-29T20:00:00.000Z', 'date:birthday:march:2028'],
    ]);
  });
});
