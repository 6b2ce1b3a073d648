import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CouponCodeTakenError, InsufficientPointsError } from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { type Journey, shardOf, type Wait } from '../../domain/journeys.ts';
import { accountProblems, emptyAccount } from '../../domain/loyalty/account.ts';
import { dueRulesFingerprint } from '../../domain/loyalty/engine.ts';
import type { DueAccount, PublishedEvent } from '../../domain/ports.ts';
import { keys, TABLE_DESIGN } from '../../domain/table-design.ts';
import { issueCoupon } from '../../domain/use-cases/journeys.ts';
import { redeemReward } from '../../domain/use-cases/points.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { sweep } from '../../domain/use-cases/sweep.ts';
import { sweepConfig } from '../../domain/workflow/compile.ts';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-journey-store.ts';
import { systemClock } from '../../functions/commons/runtime.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningEmulator,
  startDynamoDbLocal,
} from '../../local/emulators.ts';
import { couponContract } from '../support/coupon-contract.ts';
import { eventFixture } from '../support/fixtures.ts';
import { testSigner } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram, testProgram } from '../support/program.ts';

const program = testProgram;

describe('the DynamoDB customer store against DynamoDB Local', () => {
  let dynamo: RunningEmulator;
  let store: DynamoDbStore;
  let tableName = '';
  const capacity: { operation: string; units: number }[] = [];
  let tableCount = 0;

  const freshStore = async () => {
    tableName = `customers-${++tableCount}`;
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
    return new DynamoDbStore(client, tableName, (operation, consumed) => {
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

  it('keeps an event for an unknown order only while it is unknown, and tells its order it waits', async () => {
    store = await freshStore();
    const pending = (factKey: string) => ({
      orderId: 'o-9',
      factKey,
      envelope: { id: `env-${factKey}`, 'detail-type': 'order.refunded', source: 'shop', detail: { n: 1 } },
      receivedAt: '2026-01-02T00:00:00.000Z',
    });
    // Nobody knows the order: the refund waits, by order id alone.
    expect(await store.waitForOrder(pending('order.refunded:r-1'))).toBe('waiting');
    // Its customer is named but the order is not in their partition yet: it waits too.
    expect(await store.waitForOrder(pending('order.refunded:r-2'), 'c-1')).toBe('waiting');
    expect(await store.noteOrderOwner('o-9', 'c-1')).toEqual({ waiting: true });
    expect((await store.pendingForOrder('o-9')).map((p) => p.factKey).sort()).toEqual([
      'order.refunded:r-1',
      'order.refunded:r-2',
    ]);
    expect(await store.findOrderOwner('o-9')).toBe('c-1');
    // Once the owner is known, an event that read "unknown" before loses its race and reads again.
    expect(await store.waitForOrder(pending('order.refunded:r-3'))).toBe('order-recorded');
    await store.releasePending('o-9', 'order.refunded:r-1');
    expect((await store.pendingForOrder('o-9')).map((p) => p.factKey)).toEqual(['order.refunded:r-2']);
    // Its order recorded in the named customer's partition: no more waiting under that customer.
    await recordEvent(order(9), { store, clock: systemClock, program });
    expect(await store.waitForOrder(pending('order.refunded:r-4'), 'c-1')).toBe('order-recorded');
    expect(await store.noteOrderOwner('o-7', 'c-1')).toEqual({ waiting: false });
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
    const deps = { store, clock: systemClock, program: catalog, signer: testSigner() };
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
      const deps = { store, clock: systemClock, program: catalog, signer: testSigner() };
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

  describe('with reward coupons', () => {
    couponContract(freshStore);
  });

  /** An item as stored, attributes the ports do not expose (ttl) included. */
  const rawItem = async (pk: string, sk: string) => {
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    );
    return (await doc.send(new GetCommand({ TableName: tableName, Key: { pk, sk } }))).Item;
  };
  const epoch = (iso: string) => Date.parse(iso) / 1000;
  const DAY = 86_400;

  it('issues a journey coupon once per step and refuses its code to another customer', async () => {
    store = await freshStore();
    const signer = testSigner();
    const clock = { now: () => new Date('2026-03-01T10:00:00Z'), sleep: async () => {} };
    const deps = { store, clock, signer, starter: { start: async () => {} }, defaultTimeZone: 'UTC' };
    const step = {
      customerId: 'c-1',
      flowId: 'win-back',
      journeyId: 'j-1',
      revision: 'r',
      stepId: 'coupon',
      discount: { percent: 10 },
      validMinutes: 7 * 1440,
      prefix: 'COMEBACK',
    };

    const first = await issueCoupon(step, deps);
    const retried = await issueCoupon(step, deps);
    const other = await issueCoupon({ ...step, customerId: 'c-2' }, deps);

    expect(retried.code).toBe(first.code);
    expect(other.code).not.toBe(first.code);
    await expect(
      store.issueCoupon({
        customerId: 'c-2',
        code: first.code,
        flowId: 'win-back',
        journeyId: 'j-9',
        stepId: 'coupon',
        discount: { percent: 50 },
        issuedAt: '2026-03-01T10:00:00Z',
        expiresAt: '2026-03-08T10:00:00Z',
      }),
    ).rejects.toThrow(CouponCodeTakenError);
    expect(await rawItem(keys.customer('c-2'), keys.coupon(first.code))).toBeUndefined();
    // Kept 90 days past its expiry, both the customer's coupon and the code's own item.
    const ttl = epoch('2026-03-08T10:00:00Z') + 90 * DAY;
    expect(await rawItem(keys.customer('c-1'), keys.coupon(first.code))).toMatchObject({ ttl });
    expect(await rawItem(keys.couponCode(first.code), keys.couponCodeItem)).toMatchObject({
      ttl,
      customerId: 'c-1',
    });
  });

  const journey = (journeyId: string, at: string): Journey => ({
    customerId: 'c-1',
    flowId: 'review-request',
    journeyId,
    revision: 'r',
    status: 'active',
    enteredAt: at,
    triggerEventId: journeyId,
    exitOn: [],
    buckets: {},
    capped: false,
  });
  const wait = (journeyId: string, dueAt: string): Wait => ({
    customerId: 'c-1',
    flowId: 'review-request',
    journeyId,
    revision: 'r',
    stepId: 'wait',
    dueAt,
    targets: {},
    context: { trigger: {}, steps: {} },
    status: 'waiting',
  });

  it('gives finished journeys and send claims a ttl 400 days out, and lists only live journeys', async () => {
    store = await freshStore();
    const at = '2026-01-10T00:00:00.000Z';
    await store.enterJourney(journey('j-live', at), undefined, { exclusive: false });
    await store.enterJourney(journey('j-done', at), { entries: 1 }, { exclusive: false });
    await store.endJourney(journey('j-done', at), 'completed', at);
    await store.claimSend({ customerId: 'c-1', key: 'f#e#s', templateId: 't', at });

    expect(await rawItem(keys.customer('c-1'), keys.journey('review-request', 'j-done'))).toMatchObject({
      ttl: epoch(at) + 400 * DAY,
    });
    expect(await rawItem(keys.customer('c-1'), keys.journey('review-request', 'j-live'))).not.toHaveProperty(
      'ttl',
    );
    expect(await rawItem(keys.customer('c-1'), keys.send('f#e#s'))).toMatchObject({
      ttl: epoch(at) + 400 * DAY,
    });
    const { journeys } = await store.listActive('c-1', at);
    expect(journeys.map((j) => j.journeyId)).toEqual(['j-live']);
  });

  it('gives up a wait claimed and never resumed after 14 days: not listed, not claimed again', async () => {
    store = await freshStore();
    const claimedAt = '2026-01-10T00:00:00.000Z';
    const later = '2026-01-25T00:00:00.000Z';
    await store.enterJourney(journey('j-1', claimedAt), undefined, { exclusive: false });
    await store.putWait(wait('j-1', claimedAt));
    expect(await store.claimWait(wait('j-1', claimedAt), 'elapsed', claimedAt)).toBe(true);
    // Still there (DynamoDB deletes within days, and DynamoDB Local runs without TTL) but expired.
    expect(await rawItem(keys.customer('c-1'), keys.wait('review-request', 'j-1'))).toMatchObject({
      status: 'resuming',
      ttl: epoch(claimedAt) + 14 * DAY,
    });

    expect((await store.listActive('c-1', '2026-01-10T00:05:00.000Z')).waits).toHaveLength(1);
    expect((await store.listActive('c-1', later)).waits).toEqual([]);
    expect(await store.claimWait(wait('j-1', claimedAt), 'elapsed', later)).toBe(false);
  });

  it('reads one live journey among thirty finished ones for at most 1 RCU (eventually consistent)', async () => {
    store = await freshStore();
    const at = '2026-01-10T00:00:00.000Z';
    await store.enterJourney(journey('j-live', at), undefined, { exclusive: false });
    const read = async () => {
      const before = capacity.length;
      await store.listActive('c-1', at);
      return capacity.slice(before).reduce((sum, c) => sum + c.units, 0);
    };
    const live = await read();
    for (let i = 0; i < 30; i++) {
      await store.enterJourney(journey(`j-${i}`, at), { entries: i + 1 }, { exclusive: false });
      await store.endJourney(journey(`j-${i}`, at), 'completed', at);
    }
    const withFinished = await read();
    expect((await store.listActive('c-1', at)).journeys).toHaveLength(1);
    expect(live).toBe(0.5);
    expect(withFinished).toBeLessThanOrEqual(1);
  });

  describe('the timer index the sweeper reads', () => {
    const indexed = async () => {
      const tableName = `indexed-${++tableCount}`;
      const { partitionKey, sortKey, index } = TABLE_DESIGN;
      await createTable(dynamo.endpoint, {
        TableName: tableName,
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [partitionKey, sortKey, index.partitionKey, index.sortKey].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
        GlobalSecondaryIndexes: [
          {
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      });
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      return new DynamoDbStore(client, tableName);
    };
    const warning = (warnDaysBefore: number) =>
      loyaltyProgram({ points: { expiry: { afterDays: 365, warnDaysBefore } } });
    /** Five customers on timer shard 3, each with 1 point from 00:01 on 1 January 2026, in index order. */
    const accounts = async (target: DynamoDbStore, program = warning(7)) => {
      const ids = Array.from({ length: 400 }, (_, i) => `c-${i}`)
        .filter((id) => shardOf(id) === 3)
        .slice(0, 5)
        .sort();
      const clock = { now: () => new Date('2026-01-01T00:00:00Z'), sleep: async () => {} };
      for (const customerId of ids)
        await recordEvent(order(1, customerId), { store: target, clock, program });
      return ids;
    };
    const sweepAt = (target: DynamoDbStore, at: string) => {
      const events: PublishedEvent[] = [];
      return {
        events,
        deps: {
          store: target,
          clock: { now: () => new Date(at), sleep: async () => {} },
          starter: { start: async () => {} },
          publisher: { publish: async (batch: readonly PublishedEvent[]) => void events.push(...batch) },
        },
      };
    };

    it('pages due accounts on from the last one, past a full page, with their stored due times', async () => {
      const indexedStore = await indexed();
      const ids = await accounts(indexedStore);
      const pages: DueAccount[][] = [];
      let after: DueAccount | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await indexedStore.duePointAccounts(3, '2027-06-01T00:00:00Z', 2, after);
        pages.push(page);
        if (page.length < 2) break;
        after = page.at(-1);
      }
      expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(
        ids.map((customerId) => ({ customerId, dueAt: '2026-12-25T00:01:00.000Z' })),
      );
    });

    it('re-checks every entry after warnDaysBefore grows, so the warnings go out on time', async () => {
      const indexedStore = await indexed();
      const ids = await accounts(indexedStore);
      await indexedStore.setTimerIndexState({ fingerprint: dueRulesFingerprint(warning(7)) });
      const edited = warning(30);
      const { deps, events } = sweepAt(indexedStore, '2026-12-10T00:00:00Z');
      const result = await sweep(sweepConfig([], edited), deps, 2);
      expect(result).toMatchObject({ published: 5, failed: 0 });
      expect(events.map((e) => [e.detailType, e.detail.customerId]).sort()).toEqual(
        ids.map((id) => ['points.expiring', id]),
      );
      expect(await indexedStore.getTimerIndexState()).toEqual({ fingerprint: dueRulesFingerprint(edited) });
      // Warned, nothing else is due: the expiry needs no visit (a read derives it), so the entries go.
      expect(await indexedStore.duePointAccounts(3, '9999-12-31T23:59:59.999Z', 10)).toEqual([]);
    });

    it('pages due waits on from the last one and keeps a cursor with its failing trigger', async () => {
      const indexedStore = await indexed();
      const journeys = Array.from({ length: 400 }, (_, i) => `j-${i}`)
        .filter((id) => shardOf(`c-1/${id}`) === 5)
        .slice(0, 3);
      for (const journeyId of journeys)
        await indexedStore.putWait({
          customerId: 'c-1',
          flowId: 'win-back',
          journeyId,
          revision: 'r1',
          stepId: 'pause',
          dueAt: '2026-01-02T00:00:00.000Z',
          targets: { elapsed: 'next' },
          context: { trigger: {}, steps: {} },
          status: 'waiting',
        });
      const first = await indexedStore.dueWaits(5, '2026-01-03T00:00:00Z', 2);
      const second = await indexedStore.dueWaits(5, '2026-01-03T00:00:00Z', 2, first.at(-1));
      expect([...first, ...second].map((w) => w.journeyId)).toEqual([...journeys].sort());
      const cursor = { at: '2026-01-03T00:00:00.000Z', failing: { eventId: 'inactive:c-1', attempts: 2 } };
      await indexedStore.setCursor('inactivity#30', cursor);
      expect(await indexedStore.getCursor('inactivity#30')).toEqual(cursor);
    });
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
      consent: { '*': { granted: false, at: '2026-03-01T00:00:00Z', source: 'registration' } },
      asOf: { email: '2026-03-01T00:00:00Z' },
      registeredAt: '2026-01-01T00:00:00Z',
    });
  });

  it('reports the capacity every call consumes', async () => {
    expect(capacity.some((c) => c.operation === 'TransactWriteItems' && c.units > 0)).toBe(true);
    expect(capacity.some((c) => c.operation === 'GetItem' && c.units > 0)).toBe(true);
  });
});
