import { describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { shardOf } from '../../domain/journeys.ts';
import { dueRulesFingerprint } from '../../domain/loyalty/engine.ts';
import type { PublishedEvent } from '../../domain/ports.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { sweep } from '../../domain/use-cases/sweep.ts';
import { sweepConfig } from '../../domain/workflow/compile.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemorySweepStore } from '../support/in-memory-sweep-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// Due times on the timer index are computed by the program of the day they were written. After an
// edit of the timing rules (workflows/program.yaml's warnDaysBefore) the sweeper corrects them:
// an entry it reads is rewritten when its time is wrong, and an edit makes it re-check every entry.

const withWarning = (warnDaysBefore: number) =>
  loyaltyProgram({ points: { expiry: { afterDays: 365, warnDaysBefore } } });

class CountingStore extends InMemorySweepStore {
  reads = 0;
  override async getProfile(customerId: string) {
    this.reads++;
    return super.getProfile(customerId);
  }
}

/** Customers on one shard, each with one order of 42 points on 1 January 2026 (expiring 1 January 2027). */
const customers = async (store: InMemorySweepStore, count: number, program = withWarning(7)) => {
  const ids = Array.from({ length: 400 }, (_, i) => `c-${i}`)
    .filter((id) => shardOf(id) === 3)
    .slice(0, count);
  const clock = { now: () => new Date('2026-01-01T00:00:00Z'), sleep: async () => {} };
  for (const customerId of ids) {
    const event = eventFixture('order-placed');
    event.id = `e-${customerId}`;
    Object.assign(event.detail, { customerId, orderId: `o-${customerId}`, placedAt: '2026-01-01T00:00:00Z' });
    await recordEvent(parseCommerceEvent(event, eventContext(clock.now(), program)), {
      store,
      clock,
      program,
    });
  }
  return ids;
};

const sweeping = (store: InMemorySweepStore, at: string) => {
  const events: PublishedEvent[] = [];
  return {
    events,
    deps: {
      store,
      clock: { now: () => new Date(at), sleep: async () => {} },
      starter: { start: async () => {} },
      publisher: { publish: async (batch: readonly PublishedEvent[]) => void events.push(...batch) },
    },
  };
};

describe('the points timer index after a program edit', () => {
  it('rewrites an entry stored earlier than the program now gives, so it is not read again every minute', async () => {
    const store = new InMemorySweepStore();
    const [id = ''] = await customers(store, 1, withWarning(30));
    expect(store.due.get(id)).toBe('2026-12-02T00:00:00.000Z');
    const edited = withWarning(7);
    store.timerIndexState = { fingerprint: dueRulesFingerprint(edited) };
    const { deps, events } = sweeping(store, '2026-12-10T00:00:00Z');
    await sweep(sweepConfig([], edited), deps);
    expect(store.due.get(id)).toBe('2026-12-25T00:00:00.000Z');
    expect(events).toEqual([]);
    expect(await store.duePointAccounts(shardOf(id), '2026-12-10T00:00:00Z', 10)).toEqual([]);
  });

  it('re-checks every entry in pages within the time budget when warnDaysBefore grows, and warns on time', async () => {
    const store = new CountingStore();
    // In index order: the due times are equal, the customer ids decide.
    const ids = (await customers(store, 5)).sort();
    store.timerIndexState = { fingerprint: dueRulesFingerprint(withWarning(7)) };
    // The edit: warn 30 days ahead. On 10 December the 1 January expiry is 22 days away.
    const edited = withWarning(30);
    const config = sweepConfig([], edited);
    const first = sweeping(store, '2026-12-10T00:00:00Z');
    // Time for two reads of a profile, then the budget is spent.
    store.reads = 0;
    const result = await sweep(
      config,
      { ...first.deps, timeLeft: () => (store.reads < 2 ? 60_000 : 1_000) },
      2,
    );
    expect(result.more).toBe(true);
    expect(first.events.map((e) => e.detail.customerId)).toEqual(ids.slice(0, 2));
    expect(store.timerIndexState?.recheck).toMatchObject({
      fingerprint: dueRulesFingerprint(edited),
      shard: 3,
    });

    const second = sweeping(store, '2026-12-10T00:01:00Z');
    expect(await sweep(config, second.deps, 2)).not.toHaveProperty('more');
    expect(second.events.map((e) => e.detail.customerId)).toEqual(ids.slice(2));
    expect(second.events.map((e) => e.detailType)).toEqual(Array(3).fill('points.expiring'));
    expect(store.timerIndexState).toEqual({ fingerprint: dueRulesFingerprint(edited) });
    // Warned, nothing else is due: the expiry itself needs no visit, a read derives it.
    expect(ids.map((id) => store.due.get(id))).toEqual(Array(5).fill(undefined));

    // Re-checked once: the next sweep reads nothing that is not due.
    store.reads = 0;
    await sweep(config, sweeping(store, '2026-12-10T00:02:00Z').deps, 2);
    expect(store.reads).toBe(0);
  });

  it('pages past a full page of entries with the continuation, one shard at a time', async () => {
    const store = new InMemorySweepStore();
    const ids = await customers(store, 5);
    const now = '2027-06-01T00:00:00Z';
    const pages: string[][] = [];
    let after: { customerId: string; dueAt: string } | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await store.duePointAccounts(3, now, 2, after);
      pages.push(page.map((entry) => entry.customerId));
      if (page.length < 2) break;
      after = page.at(-1);
    }
    expect(pages.flat()).toEqual([...ids].sort());
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
  });
});
