import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ConcurrencyConflictError, CouponCodeTakenError } from '#domain/errors.ts';
import {
  type FlowMemory,
  type Journey,
  type JourneyStatus,
  type ResumeOutcome,
  shardOf,
  type Wait,
} from '#domain/journeys.ts';
import type {
  Coupon,
  CouponBook,
  EnterOutcome,
  JourneyStore,
  StoredCoupon,
  SweepCursor,
} from '#domain/ports.ts';
import { expiresAfter, keys, RETENTION_DAYS, TABLE_DESIGN } from '#domain/table-design.ts';
import { DynamoDbCustomerStore } from './dynamodb-customer-store.ts';
import {
  cursorItem,
  ITEM_KINDS,
  journeyCouponItem,
  journeyItem,
  memoryItem,
  parseItem,
  UnreadableItemError,
  waitItem,
} from './table-items.ts';

export { journeyItem, waitItem } from './table-items.ts';

// Journeys, waits, coupons and sweep cursors, in the same table and partitions as the customer.

const waitSortKey = (wait: Pick<Wait, 'dueAt' | 'customerId' | 'flowId' | 'journeyId'>) =>
  `${wait.dueAt}#${wait.customerId}#${wait.flowId}#${wait.journeyId}`;

/** A claimed wait that was never resumed (the claimer crashed) is resumed again after this long. */
const STALE_CLAIM_MS = 2 * 60_000;
const { partitionKey: PK, sortKey: SK, index, timeToLive: TTL } = TABLE_DESIGN;
const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export class DynamoDbStore extends DynamoDbCustomerStore implements JourneyStore, CouponBook {
  async getFlowMemory(customerId: string, flowId: string): Promise<FlowMemory | undefined> {
    const item = await this.getItem(customerId, keys.flowMemory(flowId));
    return item ? memoryItem.parse(item) : undefined;
  }

  async enterJourney(
    journey: Journey,
    before: FlowMemory | undefined,
    { cap, exclusive }: { cap?: number | undefined; exclusive: boolean },
  ): Promise<EnterOutcome> {
    const memoryKey = this.key(journey.customerId, keys.flowMemory(journey.flowId));
    const memoryGuard =
      before === undefined
        ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }
        : {
            ConditionExpression: exclusive
              ? 'entries = :entries AND attribute_not_exists(activeJourneyId)'
              : 'entries = :entries',
            ExpressionAttributeValues: { ':entries': before.entries },
          };
    const items = [
      this.guardedPut(
        journey.customerId,
        keys.journey(journey.flowId, journey.journeyId),
        'journey',
        journey,
      ),
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...memoryKey,
            type: 'flow-memory',
            entries: (before?.entries ?? 0) + 1,
            lastEnteredAt: journey.enteredAt,
            ...(exclusive ? { activeJourneyId: journey.journeyId } : {}),
          },
          ...memoryGuard,
        },
      },
      ...(cap === undefined
        ? []
        : [
            {
              Update: {
                TableName: this.tableName,
                Key: { [PK]: keys.flowCounter(journey.flowId), [SK]: keys.flowCounterItem },
                UpdateExpression: 'SET #type = :type ADD active :one',
                ConditionExpression: 'attribute_not_exists(active) OR active < :cap',
                ExpressionAttributeNames: { '#type': 'type' },
                ExpressionAttributeValues: { ':one': 1, ':cap': cap, ':type': 'flow-counter' },
              },
            },
          ]),
    ];
    const outcome = await this.transact(items);
    if (outcome !== 'conflict' || cap === undefined) return outcome;
    // Which guard failed? A full flow is not a conflict to retry.
    const counter = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': keys.flowCounter(journey.flowId) },
      }),
    );
    const active = Number(counter.Items?.[0]?.active ?? 0);
    return active >= cap ? 'full' : 'conflict';
  }

  async getJourney(customerId: string, flowId: string, journeyId: string): Promise<Journey | undefined> {
    const item = await this.getItem(customerId, keys.journey(flowId, journeyId));
    return item ? journeyItem.parse(item) : undefined;
  }

  async listActive(customerId: string, now: string): Promise<{ journeys: Journey[]; waits: Wait[] }> {
    const journeys: Journey[] = [];
    const waits: Wait[] = [];
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      // Finished journeys stay a year for reporting (and expired ones until DynamoDB deletes
      // them): the filter keeps them out of the answer. See the README on what that read costs.
      FilterExpression:
        '(#status IN (:active, :waiting, :resuming) OR (#goal.deadline >= :now AND attribute_not_exists(convertedAt))) AND (attribute_not_exists(#ttl) OR #ttl > :epoch)',
      ExpressionAttributeNames: {
        '#pk': PK,
        '#sk': SK,
        '#status': 'status',
        '#goal': 'goal',
        '#ttl': TTL,
      },
      ExpressionAttributeValues: {
        ':pk': keys.customer(customerId),
        ':prefix': 'JOURNEY#',
        ':active': 'active',
        ':waiting': 'waiting',
        ':resuming': 'resuming',
        ':now': now,
        ':epoch': epochSeconds(now),
      },
    });
    for (const item of items) {
      const read = parseItem(item);
      if (read.kind === 'wait') waits.push(read.item);
      else if (read.kind === 'journey') journeys.push(read.item);
      else if (read.kind === 'invalid') throw new UnreadableItemError(read);
    }
    return { journeys, waits };
  }

  async endJourney(journey: Journey, status: Exclude<JourneyStatus, 'active'>, at: string) {
    const outcome = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: this.key(journey.customerId, keys.journey(journey.flowId, journey.journeyId)),
          UpdateExpression: 'SET #status = :status, endedAt = :at, #ttl = :ttl',
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':status': status,
            ':at': at,
            ':active': 'active',
            // Kept from the end of the journey or of its goal window, whichever is later.
            ':ttl': expiresAfter(
              journey.goal && journey.goal.deadline > at ? journey.goal.deadline : at,
              RETENTION_DAYS.finished,
            ),
          },
        },
      },
      ...(journey.capped
        ? [
            {
              Update: {
                TableName: this.tableName,
                Key: { [PK]: keys.flowCounter(journey.flowId), [SK]: keys.flowCounterItem },
                UpdateExpression: 'ADD active :minus',
                ExpressionAttributeValues: { ':minus': -1 },
              },
            },
          ]
        : []),
    ]);
    if (outcome !== 'applied') return false;
    // Free the flow for this customer, if this journey is the one holding it.
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(journey.customerId, keys.flowMemory(journey.flowId)),
          UpdateExpression: 'REMOVE activeJourneyId',
          ConditionExpression: 'activeJourneyId = :me',
          ExpressionAttributeValues: { ':me': journey.journeyId },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    });
    return true;
  }

  async recordConversion(journey: Journey, at: string): Promise<boolean> {
    try {
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(journey.customerId, keys.journey(journey.flowId, journey.journeyId)),
            UpdateExpression: 'SET convertedAt = :at',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(convertedAt)',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':at': at },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private waitKey(wait: Pick<Wait, 'customerId' | 'flowId' | 'journeyId'>) {
    return this.key(wait.customerId, keys.wait(wait.flowId, wait.journeyId));
  }

  async putWait(wait: Wait): Promise<'applied' | 'duplicate'> {
    try {
      await this.send('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...this.waitKey(wait),
              type: 'wait',
              ...wait,
              [index.partitionKey]: keys.indexTimer(shardOf(`${wait.customerId}/${wait.journeyId}`)),
              [index.sortKey]: waitSortKey(wait),
            },
            // One wait per journey at a time; a retried wait step finds its own wait.
            ConditionExpression: 'attribute_not_exists(#pk) OR stepId <> :step',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':step': wait.stepId },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return 'applied';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'duplicate';
      throw error;
    }
  }

  async claimWait(wait: Wait, outcome: ResumeOutcome, at: string): Promise<boolean> {
    const stale = new Date(Date.parse(at) - STALE_CLAIM_MS).toISOString();
    try {
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.waitKey(wait),
            UpdateExpression:
              'SET #status = :resuming, outcome = if_not_exists(outcome, :outcome), claimedAt = :at, #ttl = if_not_exists(#ttl, :ttl)',
            // Waiting for this step; or claimed so long ago that the claimer must have died, but not
            // so long ago that the wait has expired (given up, and deleted by DynamoDB within days).
            ConditionExpression:
              'stepId = :step AND (#status = :waiting OR (#status = :resuming AND claimedAt < :stale AND (attribute_not_exists(#ttl) OR #ttl > :epoch)))',
            ExpressionAttributeNames: { '#status': 'status', '#ttl': TTL },
            ExpressionAttributeValues: {
              ':resuming': 'resuming',
              ':waiting': 'waiting',
              ':outcome': outcome,
              ':at': at,
              ':stale': stale,
              ':step': wait.stepId,
              ':ttl': expiresAfter(at, RETENTION_DAYS.claimedWait),
              ':epoch': epochSeconds(at),
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async deleteWait(wait: Wait): Promise<void> {
    await this.send('DeleteItem', () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.waitKey(wait),
          ConditionExpression: 'stepId = :step',
          ExpressionAttributeValues: { ':step': wait.stepId },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    });
  }

  async dueWaits(shard: number, now: string, limit: number, after?: Wait): Promise<Wait[]> {
    const found: Wait[] = [];
    // Follow LastEvaluatedKey: a page may end early (1 MB), and the caller pages on from `after`.
    let start: Record<string, unknown> | undefined = after && {
      ...this.waitKey(after),
      [index.partitionKey]: keys.indexTimer(shard),
      [index.sortKey]: waitSortKey(after),
    };
    do {
      const page = await this.send('Query', () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: index.name,
            KeyConditionExpression: '#gpk = :gpk AND #gsk <= :now',
            ExpressionAttributeNames: { '#gpk': index.partitionKey, '#gsk': index.sortKey },
            ExpressionAttributeValues: { ':gpk': keys.indexTimer(shard), ':now': `${now}#~` },
            ExclusiveStartKey: start,
            Limit: limit - found.length,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      for (const item of page.Items ?? []) found.push(waitItem.parse(item));
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }

  async issueCoupon(coupon: Coupon): Promise<Coupon> {
    const ttl = expiresAfter(coupon.expiresAt, RETENTION_DAYS.couponAfterExpiry);
    const owner = `journey:${coupon.flowId}/${coupon.journeyId}/${coupon.stepId}`;
    const outcome = await this.transact([
      this.codePut(coupon.code, coupon.customerId, owner, ttl),
      this.guardedPut(coupon.customerId, keys.coupon(coupon.code), 'coupon', { ...coupon, [TTL]: ttl }),
    ]);
    if (outcome === 'applied') return coupon;
    if (outcome === 'conflict') throw new ConcurrencyConflictError('a coupon step raced another writer');
    // The code is held: by this very step (a retry gets its coupon), or by another coupon.
    const held = await this.send('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: keys.couponCode(coupon.code), [SK]: keys.couponCodeItem },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    if (held.Item?.customerId !== coupon.customerId || held.Item?.owner !== owner)
      throw new CouponCodeTakenError(`coupon code ${coupon.code} belongs to another coupon`);
    return journeyCouponItem.parse(await this.getItem(coupon.customerId, keys.coupon(coupon.code)));
  }

  // ---- coupons at checkout (CouponBook) ----

  async findCoupon(code: string): Promise<StoredCoupon | undefined> {
    const held = await this.send('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: keys.couponCode(code), [SK]: keys.couponCodeItem },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    const owner = z.object({ customerId: z.string() }).safeParse(held.Item);
    if (!owner.success) return undefined;
    const item = await this.getItem(owner.data.customerId, keys.coupon(code));
    return item ? ITEM_KINDS.coupon.schema.parse(item) : undefined;
  }

  async markCouponRedeemed(
    customerId: string,
    code: string,
    use: { orderId: string; at: string },
  ): Promise<'applied' | 'duplicate' | 'taken' | 'unknown'> {
    try {
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(customerId, keys.coupon(code)),
            UpdateExpression: 'SET redeemedOrderId = :order, redeemedAt = :at',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(redeemedOrderId)',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':order': use.orderId, ':at': use.at },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return 'applied';
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      const item = await this.getItem(customerId, keys.coupon(code));
      if (!item) return 'unknown';
      return ITEM_KINDS.coupon.schema.parse(item).redeemedOrderId === use.orderId ? 'duplicate' : 'taken';
    }
  }

  async updateAttributes(
    customerId: string,
    change: { set?: Record<string, string | number | boolean>; addTags?: string[]; removeTags?: string[] },
    at: string,
  ): Promise<void> {
    // Only the names the expression uses: DynamoDB refuses unused ones.
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':at': at, ':one': 1, ':empty': {} };
    const sets = ['updatedAt = :at'];
    // Nested maps must exist before their keys can be set: create them in a first update.
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(customerId, keys.profile),
          UpdateExpression:
            'SET #attributes = if_not_exists(#attributes, :empty), #tags = if_not_exists(#tags, :empty)',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK, '#attributes': 'attributes', '#tags': 'tags' },
          ExpressionAttributeValues: { ':empty': {} },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    delete values[':empty'];
    Object.entries(change.set ?? {}).forEach(([name, value], i) => {
      names['#attributes'] = 'attributes';
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      sets.push(`#attributes.#a${i} = :a${i}`);
    });
    (change.addTags ?? []).forEach((tag, i) => {
      names['#tags'] = 'tags';
      names[`#t${i}`] = tag;
      values[`:t${i}`] = true;
      sets.push(`#tags.#t${i} = :t${i}`);
    });
    const removes = (change.removeTags ?? []).map((tag, i) => {
      names['#tags'] = 'tags';
      names[`#r${i}`] = tag;
      return `#tags.#r${i}`;
    });
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(customerId, keys.profile),
          UpdateExpression: `SET ${sets.join(', ')} ADD #version :one${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  async lastOrderedBetween(shard: number, from: string, to: string) {
    const items = await this.queryAll({
      IndexName: index.name,
      KeyConditionExpression: '#gpk = :gpk AND #gsk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#gpk': index.partitionKey, '#gsk': index.sortKey },
      ExpressionAttributeValues: { ':gpk': keys.indexActivity(shard), ':from': from, ':to': to },
    });
    // BETWEEN includes `from`; the window is (from, to].
    return items
      .filter((item) => String(item.lastOrderAt) > from)
      .map((item) => ({ customerId: String(item.customerId), lastOrderAt: String(item.lastOrderAt) }));
  }

  async customersWithDate(field: string, monthDay: string) {
    const items = await this.queryAll({
      IndexName: index.name,
      KeyConditionExpression: '#gpk = :gpk',
      ExpressionAttributeNames: { '#gpk': index.partitionKey },
      ExpressionAttributeValues: { ':gpk': keys.indexDate(field, monthDay) },
    });
    return items.map((item) => ({
      customerId: String(item.customerId),
      timeZone: typeof item.timeZone === 'string' ? item.timeZone : undefined,
    }));
  }

  async *customerIds(): AsyncIterable<string[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.send('Scan', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: '#sk = :profile',
            ExpressionAttributeNames: { '#sk': SK },
            ExpressionAttributeValues: { ':profile': keys.profile },
            ProjectionExpression: 'customerId',
            ExclusiveStartKey: start,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      yield (page.Items ?? []).map((item) => String(item.customerId));
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async getCursor(name: string): Promise<SweepCursor | undefined> {
    const item = await this.getItem(keys.cursor, name);
    return item ? cursorItem.parse(item) : undefined;
  }

  async setCursor(name: string, cursor: SweepCursor): Promise<void> {
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(keys.cursor, name), type: 'cursor', value: cursor.at, failing: cursor.failing },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }
}
