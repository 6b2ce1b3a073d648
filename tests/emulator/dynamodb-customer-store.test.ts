import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsufficientPointsError } from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { accountProblems, emptyAccount } from '../../domain/loyalty/account.ts';
import { TABLE_DESIGN } from '../../domain/table-design.ts';
import { redeemReward } from '../../domain/use-cases/points.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { DynamoDbCustomerStore } from '../../functions/adapters/dynamodb-customer-store.ts';
import { systemClock } from '../../functions/commons/runtime.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningEmulator,
  startDynamoDbLocal,
} from '../../local/emulators.ts';
import { eventFixture } from '../support/fixtures.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram, testProgram } from '../support/program.ts';

const program = testProgram;

describe('the DynamoDB customer store against DynamoDB Local', () => {
  let dynamo: RunningEmulator;
  let store: DynamoDbCustomerStore;
  const capacity: { operation: string; units: number }[] = [];
  let tableCount = 0;

  const freshStore = async () => {
    const tableName = `customers-${++tableCount}`;
    await createTable(dynamo.endpoint, {
      TableName: tableName,
      KeySchema: [
        { AttributeName: TABLE_DESIGN.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_DESIGN.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_DESIGN.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_DESIGN.sortKey, AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    return new DynamoDbCustomerStore(client, tableName, (operation, consumed) => {
      for (const c of consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed]) {
        capacity.push({ operation, units: c.CapacityUnits ?? 0 });
      }
    });
  };

  const order = (n: number, customerId = 'c-1') => {
    const event = eventFixture('order-placed');
    event.id = `event-${customerId}-${n}`;
    Object.assign(event.detail, {
      orderId: `o-${n}`,
      customerId,
      total: n + 0.25,
      placedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    });
    return parseCommerceEvent(event, eventContext(systemClock.now(), program));
  };

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('keeps exact totals when fifty orders for one customer arrive at once', async () => {
    store = await freshStore();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => recordEvent(order(i + 1), { store, clock: systemClock, program })),
    );
    expect(results.every((r) => r.outcome === 'applied')).toBe(true);
    const profile = await store.getProfile('c-1');
    // 1.25 + 2.25 + ... + 50.25 = 1275 + 12.50
    expect(profile).toMatchObject({
      orderCount: 50,
      lifetimeSpendMinor: 128_750,
      firstOrderAt: '2026-01-01T00:01:00.000Z',
      lastOrderAt: '2026-01-01T00:50:00.000Z',
    });
    expect(profile?.version).toBe(50);
  });

  it('records an order delivered twenty times at once exactly once', async () => {
    store = await freshStore();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => recordEvent(order(7), { store, clock: systemClock, program })),
    );
    expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(1);
    expect(await store.getProfile('c-1')).toMatchObject({ orderCount: 1, lifetimeSpendMinor: 725 });
  });

  it('awards an order delivered ten times at once exactly once: one ledger entry, one balance change', async () => {
    store = await freshStore();
    await Promise.all(
      Array.from({ length: 10 }, () => recordEvent(order(42), { store, clock: systemClock, program })),
    );
    expect(await store.getProfile('c-1')).toMatchObject({ pointsBalance: 42, lifetimePoints: 42 });
    expect(await store.ledger('c-1')).toMatchObject([
      { entryId: 'earn:order:o-42', points: 42, ruleId: 'base-earn' },
    ]);
    expect(await store.getOrder('c-1', 'o-42')).toMatchObject({ pointsAwarded: 42 });
  });

  it('lets racing redemptions spend only what the balance holds, and a repeated request only once', async () => {
    const catalog = loyaltyProgram({
      rewards: [{ id: 'five-off', name: '$5 off', cost: 500, kind: 'fixed_discount', amount: 5 }],
    });
    store = await freshStore();
    const deps = { store, clock: systemClock, program: catalog };
    await recordEvent(order(1200), deps);
    const attempts = await Promise.allSettled([
      ...Array.from({ length: 6 }, (_, i) =>
        redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: `r-${i}` }, deps),
      ),
      ...Array.from({ length: 4 }, () =>
        redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: 'r-0' }, deps),
      ),
    ]);
    const refused = attempts.filter((a) => a.status === 'rejected');
    expect(refused.every((a) => a.status === 'rejected' && a.reason instanceof InsufficientPointsError)).toBe(
      true,
    );
    const codes = new Set(attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value.code] : [])));
    // 1200 points buy two rewards of 500: two distinct coupons, whoever won.
    expect(codes.size).toBe(2);
    const profile = await store.getProfile('c-1');
    expect(profile?.pointsBalance).toBe(200);
    const entries = await store.ledger('c-1');
    expect(entries.filter((e) => e.kind === 'redeem')).toHaveLength(2);
    expect(accountProblems(profile?.points ?? emptyAccount(), entries)).toEqual([]);
  });

  it('keeps points consistent when a refund races a redemption of the same points', async () => {
    const catalog = loyaltyProgram({
      rewards: [{ id: 'five-off', name: '$5 off', cost: 500, kind: 'fixed_discount', amount: 5 }],
      points: { negativeBalance: 'debt' },
    });
    for (let round = 1; round <= 5; round++) {
      store = await freshStore();
      const deps = { store, clock: systemClock, program: catalog };
      await recordEvent(order(600), deps);
      const refund = eventFixture('order-refunded');
      Object.assign(refund.detail, { customerId: 'c-1', orderId: 'o-600', amount: 600.25 });
      await Promise.allSettled([
        redeemReward({ customerId: 'c-1', rewardId: 'five-off', requestId: `r-${round}` }, deps),
        recordEvent(parseCommerceEvent(refund, eventContext(systemClock.now(), program)), deps),
      ]);
      const profile = await store.getProfile('c-1');
      const entries = await store.ledger('c-1');
      expect(accountProblems(profile?.points ?? emptyAccount(), entries)).toEqual([]);
      // Whichever came first, all 600 points were taken back: from the balance, or owed as debt.
      const redeemed = entries.some((e) => e.kind === 'redeem');
      expect(profile).toMatchObject({ pointsBalance: 0, pointsDebt: redeemed ? 500 : 0 });
    }
  });

  it('claims a send once and lets only a sure failure release it', async () => {
    store = await freshStore();
    const claim = { customerId: 'c-1', key: 'flow#event#step', templateId: 't', at: '2026-01-01T00:00:00Z' };
    expect(await store.claimSend(claim)).toBe('claimed');
    expect(await store.claimSend(claim)).toBe('taken');
    await store.releaseSend('c-1', claim.key);
    expect(await store.claimSend(claim)).toBe('claimed');
    await store.completeSend('c-1', claim.key, 'm-1');
    await expect(store.releaseSend('c-1', claim.key)).rejects.toThrow(/conditional/i);
    expect(await store.getSend('c-1', claim.key)).toMatchObject({ status: 'sent', messageId: 'm-1' });
  });

  it('keeps an opt-out through a replayed older registration, reading back when each field was set', async () => {
    store = await freshStore();
    const registration = (n: number, registeredAt: string, marketingConsent: boolean) => {
      const event = eventFixture('customer-registered');
      event.id = `event-reg-${n}`;
      Object.assign(event.detail, { customerId: 'c-consent', registeredAt, marketingConsent });
      return parseCommerceEvent(event, eventContext(systemClock.now(), program));
    };
    const deps = { store, clock: systemClock, program };
    const yes = registration(1, '2026-01-01T00:00:00Z', true);
    await recordEvent(yes, deps);
    await recordEvent(registration(2, '2026-03-01T00:00:00Z', false), deps);
    await recordEvent(yes, deps);
    await recordEvent(registration(3, '2026-02-01T00:00:00Z', true), deps);
    expect(await store.getProfile('c-consent')).toMatchObject({
      marketingConsent: false,
      asOf: { marketingConsent: '2026-03-01T00:00:00Z', email: '2026-03-01T00:00:00Z' },
      registeredAt: '2026-01-01T00:00:00Z',
    });
  });

  it('reports the capacity every call consumes', async () => {
    expect(capacity.some((c) => c.operation === 'TransactWriteItems' && c.units > 0)).toBe(true);
    expect(capacity.some((c) => c.operation === 'GetItem' && c.units > 0)).toBe(true);
  });
});
