import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { profileAsOf } from '../../domain/customer.ts';
import { InsufficientPointsError, RewardNotAllowedError } from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import {
  accountProblems,
  type EarnInput,
  earn,
  emptyAccount,
  type LedgerEntry,
  mature,
  Posting,
  redeem,
  reverse,
} from '../../domain/loyalty/account.ts';
import { type OrderForPoints, pointsForOrderPlaced, pointsToTakeBack } from '../../domain/loyalty/engine.ts';
import type { Clock, PublishedEvent } from '../../domain/ports.ts';
import type { Program } from '../../domain/program.ts';
import { flushOutbox, redeemReward, settleAccount, settleAndPublish } from '../../domain/use-cases/points.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemoryCustomerStore, testSigner } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram, testProgram } from '../support/program.ts';

const tiers = {
  basis: 'spend',
  window: { rollingDays: 365 },
  reviewOn: '01-01',
  graceDays: 30,
  levels: [
    { id: 'member', name: 'Member', entry: 0 },
    { id: 'silver', name: 'Silver', entry: 250, retain: 200, multiplier: 1.25 },
    { id: 'gold', name: 'Gold', entry: 750, retain: 600, multiplier: 1.5 },
  ],
};

const fixtureItems = [
  { sku: 'BOOK-1', category: 'books', quantity: 1, unitPrice: 30 },
  { sku: 'PEN-7', category: 'stationery', quantity: 1, unitPrice: 12.99 },
];

const order = (changes: Partial<OrderForPoints> = {}): OrderForPoints => ({
  totalMinor: 4299,
  currency: 'USD',
  placedAt: '2026-11-20T10:15:00Z',
  items: fixtureItems,
  ...changes,
});

const blackFriday = {
  id: 'black-friday',
  version: 2,
  name: 'Black Friday',
  starts: '2026-11-27',
  ends: '2026-11-30',
  multiplier: 2,
};

const itemBonuses = [
  { id: 'books-double', version: 3, categories: ['books'], multiplier: 2 },
  { id: 'pen-club', version: 1, skus: ['PEN-7'], pointsPerUnit: 5 },
];

describe('what an order earns, rule by rule', () => {
  it('floors the base points once per order', () => {
    expect(pointsForOrderPlaced(order({ totalMinor: 4299 }), testProgram, { earnedToday: 0 })).toEqual({
      points: 42,
      rules: [{ id: 'base-earn', version: 1, points: 42 }],
    });
    expect(pointsForOrderPlaced(order({ totalMinor: 99 }), testProgram, { earnedToday: 0 })).toEqual({
      points: 0,
      rules: [],
    });
  });

  it('gives a gold member half the base again, floored, on a line of its own', () => {
    const program = loyaltyProgram({ tiers });

    const gold = pointsForOrderPlaced(order({ totalMinor: 4399 }), program, {
      tierId: 'gold',
      earnedToday: 0,
    });
    const member = pointsForOrderPlaced(order({ totalMinor: 4399 }), program, {
      tierId: 'member',
      earnedToday: 0,
    });

    expect(gold).toEqual({
      points: 64,
      rules: [
        { id: 'base-earn', version: 1, points: 43 },
        { id: 'tier-gold', version: 1, points: 21 },
      ],
    });
    expect(member).toEqual({ points: 43, rules: [{ id: 'base-earn', version: 1, points: 43 }] });
  });

  it('runs a campaign on its local dates, both included, in the program time zone', () => {
    const program = loyaltyProgram({ timeZone: 'America/New_York', campaigns: [blackFriday] });
    const earned = (placedAt: string) =>
      pointsForOrderPlaced(order({ placedAt }), program, { earnedToday: 0 });

    // New York is five hours behind UTC in late November.
    expect(earned('2026-11-27T04:59:00Z').points).toBe(42);
    expect(earned('2026-11-27T05:00:00Z')).toEqual({
      points: 84,
      rules: [
        { id: 'base-earn', version: 1, points: 42 },
        { id: 'black-friday', version: 2, points: 42 },
      ],
    });
    expect(earned('2026-12-01T04:59:00Z').points).toBe(84);
    expect(earned('2026-12-01T05:00:00Z')).toEqual({
      points: 42,
      rules: [{ id: 'base-earn', version: 1, points: 42 }],
    });
  });

  it('adds a category multiplier on matching items and points per unit of a matching sku', () => {
    const program = loyaltyProgram({ bonuses: itemBonuses });
    const items = [
      { sku: 'BOOK-1', category: 'books', quantity: 2, unitPrice: 30 },
      { sku: 'PEN-7', category: 'stationery', quantity: 3, unitPrice: 12.99 },
      { sku: 'MUG-2', category: 'kitchen', quantity: 1, unitPrice: 10 },
    ];

    const award = pointsForOrderPlaced(order({ totalMinor: 10897, items }), program, { earnedToday: 0 });

    expect(award).toEqual({
      points: 183,
      rules: [
        { id: 'base-earn', version: 1, points: 108 },
        { id: 'books-double', version: 3, points: 60 },
        { id: 'pen-club', version: 1, points: 15 },
      ],
    });
  });

  it('caps one order, taking the excess back on a line of its own', () => {
    const program = loyaltyProgram({ earn: { ...testProgram.earn, caps: { perOrder: 50 } } });

    expect(pointsForOrderPlaced(order({ totalMinor: 8500 }), program, { earnedToday: 0 })).toEqual({
      points: 50,
      rules: [
        { id: 'base-earn', version: 1, points: 85 },
        { id: 'base-earn-cap', version: 1, points: -35 },
      ],
    });
  });

  it('caps one day by what the customer has already earned that day', () => {
    const program = loyaltyProgram({ earn: { ...testProgram.earn, caps: { perDay: 100 } } });

    expect(pointsForOrderPlaced(order(), program, { earnedToday: 0 }).points).toBe(42);
    expect(pointsForOrderPlaced(order(), program, { earnedToday: 80 })).toEqual({
      points: 20,
      rules: [
        { id: 'base-earn', version: 1, points: 42 },
        { id: 'base-earn-cap', version: 1, points: -22 },
      ],
    });
    expect(pointsForOrderPlaced(order(), program, { earnedToday: 100 })).toEqual({
      points: 0,
      rules: [
        { id: 'base-earn', version: 1, points: 42 },
        { id: 'base-earn-cap', version: 1, points: -42 },
      ],
    });
  });

  it('names every rule and its version on each line, and the lines add up to the award', () => {
    const program = loyaltyProgram({
      timeZone: 'America/New_York',
      earn: { ...testProgram.earn, version: 4, caps: { perOrder: 100 } },
      tiers,
      campaigns: [blackFriday],
      bonuses: itemBonuses,
    });

    const award = pointsForOrderPlaced(order({ placedAt: '2026-11-28T15:00:00Z' }), program, {
      tierId: 'gold',
      earnedToday: 0,
    });

    expect(award.rules).toEqual([
      { id: 'base-earn', version: 4, points: 42 },
      { id: 'tier-gold', version: 1, points: 21 },
      { id: 'black-friday', version: 2, points: 42 },
      { id: 'books-double', version: 3, points: 30 },
      { id: 'pen-club', version: 1, points: 5 },
      { id: 'base-earn-cap', version: 4, points: -40 },
    ]);
    expect(award.points).toBe(100);
    expect(award.rules.reduce((sum, line) => sum + line.points, 0)).toBe(award.points);
  });
});

describe('what a refund takes back', () => {
  const awarded = { totalMinor: 4299, refundedMinor: 0, pointsAwarded: 42, pointsReversed: 0 };

  it('takes back points in proportion to the amount refunded', () => {
    // 42 × 3000 / 4299 = 29.3…: 29 points stay with the 30.00 left.
    expect(pointsToTakeBack(awarded, 1299)).toBe(13);
    expect(pointsToTakeBack({ ...awarded, refundedMinor: 1299, pointsReversed: 13 }, 3000)).toBe(29);
  });

  it('gives back exactly the points awarded, however the order is refunded in pieces', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 12 }),
        (totalMinor, pointsAwarded, weights) => {
          // Split the total into pieces in proportion to the weights; the last piece takes the rest.
          const sum = weights.reduce((a, b) => a + b, 0);
          const pieces = weights.map((w) => Math.floor((totalMinor * w) / sum));
          pieces[pieces.length - 1] = totalMinor - pieces.slice(0, -1).reduce((a, b) => a + b, 0);
          let state = { totalMinor, refundedMinor: 0, pointsAwarded, pointsReversed: 0 };
          for (const piece of pieces) {
            const back = pointsToTakeBack(state, piece);
            expect(back).toBeGreaterThanOrEqual(0);
            expect(back).toBeLessThanOrEqual(state.pointsAwarded - state.pointsReversed);
            state = {
              ...state,
              refundedMinor: state.refundedMinor + piece,
              pointsReversed: state.pointsReversed + back,
            };
          }
          expect(state.pointsReversed).toBe(pointsAwarded);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never takes back more than the order still holds', () => {
    expect(pointsToTakeBack({ ...awarded, pointsReversed: 40 }, 4299)).toBe(2);
    expect(pointsToTakeBack({ ...awarded, pointsReversed: 42 }, 1000)).toBe(0);
    expect(pointsToTakeBack(awarded, 10_000)).toBe(42);
    expect(pointsToTakeBack({ ...awarded, pointsAwarded: 0 }, 4299)).toBe(0);
  });
});

describe('a points account, lot by lot', () => {
  const lotInput = (entryId: string, points: number, changes: Partial<EarnInput> = {}): EarnInput => ({
    entryId,
    kind: 'earn',
    points,
    rules: [{ id: 'base-earn', version: 1, points }],
    at: '2026-01-01T00:00:00.000Z',
    eventId: entryId,
    ...changes,
  });
  const reward = (entryId: string, cost: number) => ({
    entryId,
    cost,
    rewardId: 'five-off',
    couponCode: `RWD-${entryId}`,
    eventId: entryId,
    at: '2026-02-01T00:00:00.000Z',
  });
  const refundOf = (points: number) => ({
    entryId: 'reverse:refund:r-1',
    points,
    lotId: 'earn:order:o-1',
    ruleId: 'base-earn',
    ruleVersion: 1,
    orderId: 'o-1',
    refundId: 'r-1',
    eventId: 'e-r-1',
    at: '2026-02-02T00:00:00.000Z',
  });
  const problems = (posting: Posting, earlier: readonly LedgerEntry[] = []) =>
    accountProblems(posting.account, [...earlier, ...posting.entries]);

  it('keeps pending points out of reach until they mature', () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    const lot = earn(posting, lotInput('earn:order:o-1', 100, { maturesAt: '2026-01-31T00:00:00.000Z' }));
    expect(posting.account).toMatchObject({ pending: 100, available: 0, earned: 100 });
    expect(lot).toMatchObject({ status: 'pending', remaining: 100 });

    const attempt = new Posting(posting.account, 'c-1');
    expect(() => redeem(attempt, reward('redeem:req-1', 10))).toThrow(
      new InsufficientPointsError('reward five-off costs 10 points and customer c-1 has 0 available'),
    );
    expect(() => redeem(attempt, reward('redeem:req-1', 10))).toThrow(InsufficientPointsError);
    expect(attempt.entries).toEqual([]);
    expect(attempt.account).toEqual(posting.account);

    mature(posting, posting.account.lots[0]!, 'mature:earn:order:o-1');
    redeem(posting, reward('redeem:req-2', 10));

    expect(posting.account).toMatchObject({ pending: 0, available: 90, redeemed: 10 });
    expect(posting.entries.map((e) => [e.entryId, e.kind, e.points, e.pending, e.available])).toEqual([
      ['earn:order:o-1', 'earn', 100, 100, 0],
      ['mature:earn:order:o-1', 'mature', 0, -100, 100],
      ['redeem:req-2', 'redeem', -10, 0, -10],
    ]);
    expect(problems(posting)).toEqual([]);
  });

  it('refuses a redemption larger than the available points and changes nothing', () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    earn(posting, lotInput('earn:order:o-1', 40));
    const before = structuredClone(posting.account);

    const attempt = new Posting(posting.account, 'c-1');
    expect(() => redeem(attempt, reward('redeem:req-1', 50))).toThrow(
      new InsufficientPointsError('reward five-off costs 50 points and customer c-1 has 40 available'),
    );

    expect(attempt.entries).toEqual([]);
    expect(attempt.account).toEqual(before);
    expect(problems(attempt, posting.entries)).toEqual([]);
  });

  it('spends the lot closest to expiry first, whenever it was earned', () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    earn(
      posting,
      lotInput('a', 100, { at: '2026-01-01T00:00:00.000Z', expiresAt: '2027-06-01T00:00:00.000Z' }),
    );
    earn(
      posting,
      lotInput('b', 100, { at: '2026-02-01T00:00:00.000Z', expiresAt: '2027-03-01T00:00:00.000Z' }),
    );
    earn(
      posting,
      lotInput('c', 100, { at: '2025-12-01T00:00:00.000Z', expiresAt: '2027-09-01T00:00:00.000Z' }),
    );
    const remaining = () => posting.account.lots.map((lot) => [lot.id, lot.remaining]);

    redeem(posting, reward('redeem:req-1', 150));
    expect(remaining()).toEqual([
      ['a', 50],
      ['b', 0],
      ['c', 100],
    ]);

    redeem(posting, reward('redeem:req-2', 100));
    expect(remaining()).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 50],
    ]);
    expect(posting.account.available).toBe(50);
    expect(problems(posting)).toEqual([]);
  });

  it('spends points that never expire last', () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    earn(posting, lotInput('a', 100, { expiresAt: '2027-06-01T00:00:00.000Z' }));
    earn(posting, lotInput('b', 100, { expiresAt: '2027-03-01T00:00:00.000Z' }));
    earn(posting, lotInput('c', 100));
    redeem(posting, reward('redeem:req-1', 150));
    expect(posting.account.lots.map((lot) => [lot.id, lot.remaining])).toEqual([
      ['a', 50],
      ['b', 0],
      ['c', 100],
    ]);
  });

  it("takes a refund's points from the order's own lot first", () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    earn(posting, lotInput('earn:order:o-1', 100, { expiresAt: '2027-12-01T00:00:00.000Z' }));
    earn(posting, lotInput('other', 100, { expiresAt: '2027-01-01T00:00:00.000Z' }));

    reverse(posting, refundOf(60), 'debt');

    expect(posting.account.lots.map((lot) => [lot.id, lot.remaining])).toEqual([
      ['earn:order:o-1', 40],
      ['other', 100],
    ]);
    expect(posting.account).toMatchObject({ available: 140, reversed: 60 });
    expect(problems(posting)).toEqual([]);
  });

  it("takes a refund's points from the order's pending lot while it is pending", () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    earn(posting, lotInput('earn:order:o-1', 100, { maturesAt: '2026-01-31T00:00:00.000Z' }));

    reverse(posting, refundOf(30), 'debt');

    expect(posting.account).toMatchObject({ pending: 70, available: 0, debt: 0, reversed: 30 });
    expect(posting.entries.at(-1)).toMatchObject({ kind: 'reverse', points: -30, pending: -30, debt: 0 });
    expect(problems(posting)).toEqual([]);
  });

  /** 100 points earned on order o-1, 70 of them spent: a full refund finds only 30. */
  const spentMostOfTheOrder = () => {
    const posting = new Posting(emptyAccount(), 'c-1');
    earn(posting, lotInput('earn:order:o-1', 100));
    redeem(posting, reward('redeem:req-1', 70));
    return posting;
  };

  it('lets the balance go negative under the allow policy, and later points fill it first', () => {
    const posting = spentMostOfTheOrder();

    reverse(posting, refundOf(100), 'allow');
    expect(posting.account).toMatchObject({ available: -70, debt: 0, reversed: 100, forgiven: 0 });
    expect(posting.entries.at(-1)).toMatchObject({ points: -100, available: -100, debt: 0 });
    expect(problems(posting)).toEqual([]);

    earn(posting, lotInput('earn:order:o-2', 50));
    expect(posting.account.available).toBe(-20);
    expect(posting.account.lots.find((lot) => lot.id === 'earn:order:o-2')?.remaining ?? 0).toBe(0);
    expect(problems(posting)).toEqual([]);

    earn(posting, lotInput('earn:order:o-3', 40));
    expect(posting.account.available).toBe(20);
    expect(posting.account.lots.find((lot) => lot.id === 'earn:order:o-3')?.remaining).toBe(20);
    expect(problems(posting)).toEqual([]);
  });

  it('forgives what it cannot take back under the floor policy, and says so', () => {
    const posting = spentMostOfTheOrder();

    reverse(posting, refundOf(100), 'floor');

    expect(posting.account).toMatchObject({ available: 0, debt: 0, reversed: 30, forgiven: 70 });
    expect(posting.entries.at(-1)).toMatchObject({ points: -30, available: -30, debt: 0, forgiven: 70 });
    expect(problems(posting)).toEqual([]);
  });

  it('records a debt under the debt policy, which later points pay off before anything else', () => {
    const posting = spentMostOfTheOrder();

    reverse(posting, refundOf(100), 'debt');
    expect(posting.account).toMatchObject({ available: 0, debt: 70, reversed: 100, forgiven: 0 });
    expect(posting.entries.at(-1)).toMatchObject({ points: -100, available: -30, debt: 70 });
    expect(problems(posting)).toEqual([]);

    const pendingLot = earn(
      posting,
      lotInput('earn:order:o-2', 50, {
        at: '2026-03-01T00:00:00.000Z',
        maturesAt: '2026-03-31T00:00:00.000Z',
      }),
    );
    expect(posting.account).toMatchObject({ pending: 50, available: 0, debt: 70 });
    expect(problems(posting)).toEqual([]);

    earn(posting, lotInput('earn:order:o-3', 40, { at: '2026-03-02T00:00:00.000Z' }));
    expect(posting.account).toMatchObject({ pending: 50, available: 0, debt: 30 });
    expect(posting.entries.at(-1)).toMatchObject({ points: 40, available: 0, debt: -40 });
    expect(problems(posting)).toEqual([]);

    mature(posting, pendingLot!, 'mature:earn:order:o-2');
    expect(posting.account).toMatchObject({ pending: 0, available: 20, debt: 0 });
    expect(posting.entries.at(-1)).toMatchObject({ points: 0, pending: -50, available: 20, debt: -30 });
    expect(pendingLot?.remaining).toBe(20);
    expect(problems(posting)).toEqual([]);
  });
});

describe('points over time, through the use cases', () => {
  let store: InMemoryCustomerStore;
  let current: string;
  let captured: PublishedEvent[];
  const clock: Clock = { now: () => new Date(current), sleep: async () => {} };
  const publisher = {
    publish: async (events: readonly PublishedEvent[]) => {
      captured.push(...events);
    },
  };

  const placed = (detail: Record<string, unknown>) => {
    const event = eventFixture('order-placed');
    event.id = `e-${String(detail.orderId)}`;
    Object.assign(event.detail, detail);
    return parseCommerceEvent(event, eventContext(clock.now()));
  };
  const refunded = (detail: Record<string, unknown>) => {
    const event = eventFixture('order-refunded');
    event.id = `e-${String(detail.refundId)}`;
    Object.assign(event.detail, detail);
    return parseCommerceEvent(event, eventContext(clock.now()));
  };
  const profile = () => store.profiles.get('c-42');
  const problems = async () => {
    const p = profile();
    return accountProblems(p?.points ?? emptyAccount(), await store.ledger('c-42'));
  };

  beforeEach(() => {
    store = new InMemoryCustomerStore();
    current = '2026-11-20T10:15:00.000Z';
    captured = [];
  });

  describe('with a 30-day return window and points that expire after a year', () => {
    const program = loyaltyProgram({
      points: { pendingDays: 30, expiry: { afterDays: 365, warnDaysBefore: 30 } },
    });
    const deps = () => ({ store, clock, program });

    it('keeps an order’s points pending for 30 days, then makes them available', async () => {
      await recordEvent(placed({ orderId: 'o-1001', placedAt: current }), deps());
      expect(profile()).toMatchObject({ pointsPending: 42, pointsBalance: 0 });
      // Maturity brings no sweep: the account's first visit is the expiry warning. Until a
      // settlement writes the maturity down, whoever shows the balance derives it.
      expect(store.due.get('c-42')).toBe('2027-11-20T10:15:00.000Z');
      const shown = (at: string) => profileAsOf(profile()!, new Date(at));
      expect(shown('2026-12-20T10:14:00.000Z')).toMatchObject({ pointsPending: 42, pointsBalance: 0 });
      expect(shown('2026-12-20T10:15:00.000Z')).toMatchObject({ pointsPending: 0, pointsBalance: 42 });

      current = '2026-12-20T10:14:00.000Z';
      expect(await settleAccount('c-42', deps())).toBe(0);
      expect(profile()).toMatchObject({ pointsPending: 42, pointsBalance: 0 });

      current = '2026-12-20T10:15:00.000Z';
      expect(await settleAccount('c-42', deps())).toBe(1);

      expect(profile()).toMatchObject({ pointsPending: 0, pointsBalance: 42 });
      // One entry for the whole settlement, numbered, listing the lot (the bucket of its day).
      expect(await store.getLedgerEntry('c-42', 'settle:1:pending-window')).toMatchObject({
        kind: 'mature',
        lots: [{ id: 'pending:2026-12-20', points: 42 }],
        points: 0,
        pending: -42,
        available: 42,
        at: '2026-12-20T10:15:00.000Z',
      });
      expect(await problems()).toEqual([]);
    });

    it('warns from the sweeper with one write of the account alone, and settles at the next write', async () => {
      await recordEvent(placed({ orderId: 'o-1001', placedAt: current }), deps());
      current = '2027-11-20T10:15:00.000Z';
      const visit = await settleAndPublish('c-42', { ...deps(), publisher });
      expect(visit).toEqual({ written: 1, published: 1 });
      expect(captured.map((e) => [e.detailType, e.detail.points, e.detail.balance])).toEqual([
        ['points.expiring', 42, 42],
      ]);
      // Nothing written down: the only entry is the order's; the lot is marked warned.
      expect((await store.ledger('c-42')).map((e) => e.entryId)).toEqual(['earn:order:o-1001']);
      expect(profile()?.points?.lots).toMatchObject([{ id: 'pending:2026-12-20', warned: true }]);
      expect(store.due.has('c-42')).toBe(false);
      // A second visit says nothing again; the maturity that was written later keeps the warning.
      current = '2027-11-21T10:15:00.000Z';
      expect(await settleAndPublish('c-42', { ...deps(), publisher })).toEqual({ written: 0, published: 0 });
      await recordEvent(placed({ orderId: 'o-1002', placedAt: current }), deps());
      expect(profile()?.points?.lots).toMatchObject([
        { id: 'expires:2027-12', warned: true, remaining: 42 },
        { id: 'pending:2027-12-21', remaining: 42 },
      ]);
      expect(captured).toHaveLength(1);
      expect(await problems()).toEqual([]);
    });

    it('warns 30 days before points expire, once, and expires them after 365 days', async () => {
      await recordEvent(placed({ orderId: 'o-1001', placedAt: current }), deps());
      current = '2026-12-20T10:15:00.000Z';
      await settleAccount('c-42', deps());

      current = '2027-11-20T10:14:00.000Z';
      await settleAccount('c-42', deps());
      expect(profile()?.points?.outbox).toEqual([]);

      current = '2027-11-20T10:15:00.000Z';
      expect(await settleAccount('c-42', deps())).toBe(0);
      const warning = {
        customerId: 'c-42',
        points: 42,
        expiresOn: '2027-12-20',
        balance: 42,
        meta: { eventId: 'expiring:c-42:2027-12-20' },
      };
      expect(profile()?.points?.outbox).toEqual([
        { detailType: 'points.expiring', time: '2027-11-20T10:15:00.000Z', detail: warning },
      ]);

      expect(await flushOutbox('c-42', { ...deps(), publisher })).toBe(1);
      expect(captured).toEqual([
        {
          source: 'rapport.loyalty',
          detailType: 'points.expiring',
          time: '2027-11-20T10:15:00.000Z',
          detail: warning,
        },
      ]);
      expect(profile()?.points?.outbox).toEqual([]);
      // Warned: the expiry needs no visit, a read derives it and the next settlement writes it.
      expect(store.due.has('c-42')).toBe(false);
      expect(profileAsOf(profile()!, new Date('2027-12-20T10:15:00.000Z'))).toMatchObject({
        pointsBalance: 0,
      });

      current = '2027-11-25T00:00:00.000Z';
      await settleAccount('c-42', deps());
      expect(profile()?.points?.outbox).toEqual([]);

      current = '2027-12-20T10:14:00.000Z';
      expect(await settleAccount('c-42', deps())).toBe(0);
      expect(profile()?.pointsBalance).toBe(42);

      current = '2027-12-20T10:15:00.000Z';
      expect(await settleAccount('c-42', deps())).toBe(1);

      expect(profile()).toMatchObject({ pointsBalance: 0, pointsPending: 0 });
      expect(profile()?.points?.expired).toBe(42);
      expect(await store.getLedgerEntry('c-42', 'settle:2:lot-expiry')).toMatchObject({
        kind: 'expire',
        lots: [{ id: 'expires:2027-12', points: 42 }],
        points: -42,
        available: -42,
        ruleId: 'lot-expiry',
        at: '2027-12-20T10:15:00.000Z',
      });
      expect(store.due.has('c-42')).toBe(false);
      expect(await problems()).toEqual([]);
    });
  });

  describe('with silver and gold tiers on a year of spend, reviewed every January 1st', () => {
    const program = loyaltyProgram({ tiers });
    const deps = () => ({ store, clock, program });
    const order = async (orderId: string, total: number, placedAt: string) => {
      current = placedAt;
      return recordEvent(placed({ orderId, total, placedAt }), deps());
    };

    it('upgrades at once when spend crosses 250, and the next order earns 1.25 times', async () => {
      await order('o-1', 200, '2026-03-01T12:00:00.000Z');
      expect(profile()?.tier).toBeUndefined();

      expect(await order('o-2', 60, '2026-03-02T12:00:00.000Z')).toMatchObject({ points: 60, outbox: true });
      expect(profile()?.tier).toBe('silver');
      expect(profile()?.points?.outbox).toEqual([
        {
          detailType: 'customer.tier-changed',
          time: '2026-03-02T12:00:00.000Z',
          detail: {
            customerId: 'c-42',
            from: 'member',
            to: 'silver',
            direction: 'up',
            reason: 'threshold',
            at: '2026-03-02T12:00:00.000Z',
            meta: { eventId: 'tier:c-42:2026-03-02T12:00:00.000Z:silver' },
          },
        },
      ]);

      expect(await order('o-3', 100, '2026-03-03T12:00:00.000Z')).toMatchObject({ points: 125 });
      expect((await store.getLedgerEntry('c-42', 'earn:order:o-3'))?.rules).toEqual([
        { id: 'base-earn', version: 1, points: 100 },
        { id: 'tier-silver', version: 1, points: 25 },
      ]);
      expect(profile()?.pointsBalance).toBe(385);
      expect(await problems()).toEqual([]);
    });

    it('downgrades only at the review, after the grace period, when spend fell below retain', async () => {
      await order('o-1', 200, '2026-03-01T12:00:00.000Z');
      await order('o-2', 60, '2026-03-02T12:00:00.000Z');
      await order('o-3', 100, '2026-03-03T12:00:00.000Z');
      await flushOutbox('c-42', { ...deps(), publisher });
      captured = [];

      // The refund leaves 160 of spend in the year, under silver's retain of 200.
      current = '2026-06-01T12:00:00.000Z';
      await recordEvent(
        refunded({ refundId: 'r-1', orderId: 'o-1', amount: 200, refundedAt: '2026-06-01T12:00:00.000Z' }),
        deps(),
      );
      expect(profile()?.tier).toBe('silver');

      current = '2026-12-31T23:59:00.000Z';
      await settleAccount('c-42', deps());
      expect(profile()?.tier).toBe('silver');
      expect(profile()?.points?.tier?.downgradeAt).toBeUndefined();

      current = '2027-01-01T00:00:00.000Z';
      await settleAccount('c-42', deps());
      expect(profile()?.tier).toBe('silver');
      expect(profile()?.points?.tier).toMatchObject({
        id: 'silver',
        downgradeAt: '2027-01-31T00:00:00.000Z',
        downgradeTo: 'member',
        reviewAt: '2028-01-01T00:00:00.000Z',
      });

      current = '2027-01-30T23:59:00.000Z';
      await settleAccount('c-42', deps());
      expect(profile()?.tier).toBe('silver');

      current = '2027-01-31T00:00:00.000Z';
      await settleAccount('c-42', deps());
      expect(profile()?.tier).toBe('member');

      await flushOutbox('c-42', { ...deps(), publisher });
      expect(captured).toEqual([
        {
          source: 'rapport.loyalty',
          detailType: 'customer.tier-changed',
          time: '2027-01-31T00:00:00.000Z',
          detail: {
            customerId: 'c-42',
            from: 'silver',
            to: 'member',
            direction: 'down',
            reason: 'review',
            at: '2027-01-31T00:00:00.000Z',
            meta: { eventId: 'tier:c-42:2027-01-31T00:00:00.000Z:member' },
          },
        },
      ]);
      expect(profile()?.points?.outbox).toEqual([]);
      expect(await problems()).toEqual([]);
    });
  });

  describe('redeeming rewards', () => {
    const program: Program = loyaltyProgram({
      tiers,
      rewards: [
        { id: 'five-off', name: '$5 off', cost: 50, kind: 'fixed_discount', amount: 5 },
        {
          id: 'gold-gift',
          name: 'A gift for gold members',
          cost: 10,
          kind: 'free_product',
          sku: 'GIFT-1',
          tiers: ['gold'],
        },
      ],
    });
    const deps = () => ({ store, clock, program, signer: testSigner() });
    const redeemEntries = async () => (await store.ledger('c-42')).filter((e) => e.kind === 'redeem');

    beforeEach(async () => {
      current = '2026-11-20T12:00:00.000Z';
      await recordEvent(placed({ orderId: 'o-1', total: 80, placedAt: '2026-11-20T10:15:00.000Z' }), deps());
    });

    it('debits the points and hands back a coupon', async () => {
      const coupon = await redeemReward(
        { customerId: 'c-42', rewardId: 'five-off', requestId: 'req-1' },
        deps(),
      );

      expect(coupon).toMatchObject({
        customerId: 'c-42',
        rewardId: 'five-off',
        requestId: 'req-1',
        kind: 'fixed_discount',
        amount: 5,
        cost: 50,
        issuedAt: '2026-11-20T12:00:00.000Z',
        expiresAt: '2027-02-18T12:00:00.000Z',
        duplicate: false,
        balance: 30,
      });
      expect(coupon.code).toMatch(/^RWD-[A-Z2-9]{5}-[A-Z2-9]{5}$/);
      expect(profile()?.pointsBalance).toBe(30);
      expect(await redeemEntries()).toMatchObject([
        { entryId: 'redeem:req-1', points: -50, rewardId: 'five-off', couponCode: coupon.code },
      ]);
      expect(store.coupons.get(`c-42/${coupon.code}`)).toMatchObject({ rewardId: 'five-off', cost: 50 });
      expect(await problems()).toEqual([]);
    });

    it('returns the same coupon for a repeated request and debits once', async () => {
      const first = await redeemReward(
        { customerId: 'c-42', rewardId: 'five-off', requestId: 'req-1' },
        deps(),
      );
      const again = await redeemReward(
        { customerId: 'c-42', rewardId: 'five-off', requestId: 'req-1' },
        deps(),
      );

      expect(again).toMatchObject({ code: first.code, duplicate: true, balance: 30 });
      expect(profile()?.pointsBalance).toBe(30);
      expect(await redeemEntries()).toHaveLength(1);
      expect(store.coupons.size).toBe(1);
    });

    it('refuses a reward of another tier and debits nothing', async () => {
      await expect(
        redeemReward({ customerId: 'c-42', rewardId: 'gold-gift', requestId: 'req-2' }, deps()),
      ).rejects.toThrow(RewardNotAllowedError);

      expect(profile()?.pointsBalance).toBe(80);
      expect(await redeemEntries()).toEqual([]);
      expect(store.coupons.size).toBe(0);
    });

    it('refuses a reward the customer cannot afford and debits nothing', async () => {
      await redeemReward({ customerId: 'c-42', rewardId: 'five-off', requestId: 'req-1' }, deps());

      await expect(
        redeemReward({ customerId: 'c-42', rewardId: 'five-off', requestId: 'req-2' }, deps()),
      ).rejects.toThrow(InsufficientPointsError);

      expect(profile()?.pointsBalance).toBe(30);
      expect(await redeemEntries()).toHaveLength(1);
      expect(store.coupons.size).toBe(1);
    });
  });
});
