import { describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { shardOf } from '../../domain/journeys.ts';
import { dueRulesFingerprint } from '../../domain/loyalty/engine.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { type SweepFanOut, sweep } from '../../domain/use-cases/sweep.ts';
import type { SweepConfig } from '../../domain/workflow/compile.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemorySweepStore } from '../support/in-memory-sweep-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// The scheduled sweep hands a timer shard with a backlog (a full page due) to a worker of its own
// and settles the others itself; a worker settles its shard only and moves no cursor.

// Maturity alone brings no visit (a read derives it): the expiry warning at DUE does.
const program = loyaltyProgram({
  points: { pendingDays: 30, expiry: { afterDays: 31, warnDaysBefore: 30 } },
});
const config: SweepConfig = { timeZone: 'UTC', inactivityDays: [30], dates: [], schedules: [], program };
const PLACED = '2026-01-01T00:00:00.000Z';
const DUE = '2026-02-01T00:00:00.000Z';

/** Customer ids on a given timer shard. */
const onShard = (shard: number, count: number) => {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (shardOf(`c-${i}`) === shard) ids.push(`c-${i}`);
  return ids;
};

const withOrders = async (ids: string[]) => {
  const store = new InMemorySweepStore();
  const clock = { now: () => new Date(PLACED), sleep: async () => {} };
  for (const id of ids) {
    const event = eventFixture('order-placed');
    event.id = `e-${id}`;
    Object.assign(event.detail, { customerId: id, orderId: `o-${id}`, placedAt: PLACED });
    await recordEvent(parseCommerceEvent(event, eventContext(PLACED)), { store, clock, program });
  }
  // The timer index agrees with the program: no one-off recheck pass settles every shard.
  await store.setTimerIndexState({ fingerprint: dueRulesFingerprint(program) });
  return store;
};

const deps = (store: InMemorySweepStore, fanOut?: SweepFanOut) => ({
  store,
  clock: { now: () => new Date(DUE), sleep: async () => {} },
  starter: { start: async () => {} },
  publisher: { publish: async () => {} },
  fanOut,
});

/** What each account still waits for: its pending points until the sweep's visit (the warning) took. */
const pending = async (store: InMemorySweepStore, ids: string[]) =>
  Promise.all(
    ids.map(async (id) => {
      const profile = await store.getProfile(id);
      return profile?.points?.lots.some((lot) => lot.warned) ? 0 : (profile?.pointsPending ?? 0);
    }),
  );

describe('the sweep with a backlogged shard', () => {
  it('hands the backlogged shard to a worker and settles the other shards itself', async () => {
    const busy = onShard(3, 6);
    const quiet = onShard(5, 2);
    const store = await withOrders([...busy, ...quiet]);
    const handed: { config: SweepConfig; shards: number[][] }[] = [];
    const result = await sweep(config, deps(store, { start: async (work) => void handed.push(work) }), 4);

    expect(handed).toEqual([
      { config: { timeZone: 'UTC', inactivityDays: [], dates: [], schedules: [], program }, shards: [[3]] },
    ]);
    expect(result).toMatchObject({ fannedOut: 1, more: true, failed: 0 });
    expect(await pending(store, quiet)).toEqual([0, 0]);
    expect((await pending(store, busy)).every((points) => points > 0)).toBe(true);

    // The worker for shard 3, as SweepShards invokes it.
    const worker = await sweep({ ...handed[0]!.config, shards: [3] }, deps(store), 4);
    expect(worker.failed).toBe(0);
    expect(await pending(store, busy)).toEqual(busy.map(() => 0));
  });

  it('settles every shard itself when none has a full page due', async () => {
    const store = await withOrders([...onShard(3, 3), ...onShard(5, 2)]);
    const handed: unknown[] = [];
    const result = await sweep(config, deps(store, { start: async (work) => void handed.push(work) }), 4);

    expect(handed).toEqual([]);
    expect(result.fannedOut).toBeUndefined();
    expect(await pending(store, [...onShard(3, 3), ...onShard(5, 2)])).toEqual([0, 0, 0, 0, 0]);
  });

  it('leaves the cursors to the scheduled sweep: a worker moves none', async () => {
    const store = await withOrders(onShard(3, 1));
    await sweep({ ...config, shards: [3] }, deps(store), 4);
    expect(await store.getCursor('inactivity#30')).toBeUndefined();
    await sweep(config, deps(store), 4);
    expect(await store.getCursor('inactivity#30')).toEqual({ at: DUE });
  });

  it('settles everything itself when the fan-out fails, and reports it', async () => {
    const busy = onShard(3, 6);
    const store = await withOrders(busy);
    const failing = {
      start: async () =>
        Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })),
    };
    const result = await sweep(config, deps(store, failing), 4);

    expect(result).toMatchObject({ failed: 1 });
    expect(await pending(store, busy)).toEqual(busy.map(() => 0));
  });

  it('reads each shard’s first due page once: settling starts from what the peek read', async () => {
    const store = await withOrders(onShard(3, 2));
    const reads: number[] = [];
    const duePointAccounts = store.duePointAccounts.bind(store);
    store.duePointAccounts = async (shard, ...rest) => {
      reads.push(shard);
      return duePointAccounts(shard, ...rest);
    };
    await sweep(config, deps(store, { start: async () => {} }), 4);

    expect(reads).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await pending(store, onShard(3, 2))).toEqual([0, 0]);
  });
});
