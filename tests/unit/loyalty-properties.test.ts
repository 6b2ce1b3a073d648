import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InsufficientPointsError, InvalidEventError, RewardNotAllowedError } from '../../domain/errors.ts';
import { type CommerceEvent, parseCommerceEvent } from '../../domain/events.ts';
import { accountProblems, emptyAccount } from '../../domain/loyalty/account.ts';
import type { Clock, PublishedEvent } from '../../domain/ports.ts';
import type { PointsPolicy } from '../../domain/program.ts';
import { flushOutbox, redeemReward, settleAccount } from '../../domain/use-cases/points.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemoryCustomerStore, testSigner } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// Random histories of orders, refunds, redemptions, passing time and repeated deliveries, run
// through the use cases against the in-memory store. After every step the books must balance.

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const CUSTOMERS = ['c-1', 'c-2'] as const;

type Policy = PointsPolicy['negativeBalance'];

const programFor = (negativeBalance: Policy) =>
  loyaltyProgram({
    points: {
      pendingDays: 7,
      expiry: { afterDays: 120, inactiveDays: 200, warnDaysBefore: 10 },
      negativeBalance,
    },
    tiers: {
      basis: 'spend',
      window: { rollingDays: 365 },
      reviewOn: '01-01',
      graceDays: 30,
      levels: [
        { id: 'member', name: 'Member', entry: 0 },
        { id: 'silver', name: 'Silver', entry: 250, retain: 200, multiplier: 1.25 },
        { id: 'gold', name: 'Gold', entry: 750, retain: 600, multiplier: 1.5 },
      ],
    },
    rewards: [
      { id: 'free-shipping', name: 'Free shipping', cost: 20, kind: 'free_shipping' },
      { id: 'five-off', name: '$5 off', cost: 50, kind: 'fixed_discount', amount: 5 },
      { id: 'ten-percent', name: '10% off', cost: 120, kind: 'percentage', percent: 10 },
      { id: 'gold-gift', name: 'Gold gift', cost: 10, kind: 'free_product', sku: 'GIFT-1', tiers: ['gold'] },
    ],
  });

type Command =
  | { kind: 'order'; customer: number; cents: number; hoursAgo: number }
  | { kind: 'refund'; pick: number; mode: 'part' | 'full' | 'over'; cents: number }
  | { kind: 'redeem'; customer: number; reward: number }
  | { kind: 'advance'; days: number; hours: number }
  | { kind: 'repeat'; pick: number };

const customer = fc.integer({ min: 0, max: CUSTOMERS.length - 1 });
const commands = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('order' as const),
        customer,
        cents: fc.noBias(fc.integer({ min: 0, max: 40_000 })),
        hoursAgo: fc.integer({ min: 0, max: 72 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('refund' as const),
        pick: fc.nat(),
        mode: fc.constantFrom('part' as const, 'full' as const, 'over' as const),
        cents: fc.integer({ min: 1, max: 40_000 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('redeem' as const),
        customer,
        reward: fc.integer({ min: 0, max: 3 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        days: fc.noBias(fc.integer({ min: 0, max: 150 })),
        hours: fc.integer({ min: 0, max: 23 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('repeat' as const), pick: fc.nat() }) },
  ),
  { minLength: 1, maxLength: 40, size: 'max' },
) as fc.Arbitrary<Command[]>;

/** Something delivered before, and how it went the first time, so a repeat can be judged. */
type Delivered =
  | { kind: 'event'; event: CommerceEvent; failed: boolean }
  | { kind: 'redeem'; customerId: string; rewardId: string; requestId: string; code: string };

const run = async (policy: Policy, history: Command[]) => {
  const program = programFor(policy);
  const store = new InMemoryCustomerStore();
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const clock: Clock = { now: () => new Date(now), sleep: async () => {} };
  const deps = { store, clock, program, signer: testSigner() };
  const published: PublishedEvent[] = [];
  const publisher = {
    publish: async (events: readonly PublishedEvent[]) => {
      published.push(...events);
    },
  };
  const delivered: Delivered[] = [];
  const orders: { customerId: string; orderId: string }[] = [];
  let sequence = 0;

  /** Everything the store holds; what a refused or repeated command must leave as it was. */
  const snapshot = () =>
    JSON.stringify({
      profiles: [...store.profiles],
      orders: [...store.orders],
      entries: [...store.entries],
      coupons: [...store.coupons],
      due: [...store.due],
    });

  const refusedWithoutChange = async (
    attempt: () => Promise<unknown>,
    errors: (new (...args: never[]) => Error)[],
  ) => {
    const before = snapshot();
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(
      errors.some((kind) => error instanceof kind),
      `unexpected ${String(error)}`,
    ).toBe(true);
    expect(snapshot()).toBe(before);
  };

  const settleEveryone = async () => {
    for (const customerId of CUSTOMERS) {
      for (let round = 0; round < 50; round++) if ((await settleAccount(customerId, deps)) === 0) break;
      await flushOutbox(customerId, { ...deps, publisher });
      const profile = store.profiles.get(customerId);
      expect(profile?.points?.outbox ?? []).toEqual([]);
      // Settled: nothing is left overdue.
      const due = store.due.get(customerId);
      if (due !== undefined) expect(due > clock.now().toISOString()).toBe(true);
    }
  };

  const checkInvariants = async () => {
    for (const [customerId, profile] of store.profiles) {
      const account = profile.points ?? emptyAccount();
      const ledger = await store.ledger(customerId);
      const net = account.pending + account.available - account.debt;
      expect(accountProblems(account, ledger)).toEqual([]);
      expect(profile.pointsBalance).toBe(account.available);
      expect(profile.pointsPending ?? 0).toBe(account.pending);
      expect(profile.lifetimePoints).toBe(account.earned);
      expect(account.pending).toBeGreaterThanOrEqual(0);
      expect(account.debt).toBeGreaterThanOrEqual(0);
      expect(new Set(ledger.map((e) => e.entryId)).size).toBe(ledger.length);
      expect(ledger.reduce((sum, e) => sum + e.points, 0)).toBe(net);
      expect(account.earned - account.reversed - account.redeemed - account.expired).toBe(net);
      if (policy !== 'allow') expect(account.available).toBeGreaterThanOrEqual(0);
      if (policy !== 'debt') expect(account.debt).toBe(0);
      if (policy !== 'floor') expect(account.forgiven).toBe(0);
      let refunded = 0;
      for (const order of store.orders.values()) {
        if (order.customerId !== customerId) continue;
        refunded += order.refundedMinor;
        expect(order.refundedMinor).toBeLessThanOrEqual(order.totalMinor);
        expect(order.pointsReversed).toBeGreaterThanOrEqual(0);
        expect(order.pointsReversed).toBeLessThanOrEqual(order.pointsAwarded);
        if (order.refundedMinor === order.totalMinor) expect(order.pointsReversed).toBe(order.pointsAwarded);
      }
      expect(profile.refundedMinor).toBe(refunded);
    }
  };

  for (const command of history) {
    switch (command.kind) {
      case 'order': {
        const n = ++sequence;
        const customerId = CUSTOMERS[command.customer]!;
        const fixture = eventFixture('order-placed');
        fixture.id = `e-order-${n}`;
        const total = command.cents / 100;
        Object.assign(fixture.detail, {
          orderId: `o-${n}`,
          customerId,
          total,
          items: [{ sku: 'SKU-1', quantity: 1, unitPrice: total }],
          placedAt: new Date(now - command.hoursAgo * HOUR_MS).toISOString(),
        });
        const event = parseCommerceEvent(fixture, eventContext(clock.now(), program));
        expect(await recordEvent(event, deps)).toMatchObject({ outcome: 'applied' });
        delivered.push({ kind: 'event', event, failed: false });
        orders.push({ customerId, orderId: `o-${n}` });
        break;
      }
      case 'refund': {
        if (orders.length === 0) break;
        const { customerId, orderId } = orders[command.pick % orders.length]!;
        const order = await store.getOrder(customerId, orderId);
        const left = order!.totalMinor - order!.refundedMinor;
        const amountMinor =
          command.mode === 'over' || left === 0
            ? left + command.cents
            : command.mode === 'full'
              ? left
              : 1 + (command.cents % left);
        const n = ++sequence;
        const fixture = eventFixture('order-refunded');
        fixture.id = `e-refund-${n}`;
        Object.assign(fixture.detail, {
          refundId: `r-${n}`,
          orderId,
          customerId,
          amount: amountMinor / 100,
          refundedAt: clock.now().toISOString(),
        });
        const event = parseCommerceEvent(fixture, eventContext(clock.now(), program));
        if (amountMinor > left) {
          await refusedWithoutChange(() => recordEvent(event, deps), [InvalidEventError]);
          delivered.push({ kind: 'event', event, failed: true });
        } else {
          const result = await recordEvent(event, deps);
          expect(result).toMatchObject({ outcome: 'applied' });
          expect((await store.getOrder(customerId, orderId))?.refundedMinor).toBe(
            order!.refundedMinor + amountMinor,
          );
          // Even a refund that takes back no points is repeated: its entry must make the repeat a duplicate.
          delivered.push({ kind: 'event', event, failed: false });
        }
        break;
      }
      case 'redeem': {
        const customerId = CUSTOMERS[command.customer]!;
        const reward = program.rewards[command.reward]!;
        const requestId = `req-${++sequence}`;
        const redeem = () => redeemReward({ customerId, rewardId: reward.id, requestId }, deps);
        const before = snapshot();
        const outcome = await redeem().then(
          (coupon) => coupon,
          (e: unknown) => e,
        );
        if (outcome instanceof Error) {
          expect(
            outcome instanceof InsufficientPointsError || outcome instanceof RewardNotAllowedError,
            `unexpected ${String(outcome)}`,
          ).toBe(true);
          expect(snapshot()).toBe(before);
        } else {
          const coupon = outcome as Awaited<ReturnType<typeof redeemReward>>;
          expect(coupon.duplicate).toBe(false);
          expect(await store.getLedgerEntry(customerId, `redeem:${requestId}`)).toMatchObject({
            kind: 'redeem',
            points: -reward.cost,
          });
          delivered.push({ kind: 'redeem', customerId, rewardId: reward.id, requestId, code: coupon.code });
        }
        break;
      }
      case 'advance': {
        now += command.days * DAY_MS + command.hours * HOUR_MS;
        await settleEveryone();
        break;
      }
      case 'repeat': {
        if (delivered.length === 0) break;
        const previous = delivered[command.pick % delivered.length]!;
        const before = snapshot();
        if (previous.kind === 'redeem') {
          const again = await redeemReward(
            { customerId: previous.customerId, rewardId: previous.rewardId, requestId: previous.requestId },
            deps,
          );
          expect(again).toMatchObject({ duplicate: true, code: previous.code });
        } else if (previous.failed) {
          await refusedWithoutChange(() => recordEvent(previous.event, deps), [InvalidEventError]);
        } else {
          expect(await recordEvent(previous.event, deps)).toMatchObject({ outcome: 'duplicate' });
        }
        expect(snapshot()).toBe(before);
        break;
      }
    }
    await checkInvariants();
  }
  return published;
};

describe('a points account under random histories', () => {
  for (const policy of ['allow', 'floor', 'debt'] as const) {
    it(`balances its books after every step with the ${policy} policy for negative balances`, async () => {
      await fc.assert(
        fc.asyncProperty(commands, async (history) => {
          await run(policy, history);
        }),
        { numRuns: 100 },
      );
    }, 30_000);
  }
});
