import { type CommerceEvent, parseCommerceEvent } from '../events.ts';
import type { Clock, CustomerStore, PointsWrite } from '../ports.ts';
import type { Program } from '../program.ts';
import { openAccount, pointsWrite } from './points.ts';
import { type RecordResult, recordEvent } from './record-event.ts';
import { withOptimisticRetry } from './retry.ts';

// A backfill: a shop's history recorded by the very use case live events go through, so every
// balance, lot, tier and ledger entry is what live delivery in that order would have made, but
// without any of it becoming news. Recording leaves two things for later machinery that would mail
// customers about the past: the account's outbox (tier changes, expiry warnings; published by the
// ingest path or the sweeper) and the account's place on the timer index (which the sweeper
// settles and publishes from). History goes through `historyStore`, which writes neither; then
// `settleImported` brings each account up to today in one write and arms its timer only for what
// is still to come. No mailer, publisher or journey port is in reach of either.

/** The store, and the due time the timer index holds for an account as written, not as derived. */
export interface BackfillStore extends CustomerStore {
  indexedDue(customerId: string): Promise<string | undefined>;
}

/**
 * A write of history: the outbox emptied (a tier change of 1997 is not news today) and the timer
 * index left where it is (`due` = `dueBefore` moves nothing), so the sweeper sees no account while
 * it is half imported. `settleImported` puts the index right once the customer's history is in.
 */
const quiet = (points: PointsWrite): PointsWrite => ({
  ...points,
  account: { ...points.account, outbox: [] },
  due: points.dueBefore,
});

/** The store the record use case writes history through: see `quiet`. Reads pass through. */
export const historyStore = <S extends CustomerStore>(store: S): S => {
  const recordOrder: CustomerStore['recordOrder'] = (order, changes, expectedVersion, at, points) =>
    store.recordOrder(order, changes, expectedVersion, at, points && quiet(points));
  const writePoints: CustomerStore['writePoints'] = (customerId, expectedVersion, points, options) =>
    store.writePoints(customerId, expectedVersion, quiet(points), options);
  const overrides: Record<string, unknown> = { recordOrder, writePoints };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) return overrides[property];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
};

/** When an event happened: the time history records it at (the clock the use case reads). */
export const occurredAt = (event: CommerceEvent): string => {
  switch (event.type) {
    case 'customer.registered':
      return event.detail.registeredAt;
    case 'order.placed':
      return event.detail.placedAt;
    case 'order.refunded':
      return event.detail.refundedAt;
    case 'order.cancelled':
      return event.detail.cancelledAt;
    case 'customer.consent-changed':
      return event.detail.changedAt;
    case 'customer.erasure-requested':
    case 'customer.export-requested':
      return event.detail.requestedAt;
  }
};

export interface BackfillDeps {
  store: BackfillStore;
  program: Program;
  /** "Today": what the history is settled up to. Events after it are recorded at it. */
  asOf: string;
  /** For the optimistic retries' backoff; its `now` is not read (history has its own times). */
  sleep: Clock['sleep'];
}

/**
 * Records one event of history as live ingest would have recorded it when it happened: the clock
 * the use case reads is the event's own time (never after `asOf`), so pending points mature,
 * lots expire and tiers move on the history's calendar, not on the day of the import.
 */
export const recordHistory = async (event: CommerceEvent, deps: BackfillDeps): Promise<RecordResult> => {
  const at = new Date(Math.min(Date.parse(occurredAt(event)), Date.parse(deps.asOf)));
  const result = await recordEvent(event, {
    store: historyStore(deps.store),
    clock: { now: () => at, sleep: deps.sleep },
    program: deps.program,
  });
  // A refund that came before its order in the history waited for it: record it now, as the
  // ingest machine would ingest it again.
  if (result.type === 'order.placed')
    for (const released of result.released)
      await recordHistory(
        parseCommerceEvent(released, { now: new Date(deps.asOf), limits: deps.program.limits }),
        deps,
      );
  return result;
};

/**
 * Brings an imported account up to `asOf` in one write: what fell due in the meantime is booked
 * (lots that expired long ago expire, with their ledger entries; tier reviews and downgrades are
 * applied), warnings already due are taken as given and not sent, the outbox is emptied, and the
 * timer index is set to the account's next due time, which is after `asOf`. Writes nothing when
 * the account and its timer already are so (a re-run).
 */
export const settleImported = async (
  customerId: string,
  deps: BackfillDeps,
): Promise<'settled' | 'unchanged'> => {
  const { store, program, asOf } = deps;
  let settled: 'settled' | 'unchanged' = 'unchanged';
  await withOptimisticRetry({ now: () => new Date(asOf), sleep: deps.sleep }, async () => {
    const profile = await store.getProfile(customerId);
    if (!profile?.points) return { outcome: 'applied' as const };
    const posting = openAccount(customerId, profile.points, program, asOf);
    posting.account.outbox = [];
    const write = pointsWrite(profile.points, posting, program);
    // What the index holds, not what the account read would say: history never moved it.
    write.dueBefore = await store.indexedDue(customerId);
    const same =
      write.entries.length === 0 &&
      write.due === write.dueBefore &&
      JSON.stringify(posting.account) === JSON.stringify(profile.points);
    if (same) {
      settled = 'unchanged';
      return { outcome: 'applied' as const };
    }
    settled = 'settled';
    return { outcome: await store.writePoints(customerId, profile.version, write) };
  });
  return settled;
};
