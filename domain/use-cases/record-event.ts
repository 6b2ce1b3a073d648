import { ALL_MARKETING } from '../consent.ts';
import { changesForOrder, changesForRegistration } from '../customer.ts';
import { InvalidEventError, NotFoundError } from '../errors.ts';
import type {
  CommerceEvent,
  ConsentChanged,
  CustomerRegistered,
  OrderPlaced,
  OrderRefunded,
} from '../events.ts';
import { earn, reverse } from '../loyalty/account.ts';
import {
  countTowardsTier,
  localDate,
  lotIdFor,
  lotTimes,
  pointsForOrderPlaced,
  pointsToTakeBack,
  upgradeTier,
} from '../loyalty/engine.ts';
import { formatMoney, toMinorUnits } from '../money.ts';
import type { Clock, CustomerStore } from '../ports.ts';
import type { Program } from '../program.ts';
import { changeConsent, checkTopics } from './consent.ts';
import { fixedAward, openAccount, pointsWrite } from './points.ts';
import { eraseCustomer, exportCustomer, type PrivacyDeps, withoutPersonalData } from './privacy.ts';
import { withOptimisticRetry } from './retry.ts';

export interface RecordDeps {
  store: CustomerStore;
  clock: Clock;
  program: Program;
  /** The ports privacy requests need (the ingest function has them). */
  privacy?: PrivacyDeps | undefined;
}

export type RecordResult = (
  | { outcome: 'applied' | 'duplicate'; type: 'customer.registered' }
  | { outcome: 'applied' | 'duplicate'; type: 'order.placed'; totalMinor: number; points: number }
  | { outcome: 'applied' | 'duplicate'; type: 'order.refunded'; pointsReversed: number }
  | { outcome: 'applied' | 'duplicate'; type: 'customer.erasure-requested' | 'customer.export-requested' }
  | { outcome: 'applied' | 'duplicate'; type: 'customer.consent-changed' }
) & {
  /** The account has events to publish (a tier change, an expiry warning). */
  outbox?: boolean;
  /**
   * Whether the flows should hear of it: a new fact, or a retry of the very envelope that recorded it
   * (its first attempt may have crashed before publishing). A fact re-sent under another envelope was
   * published when it was recorded, and flows must not hear it twice.
   */
  publish: boolean;
};

/** Keeps the customer record true to every event, once per event however often it is delivered. */
export const recordEvent = async (event: CommerceEvent, deps: RecordDeps): Promise<RecordResult> => {
  switch (event.type) {
    case 'customer.registered': {
      const { erased, ...result } = await recordRegistration(event.eventId, event.detail, deps);
      return { type: event.type, publish: !erased, ...result };
    }
    case 'order.placed': {
      const { erased, ...result } = await recordOrder(event.eventId, event.detail, deps);
      const recordedBy =
        result.outcome === 'duplicate'
          ? (await deps.store.getOrder(event.detail.customerId, event.detail.orderId))?.eventId
          : event.eventId;
      // An erased customer's events count for the books but reach no flow: they carry the address.
      return { type: event.type, ...result, publish: recordedBy === event.eventId && !erased };
    }
    case 'order.refunded': {
      const result = await recordRefund(event.eventId, event.detail, deps);
      const erased = (await deps.store.getProfile(event.detail.customerId))?.erasedAt !== undefined;
      return { type: event.type, ...result, publish: result.recordedBy === event.eventId && !erased };
    }
    case 'customer.erasure-requested':
      return { type: event.type, publish: false, ...(await eraseCustomer(event.detail, privacyDeps(deps))) };
    case 'customer.export-requested':
      return {
        type: event.type,
        publish: false,
        ...(await exportCustomer(event.eventId, event.detail, privacyDeps(deps))),
      };
    case 'customer.consent-changed':
      return { type: event.type, publish: true, outcome: await recordConsentChange(event.detail, deps) };
  }
};

const privacyDeps = (deps: RecordDeps): PrivacyDeps => {
  if (!deps.privacy)
    throw new TypeError('privacy requests need the privacy ports (store, dead letters, exports)');
  return deps.privacy;
};

/** The shop's word on consent, by the same rule as every other source; the customer must exist. */
const recordConsentChange = async (change: ConsentChanged, deps: RecordDeps) => {
  const topics = {
    ...(change.marketingConsent === undefined ? {} : { [ALL_MARKETING]: change.marketingConsent }),
    ...change.consent,
  };
  checkTopics(change.consent ?? {}, deps.program, 'detail.consent');
  const { outcome } = await changeConsent(
    { customerId: change.customerId, topics, at: change.changedAt, source: 'shop' },
    deps,
  );
  // Consent needs the customer's record (an address to honour it for); a change that outran the
  // registration is retried until it lands.
  if (outcome === 'no-customer') throw new NotFoundError(`customer ${change.customerId} has no record yet`);
  return outcome === 'applied' ? ('applied' as const) : ('duplicate' as const);
};

const requireProgramCurrency = (currency: string, program: Program): void => {
  if (currency !== program.currency) {
    throw new InvalidEventError(
      `detail.currency: ${currency} is not the program currency ${program.currency}`,
      'detail.currency',
    );
  }
};

const recordRegistration = async (
  eventId: string,
  event: CustomerRegistered,
  { store, clock, program }: RecordDeps,
) => {
  const signup = program.awards.signup;
  checkTopics(event.consent ?? {}, program, 'detail.consent');
  const entryId = `award:signup:${event.customerId}`;
  let outbox = false;
  let erased = false;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    const current = await store.getProfile(event.customerId);
    erased = current?.erasedAt !== undefined;
    const changes = withoutPersonalData(current, changesForRegistration(current, event));
    const now = clock.now().toISOString();
    const saved = await store.saveProfile(event.customerId, changes, current?.version, now);
    if (saved !== 'applied' || !signup) return { outcome: saved };
    // The sign-up award, once per customer: its entry id is the guard.
    if (await store.getLedgerEntry(event.customerId, entryId)) return { outcome: saved };
    // The profile as just saved: its points are untouched and its version is one more.
    const version = (current?.version ?? 0) + 1;
    const posting = openAccount(event.customerId, current?.points, program, now);
    fixedAward(posting, program, {
      entryId,
      points: signup.points,
      rules: [{ id: signup.id, version: signup.version, points: signup.points }],
      at: now,
      eventId,
    });
    outbox = posting.account.outbox.length > 0;
    const awarded = await store.writePoints(
      event.customerId,
      version,
      pointsWrite(current?.points, posting, program),
      { primary: entryId },
    );
    // Another change landed in between: do it all again rather than lose the award.
    return { outcome: awarded === 'conflict' ? awarded : saved };
  });
  return { outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome, outbox, erased };
};

const recordOrder = async (eventId: string, order: OrderPlaced, { store, clock, program }: RecordDeps) => {
  requireProgramCurrency(order.currency, program);
  const totalMinor = toMinorUnits(order.total, order.currency, 'detail.total');
  let points = 0;
  let outbox = false;
  let erased = false;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    const current = await store.getProfile(order.customerId);
    erased = current?.erasedAt !== undefined;
    const changes = withoutPersonalData(current, changesForOrder(current, order, totalMinor));
    const now = clock.now().toISOString();
    const before = current?.points;
    const posting = openAccount(order.customerId, before, program, now);
    const account = posting.account;
    const day = localDate(order.placedAt, program.timeZone);
    const earnedToday = account.day?.date === day ? account.day.points : 0;
    const award = pointsForOrderPlaced({ ...order, totalMinor }, program, {
      tierId: account.tier?.id,
      earnedToday,
    });
    points = award.points;
    const lot = earn(posting, {
      entryId: `earn:order:${order.orderId}`,
      kind: 'earn',
      points: award.points,
      rules: award.rules,
      at: order.placedAt,
      eventId,
      orderId: order.orderId,
      ...lotTimes(program, order.placedAt),
    });
    account.day = { date: day, points: earnedToday + award.points };
    if (!account.lastActivityAt || order.placedAt > account.lastActivityAt)
      account.lastActivityAt = order.placedAt;
    countTowardsTier(posting, program, order.placedAt, {
      spendMinor: totalMinor,
      points: lot?.status === 'available' ? award.points : 0,
    });
    upgradeTier(posting, program, order.placedAt);
    outbox = account.outbox.length > 0;
    const record = {
      customerId: order.customerId,
      orderId: order.orderId,
      eventId,
      currency: order.currency,
      totalMinor,
      refundedMinor: 0,
      placedAt: order.placedAt,
      pointsAwarded: award.points,
      pointsReversed: 0,
    };
    return {
      outcome: await store.recordOrder(
        record,
        changes,
        current?.version,
        now,
        pointsWrite(before, posting, program),
      ),
    };
  });
  return {
    outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome,
    totalMinor,
    points,
    outbox,
    erased,
  };
};

const recordRefund = async (
  eventId: string,
  refund: OrderRefunded,
  { store, clock, program }: RecordDeps,
) => {
  requireProgramCurrency(refund.currency, program);
  const refundMinor = toMinorUnits(refund.amount, refund.currency, 'detail.amount');
  const entryId = `reverse:refund:${refund.refundId}`;
  let reversed = 0;
  let outbox = false;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    if (await store.getLedgerEntry(refund.customerId, entryId)) return { outcome: 'duplicate' as const };
    const order = await store.getOrder(refund.customerId, refund.orderId);
    const profile = await store.getProfile(refund.customerId);
    if (!order || !profile) {
      throw new NotFoundError(
        `order ${refund.orderId} of customer ${refund.customerId} has not been recorded`,
      );
    }
    const left = order.totalMinor - order.refundedMinor;
    if (refundMinor > left) {
      // A copy of this refund that landed since the check above took what was left: a duplicate.
      if (await store.getLedgerEntry(refund.customerId, entryId)) return { outcome: 'duplicate' as const };
      throw new InvalidEventError(
        `detail.amount: ${formatMoney(refundMinor, order.currency)} is more than the ${formatMoney(left, order.currency)} left to refund on order ${order.orderId}`,
        'detail.amount',
      );
    }
    const now = clock.now().toISOString();
    const posting = openAccount(profile.customerId, profile.points, program, now);
    reversed = pointsToTakeBack(order, refundMinor);
    // The order's own lot: still pending, or matured into the bucket of its expiry day.
    const times = lotTimes(program, order.placedAt);
    const lot =
      posting.account.lots.find((l) => l.id === times.lotId && l.status === 'pending') ??
      posting.account.lots.find((l) => l.id === lotIdFor(program, { expiresAt: times.expiresAt }));
    const lotId = lot?.id;
    reverse(
      posting,
      {
        entryId,
        points: reversed,
        lotId,
        ruleId: program.earn.id,
        ruleVersion: program.earn.version,
        orderId: refund.orderId,
        refundId: refund.refundId,
        eventId,
        at: refund.refundedAt,
      },
      program.points.negativeBalance,
    );
    // What a refund takes back no longer counts towards tiers: spend on the order's day, points on
    // the day they matured (pending points never counted).
    countTowardsTier(posting, program, order.placedAt, { spendMinor: -refundMinor });
    if (lot?.status === 'available')
      countTowardsTier(posting, program, times.maturesAt ?? order.placedAt, { points: -reversed });
    outbox = posting.account.outbox.length > 0;
    return {
      outcome: await store.writePoints(
        refund.customerId,
        profile.version,
        pointsWrite(profile.points, posting, program),
        {
          primary: entryId,
          changes: { refundedMinor: profile.refundedMinor + refundMinor },
          refund: {
            orderId: order.orderId,
            refundMinor,
            pointsReversed: reversed,
            expectedRefundedMinor: order.refundedMinor,
          },
        },
      ),
    };
  });
  if (outcome === 'duplicate') {
    const entry = await store.getLedgerEntry(refund.customerId, entryId);
    return { outcome, pointsReversed: entry ? -entry.points : 0, recordedBy: entry?.eventId };
  }
  return {
    outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome,
    pointsReversed: reversed,
    outbox,
    recordedBy: eventId,
  };
};
