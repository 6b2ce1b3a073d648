import { InsufficientPointsError } from '../errors.ts';
import type { PointsPolicy } from '../program.ts';

// A customer's points account, as pure data and pure operations. Points live in lots, so expiry
// is per lot and spending takes the lots closest to expiry first. A lot is a bucket: awards that
// mature on the same local day, or expire in the same local month, share one (see `lotIdFor` in the engine), so the
// account is bounded by the days of the expiry window, never by the number of orders (decision 35).
// Every change of a balance is a ledger entry whose deltas add up to the balances: the store writes
// the new account and its entries in one transaction, guarded by the account's version.

export interface Lot {
  /** The bucket: `pending:<day it matures>`, `expires:<day it expires>` or `never` (or an entry id). */
  id: string;
  /** Everything ever put into the bucket. */
  points: number;
  remaining: number;
  status: 'pending' | 'available';
  /** The earliest award in it. */
  earnedAt: string;
  /** The latest maturity of the awards in it, so none matures early. */
  maturesAt?: string | undefined;
  /** The latest expiry of the awards in it, so none expires early. */
  expiresAt?: string | undefined;
  warned?: boolean | undefined;
}

/** A lot with points in it: the only kind that can be spent, warned of or expire. */
export const isLive = (lot: Lot): boolean => lot.remaining > 0;

/** What counts towards tiers on one local day: spend (minor units) or points, by the program's basis. */
export interface Qualifying {
  /** The local day (YYYY-MM-DD): tier windows count whole days. */
  id: string;
  amount: number;
}

export interface TierState {
  id: string;
  since: string;
  /** The next review; absent on the entry level, which cannot go lower. */
  reviewAt?: string | undefined;
  downgradeAt?: string | undefined;
  downgradeTo?: string | undefined;
}

export interface LoyaltyEvent {
  detailType: 'points.expiring' | 'customer.tier-changed' | 'points.redeemed';
  time: string;
  detail: Record<string, unknown> & { customerId: string; meta: { eventId: string } };
}

export interface PointsAccount {
  pending: number;
  available: number;
  debt: number;
  earned: number;
  redeemed: number;
  expired: number;
  reversed: number;
  forgiven: number;
  lots: Lot[];
  qualifying: Qualifying[];
  tier?: TierState | undefined;
  lastActivityAt?: string | undefined;
  /** The last order's time when the inactivity warning went out for it. */
  inactivityWarned?: string | undefined;
  day?: { date: string; points: number } | undefined;
  /** Settlements so far: numbers the batched entries each one writes, so no two share an id. */
  settlements?: number | undefined;
  /** Events written with the account and published after it: an outbox, so none is lost. */
  outbox: LoyaltyEvent[];
}

export type LedgerKind = 'earn' | 'bonus' | 'reverse' | 'mature' | 'redeem' | 'expire' | 'adjust';

export interface RuleLine {
  id: string;
  version: number;
  points: number;
}

export interface LedgerEntry {
  /** Deterministic from what caused it (`earn:order:123`), so a repeat finds the entry and does nothing. */
  entryId: string;
  customerId: string;
  kind: LedgerKind;
  /** The change of the customer's net points: pending + available − debt. */
  points: number;
  pending: number;
  available: number;
  debt: number;
  /** Points a refund could not take back and the floor policy forgave. */
  forgiven?: number | undefined;
  ruleId: string;
  ruleVersion: number;
  /** How an award was made up, rule by rule. */
  rules?: RuleLine[] | undefined;
  lotId?: string | undefined;
  /** A settlement's batch: what each lot it matured or expired gave (one entry, not one per lot). */
  lots?: { id: string; points: number }[] | undefined;
  orderId?: string | undefined;
  refundId?: string | undefined;
  rewardId?: string | undefined;
  couponCode?: string | undefined;
  flowId?: string | undefined;
  /** A customer-service adjustment: why, and who made it (kept for the audit). */
  reason?: string | undefined;
  actor?: string | undefined;
  eventId: string;
  at: string;
}

export const emptyAccount = (): PointsAccount => ({
  pending: 0,
  available: 0,
  debt: 0,
  earned: 0,
  redeemed: 0,
  expired: 0,
  reversed: 0,
  forgiven: 0,
  lots: [],
  qualifying: [],
  outbox: [],
});

// ISO instants compare as text; '~' sorts after every digit, so lots that never expire go last.
const NEVER = '~';
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A change in progress: a copy of the account and the entries that explain every difference. */
export class Posting {
  readonly account: PointsAccount;
  readonly entries: LedgerEntry[] = [];

  constructor(
    account: PointsAccount,
    readonly customerId: string,
  ) {
    this.account = structuredClone(account);
  }

  post(entry: Omit<LedgerEntry, 'customerId' | 'points'>): void {
    const a = this.account;
    a.pending += entry.pending;
    a.available += entry.available;
    a.debt += entry.debt;
    this.entries.push({
      ...entry,
      customerId: this.customerId,
      points: entry.pending + entry.available - entry.debt,
    });
  }

  /** Available lots with points left, closest to expiry first (never-expiring last), then oldest. */
  spendOrder(): Lot[] {
    return this.account.lots
      .filter((lot) => lot.status === 'available' && isLive(lot))
      .sort((x, y) => byText(x.expiresAt ?? NEVER, y.expiresAt ?? NEVER) || byText(x.earnedAt, y.earnedAt));
  }

  /** Takes up to `points` from available lots, closest to expiry first; returns what it took. */
  takeAvailable(points: number, first?: Lot): number {
    let left = points;
    for (const lot of first ? [first, ...this.spendOrder().filter((l) => l !== first)] : this.spendOrder()) {
      if (left === 0) break;
      const take = Math.min(left, lot.remaining);
      lot.remaining -= take;
      left -= take;
    }
    return points - left;
  }

  /**
   * Points becoming available: they pay debt first, and a negative balance (allow policy) absorbs
   * them before any lot holds points again. Returns the points the lot keeps.
   */
  credit(points: number): { available: number; debt: number; kept: number } {
    const a = this.account;
    const debt = Math.min(a.debt, points);
    const added = points - debt;
    const kept = Math.max(0, Math.min(added, a.available + added));
    return { available: added, debt: -debt, kept };
  }

  /** Drops lots that hold nothing and qualifying amounts of days before `keepSince` (a local day). */
  compact(keepSince?: string): void {
    const a = this.account;
    a.lots = a.lots.filter(isLive);
    if (keepSince) a.qualifying = a.qualifying.filter((q) => q.id >= keepSince && q.amount !== 0);
  }
}

export interface EarnInput {
  entryId: string;
  /** The bucket the points go into; by default a lot of their own named after the entry. */
  lotId?: string | undefined;
  kind: 'earn' | 'bonus';
  points: number;
  rules: RuleLine[];
  at: string;
  eventId: string;
  orderId?: string | undefined;
  flowId?: string | undefined;
  maturesAt?: string | undefined;
  expiresAt?: string | undefined;
}

/** Adds points to their lot (creating it): pending until `maturesAt`, else available at once. */
export const earn = (posting: Posting, input: EarnInput): Lot | undefined => {
  if (input.points <= 0) return undefined;
  const first = input.rules[0];
  const lotId = input.lotId ?? input.entryId;
  const base = {
    entryId: input.entryId,
    kind: input.kind,
    ruleId: first?.id ?? 'manual',
    ruleVersion: first?.version ?? 1,
    rules: input.rules,
    lotId,
    orderId: input.orderId,
    flowId: input.flowId,
    eventId: input.eventId,
    at: input.at,
  };
  const pending = input.maturesAt !== undefined && input.maturesAt > input.at;
  let kept = input.points;
  if (pending) {
    posting.post({ ...base, pending: input.points, available: 0, debt: 0 });
  } else {
    const credit = posting.credit(input.points);
    kept = credit.kept;
    posting.post({ ...base, pending: 0, available: credit.available, debt: credit.debt });
  }
  posting.account.earned += input.points;
  return addToLot(posting.account, {
    id: lotId,
    points: input.points,
    remaining: kept,
    status: pending ? 'pending' : 'available',
    earnedAt: input.at,
    maturesAt: pending ? input.maturesAt : undefined,
    expiresAt: input.expiresAt,
  });
};

const later = (a: string | undefined, b: string | undefined) => (a === undefined || (b ?? '') > a ? b : a);

/** Puts points into the lot of that id and status, or opens it; the merged lot keeps the latest times. */
const addToLot = (account: PointsAccount, add: Lot): Lot => {
  const lot = account.lots.find((l) => l.id === add.id && l.status === add.status);
  if (!lot) {
    account.lots.push(add);
    return add;
  }
  lot.points += add.points;
  lot.remaining += add.remaining;
  if (add.earnedAt < lot.earnedAt) lot.earnedAt = add.earnedAt;
  lot.maturesAt = later(lot.maturesAt, add.maturesAt);
  lot.expiresAt = later(lot.expiresAt, add.expiresAt);
  // Points warned of keep their warning: one reminder per month's expiry, never a second.
  if (add.warned) lot.warned = true;
  return lot;
};

/**
 * A pending lot's return window has closed: its points become available, in the lot `into` (the
 * bucket of their expiry day) or in place.
 */
export const mature = (posting: Posting, lot: Lot, eventId: string, into = lot.id): Lot => {
  const at = lot.maturesAt ?? lot.earnedAt;
  const points = lot.remaining;
  const credit = posting.credit(points);
  posting.post({
    entryId: `mature:${lot.id}`,
    kind: 'mature',
    pending: -points,
    available: credit.available,
    debt: credit.debt,
    ruleId: 'pending-window',
    ruleVersion: 1,
    lotId: lot.id,
    eventId,
    at,
  });
  if (into === lot.id) {
    lot.status = 'available';
    lot.remaining = credit.kept;
    lot.maturesAt = undefined;
    return lot;
  }
  const account = posting.account;
  account.lots = account.lots.filter((l) => l !== lot);
  return addToLot(account, {
    id: into,
    points: lot.points,
    remaining: credit.kept,
    status: 'available',
    earnedAt: lot.earnedAt,
    expiresAt: lot.expiresAt,
    warned: lot.warned,
  });
};

export const expireLot = (posting: Posting, lot: Lot, at: string, entryId: string, ruleId: string) => {
  const points = lot.remaining;
  if (points <= 0) return 0;
  lot.remaining = 0;
  posting.account.expired += points;
  posting.post({
    entryId,
    kind: 'expire',
    pending: 0,
    available: -points,
    debt: 0,
    ruleId,
    ruleVersion: 1,
    lotId: lot.id,
    eventId: entryId,
    at,
  });
  return points;
};

export interface ReverseInput {
  entryId: string;
  points: number;
  lotId?: string | undefined;
  ruleId: string;
  ruleVersion: number;
  orderId?: string | undefined;
  refundId?: string | undefined;
  eventId: string;
  at: string;
}

/**
 * Takes points back: from the order's own lot first (pending or available), then from other
 * available lots, and what is still missing follows the negative-balance policy.
 */
export const reverse = (posting: Posting, input: ReverseInput, policy: PointsPolicy['negativeBalance']) => {
  // Even a refund that takes back nothing is posted: its entry is what makes a repeat a duplicate.
  const lot = posting.account.lots.find((l) => l.id === input.lotId);
  let left = Math.max(0, input.points);
  let pending = 0;
  if (lot?.status === 'pending') {
    pending = Math.min(left, lot.remaining);
    lot.remaining -= pending;
    left -= pending;
  }
  const available = posting.takeAvailable(left, lot?.status === 'available' ? lot : undefined);
  left -= available;
  const extra = { available: 0, debt: 0, forgiven: 0 };
  if (left > 0) {
    if (policy === 'allow') extra.available = left;
    else if (policy === 'debt') extra.debt = left;
    else extra.forgiven = left;
  }
  posting.account.reversed += Math.max(0, input.points) - extra.forgiven;
  posting.account.forgiven += extra.forgiven;
  posting.post({
    entryId: input.entryId,
    kind: 'reverse',
    pending: 0 - pending || 0,
    available: 0 - (available + extra.available) || 0,
    debt: extra.debt,
    forgiven: extra.forgiven || undefined,
    ruleId: input.ruleId,
    ruleVersion: input.ruleVersion,
    lotId: input.lotId,
    orderId: input.orderId,
    refundId: input.refundId,
    eventId: input.eventId,
    at: input.at,
  });
};

export interface RedeemInput {
  entryId: string;
  cost: number;
  rewardId: string;
  couponCode: string;
  eventId: string;
  at: string;
}

/** Spends points on a reward, closest-to-expiry lots first; refuses, changing nothing, when short. */
export const redeem = (posting: Posting, input: RedeemInput): void => {
  const { available } = posting.account;
  if (available < input.cost) {
    throw new InsufficientPointsError(
      `reward ${input.rewardId} costs ${input.cost} points and customer ${posting.customerId} has ${Math.max(0, available)} available`,
    );
  }
  posting.takeAvailable(input.cost);
  posting.account.redeemed += input.cost;
  posting.post({
    entryId: input.entryId,
    kind: 'redeem',
    pending: 0,
    available: -input.cost,
    debt: 0,
    ruleId: `reward:${input.rewardId}`,
    ruleVersion: 1,
    rewardId: input.rewardId,
    couponCode: input.couponCode,
    eventId: input.eventId,
    at: input.at,
  });
};

export interface AdjustInput {
  entryId: string;
  /** Added (positive) or taken (negative). */
  points: number;
  reason: string;
  actor: string;
  eventId: string;
  at: string;
  /** Where added points go: the bucket and expiry of a fixed award made now. */
  lotId: string;
  expiresAt?: string | undefined;
}

/**
 * A customer-service correction. Added points pay debt first and go into a lot like a fixed award;
 * taken points come from available lots, closest to expiry first, and what the lots cannot give
 * follows the negative-balance policy: `allow` goes below zero, `debt` is owed, and `floor` refuses,
 * changing nothing (forgiving it, as a refund's floor does, would post less than the agent asked).
 */
export const adjust = (posting: Posting, input: AdjustInput, policy: PointsPolicy['negativeBalance']) => {
  const base = {
    entryId: input.entryId,
    kind: 'adjust' as const,
    ruleId: 'customer-service',
    ruleVersion: 1,
    reason: input.reason,
    actor: input.actor,
    eventId: input.eventId,
    at: input.at,
  };
  if (input.points > 0) {
    const credit = posting.credit(input.points);
    posting.post({ ...base, lotId: input.lotId, pending: 0, available: credit.available, debt: credit.debt });
    addToLot(posting.account, {
      id: input.lotId,
      points: input.points,
      remaining: credit.kept,
      status: 'available',
      earnedAt: input.at,
      expiresAt: input.expiresAt,
    });
    return;
  }
  const wanted = -input.points;
  const { available } = posting.account;
  if (policy === 'floor' && available < wanted)
    throw new InsufficientPointsError(
      `taking ${wanted} points would leave customer ${posting.customerId} below zero (${Math.max(0, available)} available) and the program's negativeBalance is floor`,
    );
  const taken = posting.takeAvailable(wanted);
  const left = wanted - taken;
  posting.post({
    ...base,
    pending: 0,
    available: -(taken + (policy === 'allow' ? left : 0)),
    debt: policy === 'debt' ? left : 0,
  });
};

/**
 * The account as a clock sees it at `now`: pending lots that matured are available, lots that
 * expired are gone. Settlements write this down in batches; until one does, whoever shows a
 * balance (an email, a flow's condition, a report) derives it here (decision 35).
 */
export const accountAt = (account: PointsAccount, customerId: string, now: string): PointsAccount => {
  const posting = new Posting(account, customerId);
  for (;;) {
    const due = posting.account.lots
      .flatMap((lot) => [
        ...(lot.status === 'pending' && lot.maturesAt && lot.maturesAt <= now
          ? [{ at: lot.maturesAt, run: () => mature(posting, lot, 'derived') }]
          : []),
        ...(lot.status === 'available' && isLive(lot) && lot.expiresAt && lot.expiresAt <= now
          ? [{ at: lot.expiresAt, run: () => expireLot(posting, lot, now, 'derived', 'lot-expiry') }]
          : []),
      ])
      .sort((a, b) => byText(a.at, b.at))[0];
    if (!due) return posting.account;
    due.run();
  }
};

/** Balances as the sum of entries, and lots that hold exactly the balances: what reconcile checks. */
export const accountProblems = (account: PointsAccount, entries: readonly LedgerEntry[]): string[] => {
  const problems: string[] = [];
  const sum = { pending: 0, available: 0, debt: 0 };
  for (const entry of entries) {
    sum.pending += entry.pending;
    sum.available += entry.available;
    sum.debt += entry.debt;
    if (entry.points !== entry.pending + entry.available - entry.debt)
      problems.push(`entry ${entry.entryId}: points ${entry.points} is not pending + available − debt`);
  }
  for (const field of ['pending', 'available', 'debt'] as const) {
    if (sum[field] !== account[field])
      problems.push(`${field} is ${account[field]} but its ledger entries add up to ${sum[field]}`);
  }
  const lots = (status: Lot['status']) =>
    account.lots.filter((l) => l.status === status).reduce((total, l) => total + l.remaining, 0);
  if (lots('pending') !== account.pending)
    problems.push(`pending lots hold ${lots('pending')} but pending is ${account.pending}`);
  if (lots('available') !== Math.max(0, account.available))
    problems.push(`available lots hold ${lots('available')} but available is ${account.available}`);
  if (account.pending < 0) problems.push(`pending is negative (${account.pending})`);
  if (account.debt < 0) problems.push(`debt is negative (${account.debt})`);
  if (account.lots.some((l) => l.remaining < 0 || l.remaining > l.points))
    problems.push('a lot holds less than nothing or more than it was given');
  return problems;
};
