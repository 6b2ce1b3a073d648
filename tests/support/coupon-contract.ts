import { createHmac } from 'node:crypto';
import { expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import type { CustomerStore, Signer } from '../../domain/ports.ts';
import { redeemReward } from '../../domain/use-cases/points.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { systemClock } from '../../functions/commons/runtime.ts';
import { eventFixture } from './fixtures.ts';
import { testSigner } from './in-memory-customer-store.ts';
import { eventContext } from './parse.ts';
import { loyaltyProgram } from './program.ts';

// What every CustomerStore does with reward coupons, run against the in-memory store (unit) and
// the DynamoDB adapter on DynamoDB Local (emulator), so the one used by domain tests cannot drift.

const program = loyaltyProgram({
  rewards: [{ id: 'five-off', name: '$5 off', cost: 500, kind: 'fixed_discount', amount: 5 }],
});

/** Fault injection: every first attempt signs to the same bytes, so the first codes collide. */
const collidingSigner: Signer = {
  sign: async (message) =>
    message.endsWith(',0]') ? new Uint8Array(32).fill(7) : createHmac('sha256', 'k').update(message).digest(),
};

const fund = async (store: CustomerStore, customerId: string, total = 1200.25) => {
  const event = eventFixture('order-placed');
  event.id = `event-${customerId}`;
  Object.assign(event.detail, { orderId: `o-${customerId}`, customerId, total });
  await recordEvent(parseCommerceEvent(event, eventContext(systemClock.now(), program)), {
    store,
    clock: systemClock,
    program,
  });
};

export const couponContract = (freshStore: () => Promise<CustomerStore>) => {
  it('answers a copy of a request that spent the last points with its coupon, not a balance too short', async () => {
    const store = await freshStore();
    const deps = { store, clock: systemClock, program, signer: testSigner() };
    await fund(store, 'c-9', 1000);
    await redeemReward({ customerId: 'c-9', rewardId: 'five-off', requestId: 'r-a' }, deps);
    expect((await store.getProfile('c-9'))?.pointsBalance).toBe(500);
    const input = { customerId: 'c-9', rewardId: 'five-off', requestId: 'r-b' };
    // The copy reads while the first spends the last 500 points.
    let first: Awaited<ReturnType<typeof redeemReward>> | undefined;
    const racing = Object.create(store) as CustomerStore;
    racing.getLedgerEntry = async (customerId, entryId) => {
      const entry = await store.getLedgerEntry(customerId, entryId);
      first ??= await redeemReward(input, deps);
      return entry;
    };
    const copy = await redeemReward(input, { ...deps, store: racing });
    expect(copy).toMatchObject({ code: first?.code, duplicate: true, balance: 0 });
    expect((await store.getProfile('c-9'))?.pointsBalance).toBe(0);
  });

  it('gives two customers who reuse a request id different coupons, each their own', async () => {
    const store = await freshStore();
    const deps = { store, clock: systemClock, program, signer: testSigner() };
    await fund(store, 'c-1');
    await fund(store, 'c-2');

    const first = await redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);
    const second = await redeemReward({ customerId: 'c-2', rewardId: 'five-off', requestId: 'r-1' }, deps);

    expect(second.code).not.toBe(first.code);
    expect(await store.getCoupon('c-1', first.code)).toMatchObject({ customerId: 'c-1', requestId: 'r-1' });
    expect(await store.getCoupon('c-2', second.code)).toMatchObject({ customerId: 'c-2', requestId: 'r-1' });
    expect(await store.getCoupon('c-2', first.code)).toBeUndefined();
    expect((await store.getProfile('c-1'))?.pointsBalance).toBe(700);
    expect((await store.getProfile('c-2'))?.pointsBalance).toBe(700);
  });

  it('returns the same coupon on every retry of the same customer and request', async () => {
    const store = await freshStore();
    const deps = { store, clock: systemClock, program, signer: testSigner() };
    await fund(store, 'c-1');

    const first = await redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);
    const again = await redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);

    expect(again).toMatchObject({ code: first.code, duplicate: true, balance: 700 });
  });

  it('refuses a code another customer holds and moves on to the next, never sharing it', async () => {
    const store = await freshStore();
    const deps = { store, clock: systemClock, program, signer: collidingSigner };
    await fund(store, 'c-1');
    await fund(store, 'c-2');

    const first = await redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-1' }, deps);
    const second = await redeemReward({ customerId: 'c-2', rewardId: 'five-off', requestId: 'r-1' }, deps);
    const retried = await redeemReward({ customerId: 'c-2', rewardId: 'five-off', requestId: 'r-1' }, deps);

    expect(second.code).not.toBe(first.code);
    expect(retried).toMatchObject({ code: second.code, duplicate: true });
    expect(await store.getCoupon('c-1', first.code)).toMatchObject({ customerId: 'c-1', requestId: 'r-1' });
    expect((await store.getProfile('c-2'))?.pointsBalance).toBe(700);
    expect((await store.ledger('c-2')).filter((e) => e.kind === 'redeem')).toMatchObject([
      { couponCode: second.code, points: -500 },
    ]);
  });
};
