import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { accountProblems } from '../../domain/loyalty/account.ts';
import type { Clock, PublishedEvent } from '../../domain/ports.ts';
import { keys, TABLE_DESIGN } from '../../domain/table-design.ts';
import { redeemReward, settleAndPublish } from '../../domain/use-cases/points.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-journey-store.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningEmulator,
  startDynamoDbLocal,
} from '../../local/emulators.ts';
import { itemBytes } from '../../local/item-size.ts';
import { eventFixture } from '../support/fixtures.ts';
import { testSigner } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';

// A loyal customer over five years, against DynamoDB Local with the shipped program: 2,000 orders,
// redemptions, weekly settlements. With one lot per order the profile passed 400 KB near 1,800
// live lots and every write for the customer failed; lots are now buckets (decision 35).

const DAY = 86_400_000;
const START = Date.parse('2021-01-04T15:00:00.000Z');
const ORDERS = 2_000;
const SPAN_DAYS = 5 * 365;

describe('a customer with 2,000 orders over five years', () => {
  const program = compileProject(readWorkflowSources()).program;
  let dynamo: RunningEmulator;
  let store: DynamoDbStore;
  let client: DynamoDBClient;
  let current = START;
  const clock: Clock = { now: () => new Date(current), sleep: async () => {} };
  const published: PublishedEvent[] = [];
  const publisher = { publish: async (events: readonly PublishedEvent[]) => void published.push(...events) };
  const sizes: number[] = [];

  const profileBytes = async () => {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: 'long-history',
        Key: { pk: { S: keys.customer('c-loyal') }, sk: { S: keys.profile } },
      }),
    );
    return Item ? itemBytes(Item) : 0;
  };
  const order = (n: number, placedAt: number) => {
    const event = eventFixture('order-placed');
    event.id = `event-${n}`;
    Object.assign(event.detail, {
      orderId: `o-${n}`,
      customerId: 'c-loyal',
      currency: 'USD',
      total: 20 + (n % 7) * 9.5,
      placedAt: new Date(placedAt).toISOString(),
      items: [{ sku: 'CD-1', quantity: 1, unitPrice: 20 + (n % 7) * 9.5 }],
    });
    return parseCommerceEvent(event, eventContext(new Date(current), program));
  };

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    await createTable(dynamo.endpoint, {
      TableName: 'long-history',
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
    client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    store = new DynamoDbStore(client, 'long-history');
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('can still order, redeem and be settled, and its profile stays small', {
    timeout: 900_000,
  }, async () => {
    const deps = { store, clock, program };
    let redeemed = 0;
    let day = -1;
    for (let n = 0; n < ORDERS; n++) {
      const placedAt = START + Math.floor((n * SPAN_DAYS * DAY) / ORDERS);
      // A settlement each week (the sweeper comes for warnings), then the order a minute after it was placed.
      if (Math.floor((placedAt - START) / (7 * DAY)) !== day) {
        day = Math.floor((placedAt - START) / (7 * DAY));
        current = START + day * 7 * DAY;
        await settleAndPublish('c-loyal', { ...deps, publisher });
      }
      current = placedAt + 60_000;
      const result = await recordEvent(order(n, placedAt), deps);
      expect(result.outcome).toBe('applied');
      if (n % 50 === 49) {
        const coupon = await redeemReward(
          { customerId: 'c-loyal', rewardId: 'five-off', requestId: `req-${n}` },
          { ...deps, signer: testSigner() },
        );
        expect(coupon.duplicate).toBe(false);
        redeemed++;
      }
      if (n % 100 === 99) {
        sizes.push(await profileBytes());
        console.log(n, sizes.at(-1), Date.now() % 1e6);
      }
    }
    // A year after the last order everything has matured and most has expired, in few entries.
    current += 400 * DAY;
    const settled = await settleAndPublish('c-loyal', { ...deps, publisher });
    expect(settled.written).toBeGreaterThan(0);

    const profile = await store.getProfile('c-loyal');
    const ledger = await store.ledger('c-loyal');
    expect(profile?.orderCount).toBe(ORDERS);
    expect(accountProblems(profile?.points ?? ({} as never), ledger)).toEqual([]);
    expect(profile?.points?.redeemed).toBe(redeemed * 500);
    // Bounded by the window, not by the 2,000 orders: a lot per day of the return window and per
    // month of the expiry window, a tier amount per day of the tier window.
    expect(Math.max(...sizes)).toBeLessThan(16 * 1024);
    expect(sizes.at(-1)).toBeLessThan(sizes[Math.floor(sizes.length / 2)]! * 1.5);
    expect(profile?.points?.qualifying.length).toBeLessThanOrEqual(367);
    // One earn entry per order, one per redemption, and what falls due batched into at most one
    // entry per rule per write of the account: never one per lot.
    const settlements = ledger.filter((e) => e.entryId.startsWith('settle:'));
    expect(ledger.filter((e) => e.kind === 'earn')).toHaveLength(ORDERS);
    const writes = ORDERS + redeemed + Math.ceil(SPAN_DAYS / 7) + 1;
    expect(settlements.length).toBeLessThanOrEqual(2 * writes);
    const lotsSettled = settlements.reduce((n, e) => n + (e.lots?.length ?? 0), 0);
    expect(lotsSettled).toBeGreaterThan(settlements.length);
    expect(settlements.some((e) => (e.lots?.length ?? 0) > 1)).toBe(true);
    expect(published.filter((e) => e.detailType === 'points.expiring').length).toBeGreaterThan(0);
  });
});
