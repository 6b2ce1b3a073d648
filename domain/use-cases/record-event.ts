import { ALL_MARKETING } from '../consent.ts';
import { changesForOrder, changesForRegistration } from '../customer.ts';
import { InvalidEventError, NotFoundError } from '../errors.ts';
import {
  type CommerceEvent,
  type ConsentChanged,
  type CustomerRegistered,
  factKey,
  type OrderCancelled,
  type OrderPlaced,
  type OrderRefunded,
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
import type { Clock, CustomerStore, OrderRecord, PendingEvent } from '../ports.ts';
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
  | {
      outcome: 'applied' | 'duplicate';
      type: 'order.placed';
      totalMinor: number;
      points: number;
      /** Refunds and cancellations that waited for this order: to be ingested again, after it. */
      released: PendingEvent['envelope'][];
    }
  | {
      /** `waiting`: the order is not recorded yet; the event is kept and released when it is. */
      outcome: 'applied' | 'duplicate' | 'waiting';
      type: 'order.refunded' | 'order.cancelled';
      pointsReversed: number;
      /** Whose order it is (the event may not have said). */
      customerId?: string | undefined;
    }
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
  checkAgainstProgram(event, deps.program);
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
    case 'order.refunded':
    case 'order.cancelled': {
      const { recordedBy, ...result } = await recordTakeBack(event, deps);
      const erased =
        result.customerId !== undefined &&
        (await deps.store.getProfile(result.customerId))?.erasedAt !== undefined;
      return {
        type: event.type,
        ...result,
        publish: result.outcome !== 'waiting' && recordedBy === event.eventId && !erased,
      };
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
  const { outcome } = await changeConsent(
    { customerId: change.customerId, topics, at: change.changedAt, source: 'shop' },
    deps,
  );
  // Consent needs the customer's record (an address to honour it for); a change that outran the
  // registration is retried until it lands.
  if (outcome === 'no-customer') throw new NotFoundError(`customer ${change.customerId} has no record yet`);
  return outcome === 'applied' ? ('applied' as const) : ('duplicate' as const);
};

/**
 * What the program refuses before anything is written: a currency other than its own, consent
 * for a topic it does not have. Recording checks it; so does the API, for a whole batch at once.
 */
export const checkAgainstProgram = (event: CommerceEvent, program: Program): void => {
  switch (event.type) {
    case 'customer.registered':
    case 'customer.consent-changed':
      checkTopics(event.detail.consent ?? {}, program, 'detail.consent');
      break;
    case 'order.placed':
    case 'order.refunded':
      requireProgramCurrency(event.detail.currency, program);
      break;
  }
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
  // After the order's own write, so an event that finds the owner finds the order too.
  const { waiting } = await store.noteOrderOwner(order.orderId, order.customerId);
  const released = waiting ? (await store.pendingForOrder(order.orderId)).map((p) => p.envelope) : [];
  return {
    outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome,
    totalMinor,
    points,
    outbox,
    erased,
    released,
  };
};

type TakeBack =
  | { type: 'order.refunded'; eventId: string; source: string; detail: OrderRefunded }
  | { type: 'order.cancelled'; eventId: string; source: string; detail: OrderCancelled };

/**
 * A refund or a cancellation: finds whose order it is, waits for an order not recorded yet (kept
 * with its envelope, released when the order lands, so late and early deliveries end alike), and
 * takes back what it says. Once recorded, its waiting copy is forgotten.
 */
const recordTakeBack = async (event: TakeBack, deps: RecordDeps) => {
  const { store } = deps;
  const { orderId } = event.detail;
  const fact = factKey(event);
  // A few rounds at most: each lost race means the order landed meanwhile.
  for (let round = 0; round < 5; round++) {
    const customerId = event.detail.customerId ?? (await store.findOrderOwner(orderId));
    const order = customerId ? await store.getOrder(customerId, orderId) : undefined;
    if (!customerId || !order) {
      const kept = await store.waitForOrder(
        {
          orderId,
          factKey: fact,
          envelope: {
            id: event.eventId,
            'detail-type': event.type,
            source: event.source,
            detail: event.detail,
          },
          receivedAt: deps.clock.now().toISOString(),
        },
        customerId,
      );
      if (kept === 'waiting')
        return { outcome: 'waiting' as const, pointsReversed: 0, customerId, recordedBy: undefined };
      continue;
    }
    const result =
      event.type === 'order.refunded'
        ? await recordRefund(event.eventId, event.detail, customerId, deps)
        : await recordCancellation(event.eventId, event.detail, customerId, order, deps);
    await store.releasePending(orderId, fact);
    return { ...result, customerId };
  }
  throw new NotFoundError(`order ${orderId} is being recorded; try again`);
};

/** Takes back what was left of a cancelled order, once; refunds after it take back nothing more. */
const recordCancellation = (
  eventId: string,
  cancel: OrderCancelled,
  customerId: string,
  order: OrderRecord,
  deps: RecordDeps,
) =>
  takeBack(
    {
      eventId,
      customerId,
      orderId: cancel.orderId,
      entryId: `reverse:cancel:${cancel.orderId}`,
      at: cancel.cancelledAt,
      amountMinor: (current) => current.totalMinor - current.refundedMinor,
      cancelledAt: cancel.cancelledAt,
    },
    order.currency,
    deps,
  );

const recordRefund = (eventId: string, refund: OrderRefunded, customerId: string, deps: RecordDeps) => {
  const refundMinor = toMinorUnits(refund.amount, refund.currency, 'detail.amount');
  return takeBack(
    {
      eventId,
      customerId,
      orderId: refund.orderId,
      refundId: refund.refundId,
      entryId: `reverse:refund:${refund.refundId}`,
      at: refund.refundedAt,
      amountMinor: () => refundMinor,
    },
    refund.currency,
    deps,
  );
};

interface TakeBackInput {
  eventId: string;
  customerId: string;
  orderId: string;
  refundId?: string;
  entryId: string;
  at: string;
  /** How much of the order it takes back, given the order as it is now. */
  amountMinor: (order: OrderRecord) => number;
  cancelledAt?: string;
}

const takeBack = async (input: TakeBackInput, currency: string, { store, clock, program }: RecordDeps) => {
  const { customerId, entryId, eventId } = input;
  let reversed = 0;
  let outbox = false;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    if (await store.getLedgerEntry(customerId, entryId)) return { outcome: 'duplicate' as const };
    const order = await store.getOrder(customerId, input.orderId);
    const profile = await store.getProfile(customerId);
    if (!order || !profile) {
      throw new NotFoundError(`order ${input.orderId} of customer ${customerId} has not been recorded`);
    }
    // A cancelled order counts for nothing more: a refund after it (or a second cancel) takes back none.
    if (order.cancelledAt) return { outcome: 'after-cancel' as const };
    const refundMinor = input.amountMinor(order);
    const left = order.totalMinor - order.refundedMinor;
    if (refundMinor > left) {
      // A copy of this refund that landed since the check above took what was left: a duplicate.
      if (await store.getLedgerEntry(customerId, entryId)) return { outcome: 'duplicate' as const };
      throw new InvalidEventError(
        `detail.amount: ${formatMoney(refundMinor, currency)} is more than the ${formatMoney(left, order.currency)} left to refund on order ${order.orderId}`,
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
        orderId: input.orderId,
        ...(input.refundId ? { refundId: input.refundId } : {}),
        eventId,
        at: input.at,
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
        customerId,
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
            cancelledAt: input.cancelledAt,
          },
        },
      ),
    };
  });
  if (outcome === 'after-cancel')
    return { outcome: 'applied' as const, pointsReversed: 0, recordedBy: eventId };
  if (outcome === 'duplicate') {
    const entry = await store.getLedgerEntry(customerId, entryId);
    return { outcome, pointsReversed: entry ? -entry.points : 0, recordedBy: entry?.eventId };
  }
  return {
    outcome: outcome === 'conflict' ? ('duplicate' as const) : outcome,
    pointsReversed: reversed,
    outbox,
    recordedBy: eventId,
  };
};
