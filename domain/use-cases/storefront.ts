import type { AdjustmentRequest } from '../contracts/storefront.ts';
import type { RedeemInput } from '../contracts/tasks.ts';
import type { CustomerProfile } from '../customer.ts';
import type { RewardDiscount } from '../discounts.ts';
import { InsufficientPointsError, RewardNotAllowedError } from '../errors.ts';
import { nextAnnualDate, zonedTimeToInstant } from '../local-time.ts';
import { adjust, type LedgerEntry, type Posting } from '../loyalty/account.ts';
import { localDate, lotTimes, qualifyingAt, thresholdUnits, tierLevel } from '../loyalty/engine.ts';
import { fromMinorUnits } from '../money.ts';
import type {
  Clock,
  CouponBook,
  CustomerStore,
  EventPublisher,
  RewardCoupon,
  Signer,
  StoredCoupon,
} from '../ports.ts';
import type { Program, Reward } from '../program.ts';
import { flushOutbox, openAccount, type PointsDeps, pointsWrite, redeemReward } from './points.ts';
import { withOptimisticRetry } from './retry.ts';

// What the shop's backend asks of the loyalty program: a customer's standing (balance, pending
// points, tier and the way to the next, rewards within reach), buying a reward, checking and using
// a coupon at checkout, and customer service's corrections. The signed HTTP routes and the
// Storefront function (IAM) both call these; neither holds a rule of its own.

export interface StorefrontDeps extends PointsDeps {
  store: CustomerStore & CouponBook;
  signer: Signer;
  publisher: EventPublisher;
}

const DAY_MS = 86_400_000;

// ---- (a) loyalty status ------------------------------------------------------------------------

export interface RewardView {
  id: string;
  name: string;
  cost: number;
  discount: RewardDiscount & { currency?: string | undefined };
  /** How long its coupon stays valid once issued. */
  validDays: number;
}

export interface LockedReward extends RewardView {
  /** Points still missing at today's balance (absent when the points are there but the tier is not). */
  pointsShort?: number | undefined;
  /** The tiers it is for, when the customer's is not one of them. */
  tiers?: string[] | undefined;
}

export interface TierProgress {
  id: string;
  name: string;
  /** spend: net order totals in the program currency; points: points as they become available. */
  basis: 'spend' | 'points';
  currency?: string | undefined;
  /** What counts now in the tier window, and the next level's entry threshold, in the basis's units. */
  counted: number;
  needed: number;
  remaining: number;
  window: { rollingDays: number } | { calendarYear: true };
  /**
   * Until when today's count holds: the calendar year's end, or (rolling) when the oldest amount
   * counted leaves the window and the count starts to fall. Absent when nothing is counted yet.
   */
  by?: string | undefined;
}

export type LoyaltyStatus =
  | { customerId: string; erased: true; erasedAt: string }
  | {
      customerId: string;
      erased: false;
      asOf: string;
      points: { available: number; pending: number; debt: number };
      /** Points of recent orders not spendable yet, by when their return window closes. */
      pending: { points: number; maturesAt: string }[];
      tier?:
        | {
            id: string;
            name: string;
            since?: string | undefined;
            reviewAt?: string | undefined;
            downgrade?: { to: string; at: string } | undefined;
          }
        | undefined;
      /** The way to the next level; absent at the top level or without tiers. */
      nextTier?: TierProgress | undefined;
      rewards: { redeemable: RewardView[]; notYet: LockedReward[] };
    };

const rewardView = (reward: Reward, program: Program): RewardView => ({
  id: reward.id,
  name: reward.name,
  cost: reward.cost,
  discount: {
    kind: reward.kind,
    ...(reward.amount !== undefined ? { amount: reward.amount, currency: program.currency } : {}),
    ...(reward.percent !== undefined ? { percent: reward.percent } : {}),
    ...(reward.sku !== undefined ? { sku: reward.sku } : {}),
  },
  validDays: reward.validDays,
});

/** The instant a counted local day stops counting in a rolling window: its next day's start, plus the window. */
const leavesRollingWindow = (day: string, rollingDays: number, timeZone: string): string => {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
  const start = zonedTimeToInstant(
    timeZone,
    next.getUTCFullYear(),
    next.getUTCMonth() + 1,
    next.getUTCDate(),
    0,
    0,
  );
  return new Date(start.getTime() + rollingDays * DAY_MS).toISOString();
};

const tierProgress = (posting: Posting, program: Program, now: string): TierProgress | undefined => {
  const { account } = posting;
  const tiers = program.tiers;
  if (!tiers) return undefined;
  const index = Math.max(
    0,
    tiers.levels.findIndex((l) => l.id === account.tier?.id),
  );
  const next = tiers.levels[index + 1];
  if (!next) return undefined;
  // The engine's own count over an account settled to now, so this says what an upgrade would see.
  const counted = qualifyingAt(posting, program, now);
  const needed = thresholdUnits(program, next.entry);
  const units = (n: number) => (tiers.basis === 'spend' ? fromMinorUnits(n, program.currency) : n);
  let by: string | undefined;
  if ('calendarYear' in tiers.window)
    by = nextAnnualDate(new Date(now), program.timeZone, '01-01', '00:00').toISOString();
  else {
    const from = localDate(
      new Date(Date.parse(now) - tiers.window.rollingDays * DAY_MS).toISOString(),
      program.timeZone,
    );
    const oldest = account.qualifying
      .filter((q) => q.id >= from && q.amount > 0)
      .map((q) => q.id)
      .sort()[0];
    if (oldest) by = leavesRollingWindow(oldest, tiers.window.rollingDays, program.timeZone);
  }
  return {
    id: next.id,
    name: next.name,
    basis: tiers.basis,
    ...(tiers.basis === 'spend' ? { currency: program.currency } : {}),
    counted: units(counted),
    needed: units(needed),
    remaining: units(Math.max(0, needed - counted)),
    window: tiers.window,
    by,
  };
};

/** A customer's standing as of now, derived without writing: what the next settlement would write down. */
export const loyaltyStatus = async (
  customerId: string,
  deps: { store: CustomerStore; clock: Clock; program: Program },
): Promise<LoyaltyStatus | undefined> => {
  const { store, clock, program } = deps;
  const profile = await store.getProfile(customerId);
  if (!profile) return undefined;
  // An erased customer is a number in the books and nothing more: no balance, tier or history.
  if (profile.erasedAt) return { customerId, erased: true, erasedAt: profile.erasedAt };
  const now = clock.now().toISOString();
  const posting = openAccount(customerId, profile.points, program, now);
  const { account } = posting;
  const level = tierLevel(program, account.tier?.id);
  const tierId = level?.id;
  const redeemable: RewardView[] = [];
  const notYet: LockedReward[] = [];
  for (const reward of program.rewards) {
    const view = rewardView(reward, program);
    const short = Math.max(0, reward.cost - Math.max(0, account.available));
    const tierShut = reward.tiers !== undefined && !reward.tiers.includes(tierId ?? '');
    if (!tierShut && short === 0) redeemable.push(view);
    else
      notYet.push({
        ...view,
        ...(short > 0 ? { pointsShort: short } : {}),
        ...(tierShut ? { tiers: reward.tiers } : {}),
      });
  }
  const tier = account.tier;
  return {
    customerId,
    erased: false,
    asOf: now,
    points: { available: account.available, pending: account.pending, debt: account.debt },
    pending: account.lots
      .filter((lot) => lot.status === 'pending' && lot.remaining > 0 && lot.maturesAt)
      .map((lot) => ({ points: lot.remaining, maturesAt: lot.maturesAt ?? '' }))
      .sort((a, b) => a.maturesAt.localeCompare(b.maturesAt)),
    tier: level && {
      id: level.id,
      name: level.name,
      since: tier?.since,
      reviewAt: tier?.reviewAt,
      downgrade:
        tier?.downgradeAt && tier.downgradeTo ? { to: tier.downgradeTo, at: tier.downgradeAt } : undefined,
    },
    nextTier: tierProgress(posting, program, now),
    rewards: { redeemable, notYet },
  };
};

// ---- (b) redeem a reward -----------------------------------------------------------------------

export type RedemptionResult =
  | { outcome: 'issued' | 'duplicate'; coupon: RewardCoupon; balance: number }
  | {
      outcome: 'refused';
      error: 'InsufficientPointsError' | 'RewardNotAllowedError';
      reason: string;
      pointsShort?: number | undefined;
    }
  | { outcome: 'unknown-customer' }
  | { outcome: 'erased' };

const known = (profile: CustomerProfile | undefined) =>
  !profile ? ('unknown-customer' as const) : profile.erasedAt ? ('erased' as const) : undefined;

/**
 * Buys a reward: one coupon and one debit per (customer, requestId) whatever is retried; a refusal
 * (too few points, a reward of another tier or not in the catalog) writes nothing. The
 * `points.redeemed` event goes out after the write (the account's outbox).
 */
export const redeem = async (input: RedeemInput, deps: StorefrontDeps): Promise<RedemptionResult> => {
  const profile = await deps.store.getProfile(input.customerId);
  const missing = known(profile);
  if (missing) return { outcome: missing };
  try {
    const { duplicate, balance, ...coupon } = await redeemReward(input, deps);
    await flushOutbox(input.customerId, deps);
    return { outcome: duplicate ? 'duplicate' : 'issued', coupon, balance };
  } catch (error) {
    if (error instanceof InsufficientPointsError) {
      const cost = deps.program.rewards.find((r) => r.id === input.rewardId)?.cost ?? 0;
      const now = deps.clock.now().toISOString();
      const { account } = openAccount(input.customerId, profile?.points, deps.program, now);
      return {
        outcome: 'refused',
        error: 'InsufficientPointsError',
        reason: error.message,
        pointsShort: Math.max(0, cost - Math.max(0, account.available)),
      };
    }
    if (error instanceof RewardNotAllowedError)
      return { outcome: 'refused', error: 'RewardNotAllowedError', reason: error.message };
    throw error;
  }
};

// ---- (c) coupons at checkout -------------------------------------------------------------------

export type CouponCheck =
  | { code: string; valid: false; reason: 'unknown' }
  | {
      code: string;
      valid: boolean;
      /** Why it cannot be used (absent when valid). */
      reason?: 'expired' | 'redeemed' | undefined;
      customerId: string;
      discount: RewardDiscount & { currency?: string | undefined };
      issuedAt: string;
      expiresAt: string;
      /** Where it came from: a reward bought with points, or a flow's coupon step. */
      source: { rewardId: string } | { flowId: string };
      redeemed?: { orderId: string; at: string } | undefined;
    };

/** A stored coupon's discount in one spelling (a flow's `{ percent: 10 }` is a `percentage`). */
const discountOf = (coupon: StoredCoupon, program: Program): RewardDiscount & { currency?: string } => {
  if ('rewardId' in coupon) {
    const { kind, amount, percent, sku } = coupon;
    return {
      kind,
      ...(amount !== undefined ? { amount, currency: program.currency } : {}),
      ...(percent !== undefined ? { percent } : {}),
      ...(sku !== undefined ? { sku } : {}),
    };
  }
  const d = coupon.discount;
  if ('percent' in d) return { kind: 'percentage', percent: d.percent };
  if ('amount' in d) return { kind: 'fixed_discount', amount: d.amount, currency: program.currency };
  return { kind: 'free_shipping' };
};

/** Whether a code may be used now, for whom and for what; an unknown code says nothing more. */
export const checkCoupon = async (
  code: string,
  deps: { store: CouponBook; clock: Clock; program: Program },
): Promise<CouponCheck> => {
  const coupon = await deps.store.findCoupon(code);
  if (!coupon) return { code, valid: false, reason: 'unknown' };
  const now = deps.clock.now().toISOString();
  const reason = coupon.redeemedOrderId ? 'redeemed' : coupon.expiresAt <= now ? 'expired' : undefined;
  return {
    code: coupon.code,
    valid: reason === undefined,
    ...(reason ? { reason } : {}),
    customerId: coupon.customerId,
    discount: discountOf(coupon, deps.program),
    issuedAt: coupon.issuedAt,
    expiresAt: coupon.expiresAt,
    source: 'rewardId' in coupon ? { rewardId: coupon.rewardId } : { flowId: coupon.flowId },
    ...(coupon.redeemedOrderId
      ? { redeemed: { orderId: coupon.redeemedOrderId, at: coupon.redeemedAt ?? '' } }
      : {}),
  };
};

export type CouponUse =
  | { outcome: 'applied' | 'duplicate'; code: string; customerId: string }
  /** Another order used it first; that order keeps it. */
  | { outcome: 'taken'; code: string; customerId: string; redeemedOrderId: string | undefined }
  /** Not a Rapport code (the shop's own discount codes arrive here too). */
  | { outcome: 'unknown'; code: string };

/**
 * Marks a coupon used by an order, once: a repeat of the same order changes nothing. An order is a
 * fact, so an expired code it carried is marked too: the shop accepted it.
 */
export const redeemCoupon = async (
  code: string,
  orderId: string,
  at: string,
  deps: { store: CouponBook },
): Promise<CouponUse> => {
  const coupon = await deps.store.findCoupon(code.trim().toUpperCase());
  if (!coupon) return { outcome: 'unknown', code };
  const { customerId } = coupon;
  const answer = (outcome: 'applied' | 'duplicate' | 'taken' | 'unknown', by?: string): CouponUse =>
    outcome === 'unknown'
      ? { outcome, code: coupon.code }
      : outcome === 'taken'
        ? { outcome, code: coupon.code, customerId, redeemedOrderId: by }
        : { outcome, code: coupon.code, customerId };
  if (coupon.redeemedOrderId)
    return answer(coupon.redeemedOrderId === orderId ? 'duplicate' : 'taken', coupon.redeemedOrderId);
  const outcome = await deps.store.markCouponRedeemed(customerId, coupon.code, { orderId, at });
  if (outcome !== 'taken') return answer(outcome);
  return answer(outcome, (await deps.store.findCoupon(coupon.code))?.redeemedOrderId);
};

// ---- (d) customer service's adjustments --------------------------------------------------------

export type AdjustmentResult =
  | {
      outcome: 'applied' | 'duplicate';
      entry: LedgerEntry;
      points: { available: number; pending: number; debt: number };
    }
  /** The request id was used for another adjustment: nothing written. */
  | { outcome: 'conflict'; reason: string }
  | { outcome: 'refused'; error: 'InsufficientPointsError'; reason: string }
  | { outcome: 'unknown-customer' }
  | { outcome: 'erased' };

/**
 * A reasoned, audited change of a customer's points: one `adjust` ledger entry naming why and who,
 * once per requestId. Added points expire like a fixed award; taken points follow the program's
 * negative-balance rule. Adjustments do not count towards tiers: they correct a balance, they are
 * not spend or points earned.
 */
export const adjustPoints = async (
  customerId: string,
  request: AdjustmentRequest,
  deps: PointsDeps,
): Promise<AdjustmentResult> => {
  const { store, clock, program } = deps;
  const entryId = `adjust:${request.requestId}`;
  const balances = (p: { available: number; pending: number; debt: number }) => ({
    available: p.available,
    pending: p.pending,
    debt: p.debt,
  });
  let applied: AdjustmentResult | undefined;
  try {
    const { outcome } = await withOptimisticRetry(clock, async () => {
      // The profile first, then the entry: a copy of the request that wrote in between is seen as done.
      const profile = await store.getProfile(customerId);
      const missing = known(profile);
      if (missing || !profile) {
        applied = { outcome: missing ?? 'unknown-customer' };
        return { outcome: 'applied' as const };
      }
      if (await store.getLedgerEntry(customerId, entryId)) return { outcome: 'duplicate' as const };
      const now = clock.now().toISOString();
      const posting = openAccount(customerId, profile.points, program, now);
      const { lotId, expiresAt } = lotTimes(program, now, 0);
      const { requestId: _, ...said } = request;
      adjust(
        posting,
        { ...said, entryId, eventId: entryId, at: now, lotId, expiresAt },
        program.points.negativeBalance,
      );
      const entry = posting.entries.find((e) => e.entryId === entryId);
      if (entry) applied = { outcome: 'applied', entry, points: balances(posting.account) };
      return {
        outcome: await store.writePoints(
          customerId,
          profile.version,
          pointsWrite(profile.points, posting, program),
          {
            primary: entryId,
          },
        ),
      };
    });
    if (outcome === 'applied' && applied) return applied;
  } catch (error) {
    if (error instanceof InsufficientPointsError)
      return { outcome: 'refused', error: 'InsufficientPointsError', reason: error.message };
    throw error;
  }
  // Done before (a retry, or a copy that won the race): the first answer, if it was the same request.
  const entry = await store.getLedgerEntry(customerId, entryId);
  const profile = await store.getProfile(customerId);
  if (!entry) throw new Error(`adjustment ${request.requestId} was recorded without its entry`);
  if (entry.points !== request.points || entry.reason !== request.reason)
    return {
      outcome: 'conflict',
      reason: `requestId ${request.requestId} already adjusted ${entry.points} points (${entry.reason ?? 'no reason'})`,
    };
  return {
    outcome: 'duplicate',
    entry,
    points: {
      available: profile?.pointsBalance ?? 0,
      pending: profile?.pointsPending ?? 0,
      debt: profile?.pointsDebt ?? 0,
    },
  };
};
