import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { shardOf } from '../../domain/journeys.ts';
import type { Clock, PublishedEvent } from '../../domain/ports.ts';
import { TABLE_DESIGN } from '../../domain/table-design.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { sweep } from '../../domain/use-cases/sweep.ts';
import { sweepConfig } from '../../domain/workflow/compile.ts';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-journey-store.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningEmulator,
  startDynamoDbLocal,
} from '../../local/emulators.ts';
import { eventFixture } from '../support/fixtures.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// The points timer item is written beside the account's transaction, not in it (decision 35):
// earlier due times before it, later ones after it under the account's version. A lost or late
// write of it must never make a warning late.

const DAY = 86_400_000;
const program = loyaltyProgram({
  points: { pendingDays: 30, expiry: { afterDays: 365, warnDaysBefore: 30 } },
});

/** A store whose next write of the timer item after a transaction is lost: a crash in between. */
class LosingStore extends DynamoDbStore {
  loseNextLater = false;
  protected override async writeDue(
    customerId: string,
    due: string | undefined,
    version: number,
    direction: 'earlier' | 'later',
  ) {
    if (direction === 'later' && this.loseNextLater) {
      this.loseNextLater = false;
      throw Object.assign(new Error('injected: Runtime exited'), { name: 'Runtime.ExitError' });
    }
    return super.writeDue(customerId, due, version, direction);
  }
  /** A write of the timer item that arrives late, from an older version of the account. */
  lateWrite(customerId: string, due: string, version: number) {
    return super.writeDue(customerId, due, version, 'later');
  }
}

describe('the points timer item beside the transaction, against DynamoDB Local', () => {
  let dynamo: RunningEmulator;
  let tables = 0;
  let current = Date.parse('2026-01-05T12:00:00.000Z');
  const clock: Clock = { now: () => new Date(current), sleep: async () => {} };
  const published: PublishedEvent[] = [];
  const publisher = { publish: async (events: readonly PublishedEvent[]) => void published.push(...events) };

  const freshStore = async () => {
    const name = `points-timer-${++tables}`;
    const { index } = TABLE_DESIGN;
    await createTable(dynamo.endpoint, {
      TableName: name,
      KeySchema: [
        { AttributeName: TABLE_DESIGN.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_DESIGN.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_DESIGN.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_DESIGN.sortKey, AttributeType: 'S' },
        { AttributeName: index.partitionKey, AttributeType: 'S' },
        { AttributeName: index.sortKey, AttributeType: 'S' },
      ],
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
    return new LosingStore(client, name);
  };
  const order = (orderId: string) => {
    const event = eventFixture('order-placed');
    event.id = `event-${orderId}`;
    Object.assign(event.detail, {
      orderId,
      customerId: 'c-1',
      currency: 'USD',
      total: 42,
      placedAt: new Date(current).toISOString(),
      items: [{ sku: 'CD-1', quantity: 1, unitPrice: 42 }],
    });
    return parseCommerceEvent(event, eventContext(new Date(current), program));
  };
  const dueOf = async (store: LosingStore) =>
    (await store.duePointAccounts(shardOf('c-1'), '9999-12-31T23:59:59.999Z', 10)).map((d) => d.dueAt);
  const sweepNow = (store: LosingStore) =>
    sweep(sweepConfig([], program), {
      store,
      clock,
      publisher,
      starter: { start: async () => {} },
    });

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('warns on time and once when the write after a settlement is lost, and the next sweep mends the entry', async () => {
    const store = await freshStore();
    await recordEvent(order('o-1'), { store, clock, program });
    const warnAt = '2027-01-05T12:00:00.000Z';
    expect(await dueOf(store)).toEqual([warnAt]);
    // A second order a month later: its expiry is later, the entry stays where it was.
    current += 31 * DAY;
    await recordEvent(order('o-2'), { store, clock, program });
    expect(await dueOf(store)).toEqual([warnAt]);

    current = Date.parse(warnAt);
    store.loseNextLater = true;
    const first = await sweepNow(store);
    expect(first).toMatchObject({ failed: 1 });
    expect(published.map((e) => e.detail.expiresOn)).toEqual(['2027-02-04']);
    // The account moved on; its entry stayed early, which only brings the sweeper back.
    expect(await dueOf(store)).toEqual([warnAt]);

    current += 60_000;
    expect(await sweepNow(store)).toMatchObject({ failed: 0 });
    expect(published).toHaveLength(1);
    expect(await dueOf(store)).toEqual(['2027-02-05T12:00:00.000Z']);
  });

  it('refuses a late write of the entry from an older version of the account', async () => {
    const store = await freshStore();
    current = Date.parse('2026-01-05T12:00:00.000Z');
    await recordEvent(order('o-1'), { store, clock, program });
    const profile = await store.getProfile('c-1');
    expect(profile?.version).toBe(1);
    // Version 1 wrote 5 January; a write meant for version 0 (a far later due time) lands late.
    await store.lateWrite('c-1', '2027-06-01T00:00:00.000Z', 0);
    expect(await dueOf(store)).toEqual(['2027-01-05T12:00:00.000Z']);
    // The same version may write again (a retry of the same settlement).
    await store.lateWrite('c-1', '2026-12-06T00:00:00.000Z', 1);
    expect(await dueOf(store)).toEqual(['2026-12-06T00:00:00.000Z']);
  });
});
