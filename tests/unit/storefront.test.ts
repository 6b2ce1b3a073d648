import { describe, expect, it } from 'vitest';
import { adjustmentRequestSchema, storefrontInputSchema } from '../../domain/contracts/storefront.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { accountProblems } from '../../domain/loyalty/account.ts';
import type { Clock, PublishedEvent } from '../../domain/ports.ts';
import type { Program } from '../../domain/program.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import {
  adjustPoints,
  checkCoupon,
  loyaltyStatus,
  redeem,
  redeemCoupon,
} from '../../domain/use-cases/storefront.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemoryCustomerStore, testSigner } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// The storefront's use cases on the in-memory store: what the shop's backend is told and what is
// written (balances, ledger entries, coupons), for a program with a return window, tiers and rewards.

const DAY = 86_400_000;
const program = (points: Record<string, unknown> = {}): Program =>
  loyaltyProgram({
    points: { pendingDays: 30, expiry: { afterDays: 365 }, ...points },
    rewards: [
      { id: 'free-shipping', name: 'Free shipping', cost: 300, kind: 'free_shipping' },
      { id: 'five-off', name: '$5 off', cost: 500, kind: 'fixed_discount', amount: 5, validDays: 30 },
      { id: 'ten-percent', name: '10% off', cost: 100, kind: 'percentage', percent: 10, tiers: ['gold'] },
    ],
    tiers: {
      basis: 'spend',
      window: { rollingDays: 365 },
      reviewOn: '01-01',
      levels: [
        { id: 'member', name: 'Member', entry: 0 },
        { id: 'silver', name: 'Silver', entry: 250 },
        { id: 'gold', name: 'Gold', entry: 750 },
      ],
    },
  });

const setup = (p: Program = program()) => {
  let now = new Date('2026-03-10T15:00:00Z');
  const clock: Clock = { now: () => new Date(now), sleep: () => Promise.resolve() };
  const store = new InMemoryCustomerStore();
  const published: PublishedEvent[] = [];
  const deps = {
    store,
    clock,
    program: p,
    signer: testSigner(),
    publisher: { publish: async (events: readonly PublishedEvent[]) => void published.push(...events) },
  };
  const order = async (customerId: string, orderId: string, total: number) => {
    const event = eventFixture('order-placed');
    event.id = `event-${orderId}`;
    Object.assign(event.detail, { orderId, customerId, total, items: [], placedAt: now.toISOString() });
    await recordEvent(parseCommerceEvent(event, eventContext(now, p)), deps);
  };
  const advance = (days: number) => {
    now = new Date(now.getTime() + days * DAY);
  };
  return { store, deps, order, advance, published };
};

describe('the loyalty status', () => {
  it('answers nothing for a customer it does not know', async () => {
    const { deps } = setup();
    expect(await loyaltyStatus('nobody', deps)).toBeUndefined();
  });

  it('shows pending points with their maturity, the tier, the way to the next one and rewards out of reach', async () => {
    const { deps, order } = setup();
    await order('c-1', 'o-1', 300);

    const status = await loyaltyStatus('c-1', deps);

    expect(status).toMatchObject({
      erased: false,
      points: { available: 0, pending: 300, debt: 0 },
      pending: [{ points: 300, maturesAt: '2026-04-09T15:00:00.000Z' }],
      tier: { id: 'silver', name: 'Silver', since: '2026-03-10T15:00:00.000Z' },
      // Spend counts at once; the order's day leaves the rolling window 365 days after it ends.
      nextTier: {
        id: 'gold',
        basis: 'spend',
        currency: 'USD',
        counted: 300,
        needed: 750,
        remaining: 450,
        by: '2027-03-11T00:00:00.000Z',
      },
      rewards: { redeemable: [] },
    });
    if (status?.erased !== false) throw new Error('expected a status');
    expect(status.rewards.notYet.map((r) => [r.id, r.pointsShort, r.tiers])).toEqual([
      ['free-shipping', 300, undefined],
      ['five-off', 500, undefined],
      ['ten-percent', 100, ['gold']],
    ]);
  });

  it('counts matured points as spendable and lists what they buy now, without writing anything', async () => {
    const { deps, order, advance, store } = setup();
    await order('c-1', 'o-1', 300);
    const versionBefore = store.profiles.get('c-1')?.version;
    advance(31);

    const status = await loyaltyStatus('c-1', deps);

    expect(status).toMatchObject({ points: { available: 300, pending: 0 }, pending: [] });
    if (status?.erased !== false) throw new Error('expected a status');
    expect(status.rewards.redeemable.map((r) => r.id)).toEqual(['free-shipping']);
    expect(status.rewards.notYet.find((r) => r.id === 'five-off')).toMatchObject({
      pointsShort: 200,
      discount: { kind: 'fixed_discount', amount: 5, currency: 'USD' },
    });
    expect(store.profiles.get('c-1')?.version).toBe(versionBefore);
  });

  it('shows an erased customer as erased and nothing else', async () => {
    const { deps, order, store } = setup();
    await order('c-1', 'o-1', 300);
    Object.assign(store.profiles.get('c-1') ?? {}, { erasedAt: '2026-03-11T00:00:00Z' });

    expect(await loyaltyStatus('c-1', deps)).toEqual({
      customerId: 'c-1',
      erased: true,
      erasedAt: '2026-03-11T00:00:00Z',
    });
  });
});

describe('redeeming a reward', () => {
  it('issues one coupon and debits once for two calls with the same request id', async () => {
    const { deps, order, advance, store, published } = setup();
    await order('c-1', 'o-1', 800);
    advance(31);

    const first = await redeem({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);
    const again = await redeem({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);

    expect(first).toMatchObject({ outcome: 'issued', balance: 300, coupon: { rewardId: 'five-off' } });
    expect(again).toMatchObject({ outcome: 'duplicate', balance: 300 });
    if (first.outcome !== 'issued' || again.outcome !== 'duplicate') throw new Error('expected coupons');
    expect(again.coupon.code).toBe(first.coupon.code);
    expect((await store.ledger('c-1')).filter((e) => e.kind === 'redeem')).toHaveLength(1);
    expect(store.coupons.size).toBe(1);
    expect(published.map((e) => e.detailType)).toContain('points.redeemed');
  });

  it('refuses a reward the customer is short for, saying by how much, and writes nothing', async () => {
    const { deps, order, advance, store } = setup();
    await order('c-1', 'o-1', 420);
    advance(31);
    const entriesBefore = (await store.ledger('c-1')).length;

    const answer = await redeem({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);

    expect(answer).toMatchObject({ outcome: 'refused', error: 'InsufficientPointsError', pointsShort: 80 });
    expect((await store.ledger('c-1')).length).toBe(entriesBefore);
    expect(store.coupons.size).toBe(0);
    expect(await loyaltyStatus('c-1', deps)).toMatchObject({ points: { available: 420 } });
  });

  it('refuses a reward of another tier and one not in the catalog', async () => {
    const { deps, order, advance } = setup();
    await order('c-1', 'o-1', 420);
    advance(31);

    expect(
      await redeem({ customerId: 'c-1', rewardId: 'ten-percent', requestId: 'r-1' }, deps),
    ).toMatchObject({
      outcome: 'refused',
      error: 'RewardNotAllowedError',
    });
    expect(await redeem({ customerId: 'c-1', rewardId: 'a-yacht', requestId: 'r-2' }, deps)).toMatchObject({
      outcome: 'refused',
      error: 'RewardNotAllowedError',
    });
  });

  it('answers unknown for a customer it does not know', async () => {
    const { deps } = setup();
    expect(await redeem({ customerId: 'nobody', rewardId: 'five-off', requestId: 'r-1' }, deps)).toEqual({
      outcome: 'unknown-customer',
    });
  });
});

describe('coupons at checkout', () => {
  const issued = async () => {
    const context = setup();
    await context.order('c-1', 'o-1', 800);
    context.advance(31);
    const answer = await redeem({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, context.deps);
    if (answer.outcome !== 'issued') throw new Error('expected a coupon');
    return { ...context, code: answer.coupon.code };
  };

  it('tells who a redeemed reward coupon is for and what it gives, whatever the case it is typed in', async () => {
    const { deps, code } = await issued();

    expect(await checkCoupon(code, deps)).toMatchObject({
      code,
      valid: true,
      customerId: 'c-1',
      discount: { kind: 'fixed_discount', amount: 5, currency: 'USD' },
      source: { rewardId: 'five-off' },
    });
    expect(storefrontInputSchema.parse({ action: 'check-coupon', code: ` ${code.toLowerCase()} ` })).toEqual({
      action: 'check-coupon',
      code,
    });
  });

  it('says unknown for a code nobody holds', async () => {
    const { deps } = setup();
    expect(await checkCoupon('RWD-NOPE', deps)).toEqual({
      code: 'RWD-NOPE',
      valid: false,
      reason: 'unknown',
    });
  });

  it('says expired once the coupon is past its validity', async () => {
    const { deps, code, advance } = await issued();
    advance(31);
    expect(await checkCoupon(code, deps)).toMatchObject({
      valid: false,
      reason: 'expired',
      customerId: 'c-1',
    });
  });

  it('marks a coupon used by its first order once, and says redeemed afterwards', async () => {
    const { deps, code } = await issued();

    const first = await redeemCoupon(code, 'o-9', '2026-04-12T10:00:00Z', deps);
    const repeat = await redeemCoupon(code, 'o-9', '2026-04-12T10:05:00Z', deps);
    const other = await redeemCoupon(code, 'o-10', '2026-04-12T11:00:00Z', deps);

    expect(first).toEqual({ outcome: 'applied', code, customerId: 'c-1' });
    expect(repeat).toEqual({ outcome: 'duplicate', code, customerId: 'c-1' });
    expect(other).toEqual({ outcome: 'taken', code, customerId: 'c-1', redeemedOrderId: 'o-9' });
    expect(await checkCoupon(code, deps)).toMatchObject({
      valid: false,
      reason: 'redeemed',
      redeemed: { orderId: 'o-9', at: '2026-04-12T10:00:00Z' },
    });
    expect(await redeemCoupon('SHOP-OWN-CODE', 'o-9', '2026-04-12T10:00:00Z', deps)).toEqual({
      outcome: 'unknown',
      code: 'SHOP-OWN-CODE',
    });
  });
});

describe('adjusting points for customer service', () => {
  const request = { points: 50, reason: 'Parcel arrived late', actor: 'agent:sam', requestId: 'cs-1' };

  it('adds points once per request id, in an adjust entry naming why and who', async () => {
    const { deps, order, store } = setup();
    await order('c-1', 'o-1', 100);

    const first = await adjustPoints('c-1', request, deps);
    const again = await adjustPoints('c-1', request, deps);

    expect(first).toMatchObject({ outcome: 'applied', points: { available: 50, pending: 100 } });
    expect(again).toMatchObject({ outcome: 'duplicate', points: { available: 50, pending: 100 } });
    const adjustments = (await store.ledger('c-1')).filter((e) => e.kind === 'adjust');
    expect(adjustments).toMatchObject([
      {
        entryId: 'adjust:cs-1',
        points: 50,
        available: 50,
        reason: 'Parcel arrived late',
        actor: 'agent:sam',
      },
    ]);
    const profile = await store.getProfile('c-1');
    expect(profile?.points && accountProblems(profile.points, await store.ledger('c-1'))).toEqual([]);
  });

  it('refuses a second adjustment under a request id already used for another', async () => {
    const { deps, order, store } = setup();
    await order('c-1', 'o-1', 100);
    await adjustPoints('c-1', request, deps);

    expect(await adjustPoints('c-1', { ...request, points: 500 }, deps)).toMatchObject({
      outcome: 'conflict',
    });
    expect((await store.getProfile('c-1'))?.pointsBalance).toBe(50);
  });

  it('takes points beyond the balance as debt under the debt rule', async () => {
    const { deps, order, store } = setup();
    await order('c-1', 'o-1', 100);
    await adjustPoints('c-1', request, deps);

    const answer = await adjustPoints('c-1', { ...request, points: -80, requestId: 'cs-2' }, deps);

    expect(answer).toMatchObject({ outcome: 'applied', points: { available: 0, debt: 30 } });
    const profile = await store.getProfile('c-1');
    expect(profile?.points && accountProblems(profile.points, await store.ledger('c-1'))).toEqual([]);
  });

  it('goes below zero under the allow rule', async () => {
    const { deps, order } = setup(program({ negativeBalance: 'allow' }));
    await order('c-1', 'o-1', 100);
    expect(await adjustPoints('c-1', { ...request, points: -20 }, deps)).toMatchObject({
      outcome: 'applied',
      points: { available: -20, debt: 0 },
    });
  });

  it('refuses, writing nothing, to take more than the balance under the floor rule', async () => {
    const { deps, order, store } = setup(program({ negativeBalance: 'floor' }));
    await order('c-1', 'o-1', 100);
    const entriesBefore = (await store.ledger('c-1')).length;

    expect(await adjustPoints('c-1', { ...request, points: -20 }, deps)).toMatchObject({
      outcome: 'refused',
      error: 'InsufficientPointsError',
    });
    expect((await store.ledger('c-1')).length).toBe(entriesBefore);
  });

  it('answers unknown for a customer it does not know', async () => {
    const { deps } = setup();
    expect(await adjustPoints('nobody', request, deps)).toEqual({ outcome: 'unknown-customer' });
  });

  it('refuses a zero, an unbounded or an unexplained adjustment, naming the field', () => {
    const issue = (body: unknown) => {
      const parsed = adjustmentRequestSchema.safeParse(body);
      return parsed.success
        ? undefined
        : `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`;
    };
    expect(issue({ ...request, points: 0 })).toBe('points: must not be zero');
    expect(issue({ ...request, points: 1_000_000 })).toBe('points: must be at most 100000');
    expect(issue({ ...request, reason: '  ' })).toBe('reason: say why the points change');
    expect(issue({ ...request, actor: undefined })).toMatch(/^actor: /);
  });
});
