import { checkPublished } from '../contracts/published-events.ts';
import type { RedeemInput } from '../contracts/tasks.ts';
import {
  CouponCodeTakenError,
  InsufficientPointsError,
  NotFoundError,
  RewardNotAllowedError,
} from '../errors.ts';
import { LOYALTY_SOURCE } from '../events.ts';
import { COUPON_ATTEMPTS, couponCode } from '../journeys.ts';
import {
  type EarnInput,
  earn,
  emptyAccount,
  type LedgerEntry,
  type LoyaltyEvent,
  type PointsAccount,
  Posting,
  redeem,
} from '../loyalty/account.ts';
import { countTowardsTier, lotTimes, nextDue, settle, upgradeTier, warningsOnly } from '../loyalty/engine.ts';
import type { Clock, CustomerStore, EventPublisher, PointsWrite, RewardCoupon, Signer } from '../ports.ts';
import type { Program } from '../program.ts';
import { withOptimisticRetry } from './retry.ts';

// Every change of a points account goes through here: read the profile, settle what is due, apply
// the change in memory (domain/loyalty), write the account and its ledger entries in one
// transaction guarded by the version read. A conflict re-reads and recomputes.

export interface PointsDeps {
  store: CustomerStore;
  clock: Clock;
  program: Program;
}

/** A posting over a customer's account (new if none yet) with everything due by `now` already settled. */
export const openAccount = (
  customerId: string,
  account: PointsAccount | undefined,
  program: Program,
  now: string,
): Posting => {
  const posting = new Posting(account ?? emptyAccount(), customerId);
  settle(posting, program, now);
  return posting;
};

/** When the timer index should next bring the account up: at once while events wait to be published. */
const dueOf = (account: PointsAccount | undefined, program: Program): string | undefined =>
  account === undefined ? undefined : account.outbox.length > 0 ? '0000' : nextDue(account, program);

export const pointsWrite = (
  before: PointsAccount | undefined,
  posting: Posting,
  program: Program,
): PointsWrite => ({
  account: posting.account,
  entries: posting.entries,
  // Both sides by the same rule: the timer item moves exactly when the due time changes.
  dueBefore: dueOf(before, program),
  due: dueOf(posting.account, program),
});

/** A fixed award (sign-up, birthday, a flow's gift): available at once, expiring like any lot. */
export const fixedAward = (
  posting: Posting,
  program: Program,
  input: Omit<EarnInput, 'kind' | 'maturesAt' | 'expiresAt'>,
) => {
  const { expiresAt, lotId } = lotTimes(program, input.at, 0);
  const lot = earn(posting, { ...input, kind: 'bonus', expiresAt, lotId });
  if (lot) countTowardsTier(posting, program, input.at, { points: input.points });
  upgradeTier(posting, program, input.at);
  return lot;
};

export interface AwardNamedInput {
  customerId: string;
  entryId: string;
  points: number;
  rules: { id: string; version: number; points: number }[];
  eventId: string;
  flowId?: string | undefined;
}

/** Awards fixed points once (the entry id is the guard); a repeat returns the first award. */
export const awardFixed = async (input: AwardNamedInput, deps: PointsDeps) => {
  const { store, clock, program } = deps;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    if (await store.getLedgerEntry(input.customerId, input.entryId)) return { outcome: 'duplicate' as const };
    const profile = await store.getProfile(input.customerId);
    if (!profile) throw new NotFoundError(`customer ${input.customerId} has no record yet`);
    const now = clock.now().toISOString();
    const posting = openAccount(profile.customerId, profile.points, program, now);
    fixedAward(posting, program, { ...input, at: now });
    return {
      outcome: await store.writePoints(
        profile.customerId,
        profile.version,
        pointsWrite(profile.points, posting, program),
        {
          primary: input.entryId,
        },
      ),
    };
  });
  return { points: input.points, entryId: input.entryId, duplicate: outcome === 'duplicate' };
};

/** Settles an account that the timer index says is due: maturity, expiry, warnings, tier reviews. */
export const settleAccount = async (customerId: string, deps: PointsDeps): Promise<number> =>
  (await settleOnce(customerId, deps)).written;

/**
 * Settles a due account and publishes what it has to say (expiry warnings, tier changes) in one
 * write: the events go out first, then the account is written with its outbox empty. Each event
 * has a deterministic id, so a crash or a lost race in between repeats an event that flows
 * recognise, and loses none; a second write to empty the outbox is not needed.
 * `indexedDue` is the due time the timer index holds: when the program's timing changed since it
 * was written, the account's due time recomputed now differs, and the write moves the entry.
 */
export const settleAndPublish = async (
  customerId: string,
  deps: PointsDeps & { publisher: EventPublisher },
  indexedDue?: string,
): Promise<{ written: number; published: number }> => {
  const { written, published } = await settleOnce(customerId, deps, indexedDue, deps.publisher);
  return { written, published };
};

const settleOnce = async (
  customerId: string,
  deps: PointsDeps,
  indexedDue?: string,
  publisher?: EventPublisher,
) => {
  const { store, clock, program } = deps;
  let written = 0;
  let published = 0;
  await withOptimisticRetry(clock, async () => {
    const profile = await store.getProfile(customerId);
    if (!profile) return { outcome: 'applied' as const };
    const now = clock.now().toISOString();
    // A visit for warnings alone writes nothing down: the account with its lots marked warned.
    const light = publisher && profile.points && warningsOnly(profile.points, customerId, program, now);
    if (light && publisher) {
      if (light.events.length > 0) await publishEvents(publisher, light.events);
      published = light.events.length;
      const write: PointsWrite = {
        account: light.account,
        entries: [],
        dueBefore: indexedDue ?? dueOf(profile.points, program),
        due: dueOf(light.account, program),
      };
      if (write.due === write.dueBefore && published === 0) return { outcome: 'applied' as const };
      // Counted as one account settled: what the visit wrote down is the warnings.
      written = 1;
      return { outcome: await store.writePoints(customerId, profile.version, write) };
    }
    const posting = openAccount(profile.customerId, profile.points, program, now);
    const outbox = posting.account.outbox;
    if (publisher && outbox.length > 0) {
      await publishEvents(publisher, outbox);
      published = outbox.length;
      posting.account.outbox = [];
    }
    const write = pointsWrite(profile.points, posting, program);
    if (indexedDue !== undefined) write.dueBefore = indexedDue;
    if (
      write.entries.length === 0 &&
      write.due === write.dueBefore &&
      JSON.stringify(profile.points) === JSON.stringify(posting.account)
    )
      return { outcome: 'applied' as const };
    written = write.entries.length;
    return { outcome: await store.writePoints(customerId, profile.version, write) };
  });
  return { written, published };
};

const publishEvents = async (publisher: EventPublisher, events: readonly LoyaltyEvent[]) => {
  for (let i = 0; i < events.length; i += 10) {
    await publisher.publish(
      events.slice(i, i + 10).map((event) =>
        checkPublished({
          source: LOYALTY_SOURCE,
          detailType: event.detailType,
          time: event.time,
          detail: event.detail,
        }),
      ),
    );
  }
};

/**
 * Publishes the events an account change left in its outbox (tier changes, expiry warnings,
 * redemptions), then empties it. Each event carries a deterministic id, so a crash between the two
 * steps repeats an event that flows recognise, and loses none.
 */
export const flushOutbox = async (customerId: string, deps: PointsDeps & { publisher: EventPublisher }) => {
  const { store, clock, program, publisher } = deps;
  let published = 0;
  await withOptimisticRetry(clock, async () => {
    const profile = await store.getProfile(customerId);
    const outbox = profile?.points?.outbox ?? [];
    if (!profile || outbox.length === 0) return { outcome: 'applied' as const };
    await publishEvents(publisher, outbox);
    published = outbox.length;
    const posting = new Posting(profile.points ?? emptyAccount(), customerId);
    posting.account.outbox = [];
    return {
      outcome: await store.writePoints(
        customerId,
        profile.version,
        pointsWrite(profile.points, posting, program),
      ),
    };
  });
  return published;
};

export type { RedeemInput } from '../contracts/tasks.ts';

/**
 * Buys a reward with points: the debit and the coupon in one transaction, or nothing at all. The
 * code is signed from (customer, request), so a retry derives the same one and two customers who
 * reuse a request id get different ones; a code another coupon already holds moves on to the next.
 */
export const redeemReward = async (
  input: RedeemInput,
  deps: PointsDeps & { signer: Signer },
): Promise<RewardCoupon & { duplicate: boolean; balance: number }> => {
  const { store, clock, program } = deps;
  const reward = program.rewards.find((r) => r.id === input.rewardId);
  if (!reward)
    throw new RewardNotAllowedError(
      `reward ${input.rewardId} is not in the catalog (${program.rewards.map((r) => r.id).join(', ') || 'empty'})`,
    );
  const entryId = `redeem:${input.requestId}`;
  let coupon: RewardCoupon | undefined;
  let recordedCode: string | undefined;
  let balance = 0;
  let attempt = 0;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    // The profile first, then this request's entry: a copy of the request that wrote in between is
    // then seen as done (not as a balance too short), and one that writes later fails our version guard.
    const profile = await store.getProfile(input.customerId);
    const recorded = await store.getLedgerEntry(input.customerId, entryId);
    if (recorded) {
      // The code this request got, whichever attempt found it free.
      recordedCode = recorded.couponCode;
      return { outcome: 'duplicate' as const };
    }
    if (!profile) throw new InsufficientPointsError(`customer ${input.customerId} has no points account`);
    const now = clock.now().toISOString();
    const code = await couponCode(deps.signer, 'RWD', [input.customerId, input.requestId], attempt);
    const posting = openAccount(profile.customerId, profile.points, program, now);
    const tier = posting.account.tier?.id ?? program.tiers?.levels[0]?.id;
    if (reward.tiers && !reward.tiers.includes(tier ?? ''))
      throw new RewardNotAllowedError(
        `reward ${reward.id} is for ${reward.tiers.join(', ')} members; customer ${input.customerId} is ${tier ?? 'in no tier'}`,
      );
    redeem(posting, {
      entryId,
      cost: reward.cost,
      rewardId: reward.id,
      couponCode: code,
      eventId: input.requestId,
      at: now,
    });
    balance = posting.account.available;
    coupon = {
      customerId: input.customerId,
      code,
      rewardId: reward.id,
      requestId: input.requestId,
      kind: reward.kind,
      amount: reward.amount,
      percent: reward.percent,
      sku: reward.sku,
      cost: reward.cost,
      issuedAt: now,
      expiresAt: new Date(Date.parse(now) + reward.validDays * 86_400_000).toISOString(),
    };
    posting.account.outbox.push({
      detailType: 'points.redeemed',
      time: now,
      detail: {
        customerId: input.customerId,
        rewardId: reward.id,
        rewardName: reward.name,
        points: reward.cost,
        couponCode: code,
        balance,
        meta: { eventId: entryId },
      },
    });
    try {
      return {
        outcome: await store.writePoints(
          input.customerId,
          profile.version,
          pointsWrite(profile.points, posting, program),
          { primary: entryId, coupon },
        ),
      };
    } catch (error) {
      if (!(error instanceof CouponCodeTakenError) || ++attempt >= COUPON_ATTEMPTS) throw error;
      return { outcome: 'conflict' as const };
    }
  });
  if (outcome === 'duplicate' || !coupon) {
    // A write that lost the race to the same request learns the winner's code from its entry.
    recordedCode ??= (await store.getLedgerEntry(input.customerId, entryId))?.couponCode;
    const existing = recordedCode ? await store.getCoupon(input.customerId, recordedCode) : undefined;
    const profile = await store.getProfile(input.customerId);
    if (!existing) throw new NotFoundError(`redemption ${input.requestId} was recorded without its coupon`);
    return { ...existing, duplicate: true, balance: profile?.pointsBalance ?? 0 };
  }
  return { ...coupon, duplicate: false, balance };
};

export type { LedgerEntry };
