import { localParts, nextAnnualDate } from '../local-time.ts';
import { fractionDigits } from '../money.ts';
import { pointsForAmount } from '../points.ts';
import type { Program, TierLevel } from '../program.ts';
import {
  accountAt,
  expireLot,
  isLive,
  type LedgerEntry,
  type LoyaltyEvent,
  mature,
  type PointsAccount,
  Posting,
  type RuleLine,
} from './account.ts';

// The program's rules over an account: what an order earns, what falls due with time (pending
// points maturing, lots expiring, warnings, tier reviews) and when the account next needs a look.

const DAY_MS = 86_400_000;
const plusDays = (at: string, days: number) => new Date(Date.parse(at) + days * DAY_MS).toISOString();
/** The local date (YYYY-MM-DD) of an instant: campaign days and the per-day cap. */
export const localDate = (at: string, timeZone: string): string => {
  const p = localParts(new Date(at), timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
};

export interface OrderForPoints {
  totalMinor: number;
  currency: string;
  placedAt: string;
  items: readonly { sku: string; category?: string | undefined; quantity: number; unitPrice: number }[];
}

export const tierLevel = (program: Program, tierId: string | undefined): TierLevel | undefined =>
  program.tiers?.levels.find((l) => l.id === tierId) ?? program.tiers?.levels[0];

/**
 * An order's points, rule by rule: the base rule on the order total (rounded once), the tier's
 * and every running campaign's multiplier on the base, bonuses on matching items, then the caps.
 */
export const pointsForOrderPlaced = (
  order: OrderForPoints,
  program: Program,
  context: { tierId?: string | undefined; earnedToday: number },
): { points: number; rules: RuleLine[] } => {
  const { earn } = program;
  const base = pointsForAmount(order.totalMinor, order.currency, earn);
  const lines: RuleLine[] = [{ id: earn.id, version: earn.version, points: base }];
  const level = tierLevel(program, context.tierId);
  if (level && level.multiplier > 1)
    lines.push({
      id: `tier-${level.id}`,
      version: 1,
      points: Math.floor(base * (level.multiplier - 1) + 1e-9),
    });
  const day = localDate(order.placedAt, program.timeZone);
  for (const campaign of program.campaigns) {
    if (day < campaign.starts || day > campaign.ends) continue;
    lines.push({
      id: campaign.id,
      version: campaign.version,
      points: Math.floor(base * (campaign.multiplier - 1) + 1e-9),
    });
  }
  const scale = 10 ** fractionDigits(order.currency);
  for (const bonus of program.bonuses) {
    let points = 0;
    for (const item of order.items) {
      const hit =
        (item.category !== undefined && bonus.categories?.includes(item.category)) ||
        bonus.skus?.includes(item.sku);
      if (!hit) continue;
      if (bonus.pointsPerUnit !== undefined) points += bonus.pointsPerUnit * item.quantity;
      else {
        const itemBase = pointsForAmount(
          Math.round(item.unitPrice * scale) * item.quantity,
          order.currency,
          earn,
        );
        points += Math.floor(itemBase * ((bonus.multiplier ?? 1) - 1) + 1e-9);
      }
    }
    if (points > 0) lines.push({ id: bonus.id, version: bonus.version, points });
  }
  let total = lines.reduce((sum, l) => sum + l.points, 0);
  const caps = earn.caps;
  const capped = Math.max(
    0,
    Math.min(total, caps?.perOrder ?? total, (caps?.perDay ?? Infinity) - context.earnedToday),
  );
  if (capped < total) {
    lines.push({ id: `${earn.id}-cap`, version: earn.version, points: capped - total });
    total = capped;
  }
  return { points: total, rules: lines.filter((l) => l.points !== 0) };
};

/** Points a refund takes back: the awarded points shrink in proportion to what is left of the order, telescoping. */
export const pointsToTakeBack = (
  order: { totalMinor: number; refundedMinor: number; pointsAwarded: number; pointsReversed: number },
  refundMinor: number,
): number => {
  if (order.pointsAwarded <= 0 || order.totalMinor <= 0) return 0;
  const netNow = order.pointsAwarded - order.pointsReversed;
  const leftAfter = order.totalMinor - order.refundedMinor - refundMinor;
  const netAfter = Math.floor((order.pointsAwarded * leftAfter) / order.totalMinor + 1e-9);
  return Math.max(0, Math.min(netNow, netNow - netAfter));
};

/** When an award's points mature and expire, and the lot (bucket) they go into. */
export const lotTimes = (program: Program, at: string, pendingDays = program.points.pendingDays) => {
  const { expiry } = program.points;
  const availableAt = plusDays(at, pendingDays);
  const times = {
    maturesAt: pendingDays > 0 ? availableAt : undefined,
    expiresAt: expiry.afterDays !== undefined ? plusDays(availableAt, expiry.afterDays) : undefined,
  };
  return { ...times, lotId: lotIdFor(program, times) };
};

/**
 * The one bucket for points with these times: pending points by the local day they mature (the
 * return window is short and must close on time), available ones by the local month they expire,
 * at the latest expiry in it (no point expires early; some live up to a month longer). The
 * account then holds at most a lot per day of the return window and one per month of the expiry
 * window, whatever the number of orders (decision 35).
 */
export const lotIdFor = (
  program: Program,
  times: { maturesAt?: string | undefined; expiresAt?: string | undefined },
): string =>
  times.maturesAt
    ? `pending:${localDate(times.maturesAt, program.timeZone)}`
    : times.expiresAt
      ? `expires:${localDate(times.expiresAt, program.timeZone).slice(0, 7)}`
      : 'never';

/**
 * What counts towards tiers, in one place: on a spend basis an order's total (less refunds), on a
 * points basis points as they become available (less what refunds take back). One amount per
 * local day, so the window holds at most a day per day whatever the number of orders.
 */
export const countTowardsTier = (
  posting: Posting,
  program: Program,
  at: string,
  amounts: { spendMinor?: number; points?: number },
): void => {
  const basis = program.tiers?.basis;
  const amount = basis === 'spend' ? amounts.spendMinor : basis === 'points' ? amounts.points : undefined;
  if (!amount) return;
  const id = localDate(at, program.timeZone);
  const qualifying = posting.account.qualifying;
  const day = qualifying.find((q) => q.id === id);
  if (day) day.amount = Math.max(0, day.amount + amount);
  else if (amount > 0) qualifying.push({ id, amount });
};

/** Where the tier window starts for a decision at `at`. Calendar years are local to the program. */
const windowStart = (program: Program, at: string, review = false): string => {
  const tiers = program.tiers;
  if (!tiers) return at;
  if ('rollingDays' in tiers.window) return plusDays(at, -tiers.window.rollingDays);
  // At a review, the year just ended is judged; otherwise the year so far.
  const instant = review ? new Date(Date.parse(at) - 1) : new Date(at);
  const { year } = localParts(instant, program.timeZone);
  return nextAnnualDate(
    new Date(Date.UTC(year - 1, 11, 30)),
    program.timeZone,
    '01-01',
    '00:00',
  ).toISOString();
};

/**
 * What counts in the tier window for a decision at `at`, by whole local days: the window's first
 * day up to `at`'s day, or at a review the days before the review day (the period just ended).
 */
export const qualifyingAt = (posting: Posting, program: Program, at: string, review = false): number => {
  const from = localDate(windowStart(program, at, review), program.timeZone);
  const to = localDate(at, program.timeZone);
  return posting.account.qualifying
    .filter((q) => q.id >= from && (review ? q.id < to : q.id <= to))
    .reduce((sum, q) => sum + q.amount, 0);
};

export const thresholdUnits = (program: Program, value: number) =>
  program.tiers?.basis === 'spend' ? Math.round(value * 10 ** fractionDigits(program.currency)) : value;

const tierEvent = (
  customerId: string,
  from: string,
  to: string,
  at: string,
  reason: string,
): LoyaltyEvent => ({
  detailType: 'customer.tier-changed',
  time: at,
  detail: {
    customerId,
    from,
    to,
    direction: reason === 'review' ? 'down' : 'up',
    reason,
    at,
    meta: { eventId: `tier:${customerId}:${at}:${to}` },
  },
});

const nextReview = (program: Program, after: string): string | undefined =>
  program.tiers
    ? nextAnnualDate(new Date(after), program.timeZone, program.tiers.reviewOn, '00:00').toISOString()
    : undefined;

/** Upgrades at once when a threshold is crossed; a downgrade waiting out its grace is called off. */
export const upgradeTier = (posting: Posting, program: Program, at: string): void => {
  const tiers = program.tiers;
  if (!tiers) return;
  const account = posting.account;
  const levels = tiers.levels;
  const currentIndex = Math.max(
    0,
    levels.findIndex((l) => l.id === account.tier?.id),
  );
  const current = levels[currentIndex] as TierLevel;
  const q = qualifyingAt(posting, program, at);
  let best = currentIndex;
  levels.forEach((level, i) => {
    if (i > best && q >= thresholdUnits(program, level.entry)) best = i;
  });
  if (best > currentIndex) {
    const to = levels[best] as TierLevel;
    account.tier = { id: to.id, since: at, reviewAt: nextReview(program, at) };
    account.outbox.push(tierEvent(posting.customerId, current.id, to.id, at, 'threshold'));
  } else if (account.tier?.downgradeAt && q >= thresholdUnits(program, current.retain ?? current.entry)) {
    account.tier = { ...account.tier, downgradeAt: undefined, downgradeTo: undefined };
  }
};

/** At a review date: keep the highest level (not above today's) whose retain threshold is met, after the grace period. */
const reviewTier = (posting: Posting, program: Program, reviewAt: string): void => {
  const tiers = program.tiers;
  const account = posting.account;
  if (!tiers || !account.tier) return;
  const levels = tiers.levels;
  const currentIndex = Math.max(
    0,
    levels.findIndex((l) => l.id === account.tier?.id),
  );
  const q = qualifyingAt(posting, program, reviewAt, true);
  let keep = 0;
  levels.forEach((level, i) => {
    if (i <= currentIndex && q >= thresholdUnits(program, level.retain ?? level.entry)) keep = i;
  });
  account.tier = { ...account.tier, reviewAt: nextReview(program, reviewAt) };
  if (keep < currentIndex) {
    account.tier.downgradeAt = plusDays(reviewAt, tiers.graceDays);
    account.tier.downgradeTo = (levels[keep] as TierLevel).id;
  }
};

const downgradeTier = (posting: Posting, program: Program): void => {
  const account = posting.account;
  const tier = account.tier;
  if (!tier?.downgradeAt || !tier.downgradeTo) return;
  const at = tier.downgradeAt;
  account.tier = {
    id: tier.downgradeTo,
    since: at,
    reviewAt: program.tiers?.levels[0]?.id === tier.downgradeTo ? undefined : nextReview(program, at),
  };
  account.outbox.push(tierEvent(posting.customerId, tier.id, tier.downgradeTo, at, 'review'));
};

/**
 * Everything due by `now`, in time order: pending lots mature, lots expire (per lot, or all after
 * inactivity), warnings go out before expiry, tier reviews and downgrades happen. The entries are
 * then batched: one per kind of change per settlement, listing its lots (decision 35).
 */
export const settle = (posting: Posting, program: Program, now: string): void => {
  const account = posting.account;
  const { expiry } = program.points;
  const start = posting.entries.length;
  type Due = { at: string; run: () => void };
  // Each round takes the earliest due thing; a lot matures, then expires, at most once each.
  for (let guard = 0; guard < 4 * account.lots.length + 100; guard++) {
    const due: Due[] = [];
    for (const lot of account.lots) {
      if (lot.status === 'pending' && lot.maturesAt && lot.maturesAt <= now)
        due.push({
          at: lot.maturesAt,
          run: () => {
            const at = lot.maturesAt ?? now;
            const points = lot.remaining;
            mature(posting, lot, `mature:${lot.id}`, lotIdFor(program, { expiresAt: lot.expiresAt }));
            countTowardsTier(posting, program, at, { points });
          },
        });
      if (lot.status === 'available' && isLive(lot) && lot.expiresAt && lot.expiresAt <= now)
        due.push({
          at: lot.expiresAt,
          run: () => expireLot(posting, lot, lot.expiresAt ?? now, `expire:${lot.id}`, 'lot-expiry'),
        });
    }
    const inactiveAt =
      expiry.inactiveDays && account.lastActivityAt && account.available > 0
        ? plusDays(account.lastActivityAt, expiry.inactiveDays)
        : undefined;
    if (inactiveAt && inactiveAt <= now)
      due.push({
        at: inactiveAt,
        run: () => {
          for (const lot of posting.spendOrder())
            expireLot(
              posting,
              lot,
              inactiveAt,
              `expire:inactive:${account.lastActivityAt}:${lot.id}`,
              'inactivity-expiry',
            );
        },
      });
    if (account.tier?.downgradeAt && account.tier.downgradeAt <= now)
      due.push({ at: account.tier.downgradeAt, run: () => downgradeTier(posting, program) });
    else if (account.tier?.reviewAt && account.tier.reviewAt <= now) {
      const reviewAt = account.tier.reviewAt;
      due.push({ at: reviewAt, run: () => reviewTier(posting, program, reviewAt) });
    }
    if (due.length === 0) break;
    due.sort((a, b) => a.at.localeCompare(b.at));
    const first = due[0] as Due;
    first.run();
    upgradeTier(posting, program, first.at);
  }
  batchEntries(posting, start);
  warnExpiring(posting, program, now);
  posting.compact(qualifyingKeepSince(program, now));
};

/**
 * One ledger entry per rule for everything a settlement did from entry `start` on: the deltas add
 * up exactly, the lots are listed, and the settlement's number makes the id unique (a bucket of a
 * day can mature again when a late order for that day arrives, so a lot id would not be).
 */
const batchEntries = (posting: Posting, start: number): void => {
  const made = posting.entries.splice(start);
  if (made.length === 0) return;
  const account = posting.account;
  const n = (account.settlements ?? 0) + 1;
  account.settlements = n;
  const byRule = new Map<string, LedgerEntry[]>();
  for (const entry of made) byRule.set(entry.ruleId, [...(byRule.get(entry.ruleId) ?? []), entry]);
  for (const [ruleId, entries] of byRule) {
    const first = entries[0] as LedgerEntry;
    const sum = (field: 'pending' | 'available' | 'debt' | 'points') =>
      entries.reduce((total, e) => total + e[field], 0);
    // What each lot gave: the points that matured out of it, or that expired from it.
    const lots = new Map<string, number>();
    for (const e of entries)
      if (e.lotId)
        lots.set(e.lotId, (lots.get(e.lotId) ?? 0) - (e.kind === 'mature' ? e.pending : e.available));
    const entryId = `settle:${n}:${ruleId}`;
    posting.entries.push({
      entryId,
      customerId: first.customerId,
      kind: first.kind,
      points: sum('points'),
      pending: sum('pending'),
      available: sum('available'),
      debt: sum('debt'),
      ruleId,
      ruleVersion: first.ruleVersion,
      lots: [...lots].map(([id, points]) => ({ id, points })),
      eventId: entryId,
      at:
        entries
          .map((e) => e.at)
          .sort()
          .at(-1) ?? first.at,
    });
  }
};

/** The first local day any tier window can still reach: older days are dropped. */
const qualifyingKeepSince = (program: Program, now: string): string => {
  const tiers = program.tiers;
  const days = !tiers ? 0 : ('rollingDays' in tiers.window ? tiers.window.rollingDays : 400) + 1;
  return localDate(plusDays(now, -days), program.timeZone);
};

/** One `points.expiring` per expiry date, `warnDaysBefore` days ahead, once per lot. */
const warnExpiring = (posting: Posting, program: Program, now: string): void => {
  const { expiry } = program.points;
  if (!expiry.warnDaysBefore) return;
  const account = posting.account;
  const byDate = new Map<string, number>();
  for (const lot of account.lots) {
    if (lot.status !== 'available' || !isLive(lot) || !lot.expiresAt || lot.warned) continue;
    if (plusDays(lot.expiresAt, -expiry.warnDaysBefore) > now) continue;
    lot.warned = true;
    const date = lot.expiresAt.slice(0, 10);
    byDate.set(date, (byDate.get(date) ?? 0) + lot.remaining);
  }
  const inactiveAt =
    expiry.inactiveDays && account.lastActivityAt && account.available > 0
      ? plusDays(account.lastActivityAt, expiry.inactiveDays)
      : undefined;
  if (
    inactiveAt &&
    account.inactivityWarned !== account.lastActivityAt &&
    plusDays(inactiveAt, -expiry.warnDaysBefore) <= now
  ) {
    account.inactivityWarned = account.lastActivityAt;
    byDate.set(inactiveAt.slice(0, 10), account.available);
  }
  for (const [date, points] of byDate) {
    account.outbox.push({
      detailType: 'points.expiring',
      time: now,
      detail: {
        customerId: posting.customerId,
        points,
        expiresOn: date,
        balance: account.available,
        meta: { eventId: `expiring:${posting.customerId}:${date}` },
      },
    });
  }
};

/**
 * A visit for expiry warnings alone, which needs no settlement: the warnings as the account stands
 * now (derived, as any read), and the stored account with only those lots marked warned. Nothing
 * is written down, so the write is the account alone, with no ledger entry (decision 35).
 * Undefined when anything else is due by now (a tier review, expiry after inactivity, maturity on
 * a points basis, events waiting): that takes a settlement.
 */
export const warningsOnly = (
  account: PointsAccount,
  customerId: string,
  program: Program,
  now: string,
): { account: PointsAccount; events: LoyaltyEvent[] } | undefined => {
  const { expiry } = program.points;
  const tier = account.tier;
  if ((tier?.downgradeAt && tier.downgradeAt <= now) || (tier?.reviewAt && tier.reviewAt <= now))
    return undefined;
  if (account.outbox.length > 0) return undefined;
  if (
    program.tiers?.basis === 'points' &&
    account.lots.some((l) => l.status === 'pending' && l.maturesAt && l.maturesAt <= now)
  )
    return undefined;
  if (
    expiry.inactiveDays &&
    account.lastActivityAt &&
    plusDays(account.lastActivityAt, expiry.inactiveDays - (expiry.warnDaysBefore ?? 0)) <= now
  )
    return undefined;
  const view = new Posting(accountAt(account, customerId, now), customerId);
  warnExpiring(view, program, now);
  const warned = new Set(view.account.lots.filter((l) => l.warned).map((l) => l.id));
  const marked = structuredClone(account);
  for (const lot of marked.lots) if (warned.has(lot.id)) lot.warned = true;
  return { account: marked, events: view.account.outbox };
};

/**
 * The next time this account needs a settlement, or undefined if nothing is ever due: only what a
 * read cannot derive. Warnings and tier reviews publish events; inactivity expiry and, on a points
 * basis, maturity (which moves tiers) follow program rules. Maturity and lot expiry otherwise
 * need no visit: `accountAt` derives them and the next settlement writes them down (decision 35).
 */
export const nextDue = (account: PointsAccount, program: Program): string | undefined => {
  const { expiry } = program.points;
  const times: string[] = [];
  const maturityMovesTiers = program.tiers?.basis === 'points';
  for (const lot of account.lots) {
    if (maturityMovesTiers && lot.status === 'pending' && lot.maturesAt) times.push(lot.maturesAt);
    if (isLive(lot) && lot.expiresAt && expiry.warnDaysBefore && !lot.warned)
      times.push(plusDays(lot.expiresAt, -expiry.warnDaysBefore));
  }
  if (expiry.inactiveDays && account.lastActivityAt && account.available > 0) {
    const at = plusDays(account.lastActivityAt, expiry.inactiveDays);
    times.push(at);
    if (expiry.warnDaysBefore && account.inactivityWarned !== account.lastActivityAt)
      times.push(plusDays(at, -expiry.warnDaysBefore));
  }
  if (account.tier?.downgradeAt) times.push(account.tier.downgradeAt);
  if (account.tier?.reviewAt) times.push(account.tier.reviewAt);
  return times.sort()[0];
};

/**
 * The program rules nextDue reads (lot and tier times are stored on the account): when this
 * changes, due times on the timer index may be late, and the sweeper re-checks them.
 */
export const dueRulesFingerprint = (program: Program): string =>
  JSON.stringify([program.points.expiry, program.tiers?.basis ?? null]);
