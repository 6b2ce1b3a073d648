import { describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { shardOf, type Wait } from '../../domain/journeys.ts';
import type { PointsWrite, PublishedEvent } from '../../domain/ports.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { MAX_ATTEMPTS, type SweepFailure, sweep } from '../../domain/use-cases/sweep.ts';
import { type SweepConfig, sweepConfig } from '../../domain/workflow/compile.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemorySweepStore } from '../support/in-memory-sweep-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// One customer's failure is that customer's alone: the sweep reports it, counts it in `failed`,
// and goes on with everyone else and every later step. Cursors pass only what was published.

const DAY = 86_400_000;

/** A store whose points writes fail for some customers: the injected fault. */
class FailingWrites extends InMemorySweepStore {
  constructor(readonly failFor: Set<string>) {
    super();
  }
  override async writePoints(customerId: string, expectedVersion: number, points: PointsWrite) {
    if (this.failFor.has(customerId)) throw Object.assign(new Error('throttled'), { name: 'TransientError' });
    return super.writePoints(customerId, expectedVersion, points);
  }
}

/** Whether the customer's expiry warning is written down on the account (the sweeper's visit took). */
const warned = (store: InMemorySweepStore) => (id: string) =>
  store.profiles.get(id)?.points?.lots.some((lot) => lot.warned) ?? false;

/** Publishes into `events`, refusing calls while `refuse` says so. */
const publisher = (refuse: (batch: readonly PublishedEvent[], call: number) => boolean) => {
  const events: PublishedEvent[] = [];
  let calls = 0;
  return {
    events,
    ids: () => events.map((e) => (e.detail.meta as { eventId: string }).eventId),
    publish: async (batch: readonly PublishedEvent[]) => {
      if (refuse(batch, ++calls))
        throw Object.assign(new Error('PutEvents throttled'), { name: 'TransientError' });
      events.push(...batch);
    },
  };
};

const setup = (store: InMemorySweepStore, start: string) => {
  let now = Date.parse(start);
  const failures: SweepFailure[] = [];
  const clock = { now: () => new Date(now), sleep: async () => {} };
  return {
    clock,
    failures,
    advance: (ms: number) => {
      now += ms;
    },
    deps: (pub: { publish: (events: readonly PublishedEvent[]) => Promise<void> }) => ({
      store,
      clock,
      starter: { start: async () => {} },
      publisher: pub,
      report: (failure: SweepFailure) => failures.push(failure),
    }),
  };
};

const order = (customerId: string, placedAt: string) => {
  const event = eventFixture('order-placed');
  event.id = `e-${customerId}-${placedAt}`;
  Object.assign(event.detail, { customerId, orderId: `o-${customerId}`, placedAt });
  return parseCommerceEvent(event, eventContext(placedAt));
};

const inactivityOnly: SweepConfig = { timeZone: 'UTC', inactivityDays: [30], dates: [], schedules: [] };

describe('the sweeper with one failing customer', () => {
  // Maturity alone brings no sweep (a read derives it): the warning a day later does.
  const program = loyaltyProgram({
    points: { pendingDays: 30, expiry: { afterDays: 31, warnDaysBefore: 30 } },
  });

  it('settles every other due account, reports the failing one without its email, and runs the later steps', async () => {
    const store = new FailingWrites(new Set(['b']));
    const { clock, advance, deps, failures } = setup(store, '2026-01-01T00:00:00Z');
    for (const id of ['a', 'b', 'c'])
      await recordEvent(order(id, '2026-01-01T00:00:00Z'), { store, clock, program });
    const wait: Wait = {
      customerId: 'a',
      flowId: 'win-back',
      journeyId: 'j-1',
      revision: 'r1',
      stepId: 'pause',
      dueAt: '2026-01-10T00:00:00Z',
      targets: { elapsed: 'next' },
      context: { trigger: {}, steps: {} },
      status: 'waiting',
    };
    store.putWait(wait);
    const started: string[] = [];
    advance(31 * DAY);
    const result = await sweep(sweepConfig([], program), {
      ...deps(publisher(() => false)),
      starter: { start: async (flowId: string) => void started.push(flowId) },
    });
    expect(['a', 'b', 'c'].map(warned(store))).toEqual([true, false, true]);
    expect(result).toMatchObject({ settled: 2, failed: 1, resumed: 1 });
    expect(started).toEqual(['win-back']);
    expect(failures).toEqual([{ step: 'settle', customerId: 'b', error: 'TransientError' }]);
    expect(JSON.stringify(failures)).not.toContain('@');
    // Its entry stays due: the next sweep, with the fault gone, settles it.
    store.failFor.clear();
    expect(await sweep(sweepConfig([], program), deps(publisher(() => false)))).toMatchObject({
      settled: 1,
      failed: 0,
    });
    expect(warned(store)('b')).toBe(true);
  });

  it('resumes every other due wait when one continuation fails to start', async () => {
    const store = new InMemorySweepStore();
    const { advance, deps, failures } = setup(store, '2026-01-01T00:00:00Z');
    for (const customerId of ['a', 'b', 'c'])
      store.putWait({
        customerId,
        flowId: 'review-request',
        journeyId: `j-${customerId}`,
        revision: 'r1',
        stepId: 'pause',
        dueAt: '2026-01-01T12:00:00Z',
        targets: { elapsed: 'next' },
        context: { trigger: {}, steps: {} },
        status: 'waiting',
      });
    const started: string[] = [];
    advance(DAY);
    const result = await sweep(inactivityOnly, {
      ...deps(publisher(() => false)),
      starter: {
        start: async (_flow: string, _revision: string, input: unknown) => {
          const customerId = JSON.stringify(input).includes('j-b') ? 'b' : 'other';
          if (customerId === 'b') throw Object.assign(new Error('throttled'), { name: 'TransientError' });
          started.push(JSON.stringify(input).includes('j-a') ? 'a' : 'c');
        },
      },
    });
    expect(started.sort()).toEqual(['a', 'c']);
    expect(result).toMatchObject({ resumed: 2, failed: 1 });
    expect(failures).toEqual([{ step: 'resume', customerId: 'b', error: 'TransientError' }]);
  });

  it('fires the birthday of a customer whose time zone is unknown in the program zone, and everyone else’s', async () => {
    const store = new InMemorySweepStore();
    const { advance, deps, failures } = setup(store, '2026-12-09T00:00:00Z');
    const at = '2026-01-01T00:00:00Z';
    await store.saveProfile('mars', { birthday: '12-10', timeZone: 'Mars/Olympus_Mons' }, undefined, at);
    await store.saveProfile('tokyo', { birthday: '12-10', timeZone: 'Asia/Tokyo' }, undefined, at);
    await store.saveProfile('utc', { birthday: '12-10' }, undefined, at);
    const config: SweepConfig = {
      timeZone: 'UTC',
      inactivityDays: [],
      dates: [{ field: 'birthday', at: '09:00' }],
      schedules: [{ flowId: 'daily', every: 'day', at: '10:00' }],
    };
    const pub = publisher(() => false);
    const broadcasts: string[] = [];
    const broadcaster = {
      start: async (name: string) => {
        broadcasts.push(name);
        return 'started' as const;
      },
    };
    await sweep(config, { ...deps(pub), broadcaster });
    advance(2 * DAY);
    const result = await sweep(config, { ...deps(pub), broadcaster });
    const birthdays = pub.events.filter((e) => e.detailType === 'customer.date');
    expect(Object.fromEntries(birthdays.map((e) => [e.detail.customerId, e.time]))).toEqual({
      tokyo: '2026-12-10T00:00:00.000Z',
      utc: '2026-12-10T09:00:00.000Z',
      mars: '2026-12-10T09:00:00.000Z',
    });
    // The later step ran: two days of the daily schedule, a broadcast each.
    expect(broadcasts).toEqual(['daily_20261209T100000Z', 'daily_20261210T100000Z']);
    expect(result).toMatchObject({ dates: 3, scheduled: 2, failed: 1 });
    expect(failures).toEqual([{ step: 'date#birthday#09:00', customerId: 'mars', error: 'RangeError' }]);
  });
});

describe('cursor steps under a failing PutEvents', () => {
  const program = loyaltyProgram({});
  const inactive = async (store: InMemorySweepStore, ids: string[]) => {
    const clock = { now: () => new Date('2026-01-01T00:00:00Z'), sleep: async () => {} };
    for (const [i, id] of ids.entries())
      await recordEvent(
        order(id, new Date(Date.parse('2026-01-01T00:00:00Z') + i * 3_600_000).toISOString()),
        {
          store,
          clock,
          program,
        },
      );
  };

  it('publishes a throttled window at the next sweep instead of losing it', async () => {
    const store = new InMemorySweepStore();
    await inactive(store, ['a', 'b']);
    const { advance, deps, failures } = setup(store, '2026-01-15T00:00:00Z');
    const pub = publisher((_, call) => call === 1);
    await sweep(inactivityOnly, deps(pub));
    advance(30 * DAY);
    expect(await sweep(inactivityOnly, deps(pub))).toMatchObject({ inactive: 0, failed: 1 });
    expect(failures).toEqual([{ step: 'inactivity#30', customerId: 'a', error: 'TransientError' }]);
    expect(await sweep(inactivityOnly, deps(pub))).toMatchObject({ inactive: 2, failed: 0 });
    expect(pub.ids()).toEqual([
      'inactive:a:30:2026-01-01T00:00:00.000Z',
      'inactive:b:30:2026-01-01T01:00:00.000Z',
    ]);
    // Published, the cursor has passed them: no third copy.
    expect(await sweep(inactivityOnly, deps(pub))).toMatchObject({ inactive: 0, failed: 0 });
  });

  it(`gives up one refused trigger as a dead letter after ${MAX_ATTEMPTS} sweeps, and publishes the others`, async () => {
    const store = new InMemorySweepStore();
    await inactive(store, ['a', 'poison', 'c']);
    const { advance, deps, failures } = setup(store, '2026-01-15T00:00:00Z');
    const pub = publisher((batch) => batch.some((e) => e.detail.customerId === 'poison'));
    await sweep(inactivityOnly, deps(pub));
    advance(30 * DAY);
    const results = [];
    for (let i = 0; i < MAX_ATTEMPTS + 3; i++) {
      results.push(await sweep(inactivityOnly, deps(pub)));
      advance(60_000);
    }
    expect(pub.ids().sort()).toEqual([
      'inactive:a:30:2026-01-01T00:00:00.000Z',
      'inactive:c:30:2026-01-01T02:00:00.000Z',
    ]);
    const dead = failures.filter((f) => f.deadLetter);
    expect(dead).toEqual([
      {
        step: 'inactivity#30',
        customerId: 'poison',
        error: 'TransientError',
        deadLetter: { eventId: 'inactive:poison:30:2026-01-01T01:00:00.000Z', attempts: MAX_ATTEMPTS },
      },
    ]);
    expect(failures.filter((f) => f.customerId === 'poison')).toHaveLength(MAX_ATTEMPTS);
    expect(results.reduce((n, r) => n + r.deadLettered, 0)).toBe(1);
    // Once it is passed, sweeps are clean again.
    expect(results.at(-1)).toMatchObject({ failed: 0, deadLettered: 0 });
  });
});

describe('the points timer index, paged', () => {
  // Maturity alone brings no sweep (a read derives it): the warning a day later does.
  const program = loyaltyProgram({
    points: { pendingDays: 30, expiry: { afterDays: 31, warnDaysBefore: 30 } },
  });

  it('settles an account queued behind more than a page of accounts that keep failing', async () => {
    // Five customers on one shard; the first four (the earliest due) fail, with pages of two.
    const ids = Array.from({ length: 200 }, (_, i) => `c-${i}`)
      .filter((id) => shardOf(id) === 0)
      .slice(0, 5);
    const store = new FailingWrites(new Set(ids.slice(0, 4)));
    const { clock, advance, deps } = setup(store, '2026-01-01T00:00:00Z');
    for (const [i, id] of ids.entries())
      await recordEvent(order(id, new Date(Date.parse('2026-01-01T00:00:00Z') + i * 60_000).toISOString()), {
        store,
        clock,
        program,
      });
    // Their warnings come due a minute apart, from 31 days on: all five are due ten minutes later.
    advance(31 * DAY + 10 * 60_000);
    const result = await sweep(sweepConfig([], program), deps(publisher(() => false)), 2);
    expect(result).toMatchObject({ settled: 1, failed: 4 });
    expect(warned(store)(ids[4] ?? '')).toBe(true);
  });
});
