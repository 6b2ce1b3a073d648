import {
  type ConsumedCapacity,
  type DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CustomerProfile, ProfileChanges } from '#domain/customer.ts';
import { CouponCodeTakenError, TransientError } from '#domain/errors.ts';
import { shardOf } from '#domain/journeys.ts';
import type { PointsAccount } from '#domain/loyalty/account.ts';
import type { PacingRecord } from '#domain/pacing.ts';
import type {
  CustomerStore,
  DueAccount,
  LedgerEntry,
  OrderRecord,
  PacingWrite,
  PendingEvent,
  PointsWrite,
  PointsWriteOptions,
  RewardCoupon,
  SendClaim,
  StoredSend,
  TimerIndexState,
  WriteOutcome,
} from '#domain/ports.ts';
import { expiresAfter, keys, RETENTION_DAYS, TABLE_DESIGN } from '#domain/table-design.ts';
import {
  dueItem,
  ledgerItem,
  orderItem,
  orderOwnerItem,
  pacingItem,
  pendingEventItem,
  profileItem,
  rewardCouponItem,
  sendItem,
  storedAccount,
  storedProfileValue,
  timerIndexItem,
} from './table-items.ts';

// The item schemas live with every other item kind in table-items.ts; these names stay importable here.
export { accountSchema, ledgerItem, orderItem, profileItem, sendItem } from './table-items.ts';

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** Receives the capacity every successful call consumed and how many items it wrote or read. */
export type CapacityMeter = (
  operation: string,
  capacity: readonly ConsumedCapacity[] | ConsumedCapacity | undefined,
  items: number,
) => void;

const THROTTLES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

export class DynamoDbCustomerStore implements CustomerStore {
  protected readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    protected readonly tableName: string,
    private readonly meter?: CapacityMeter,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  protected key(customerId: string, sk: string) {
    return { [TABLE_DESIGN.partitionKey]: keys.customer(customerId), [TABLE_DESIGN.sortKey]: sk };
  }

  /** Sends a command, records its capacity, and turns throttling into a retryable error. */
  protected async send<T extends { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] | undefined }>(
    operation: string,
    call: () => Promise<T>,
    items = 1,
  ): Promise<T> {
    try {
      const output = await call();
      this.meter?.(operation, output.ConsumedCapacity, items);
      return output;
    } catch (error) {
      if (error instanceof Error && THROTTLES.has(error.name)) {
        throw new TransientError(`DynamoDB ${operation} was throttled`, { cause: error });
      }
      throw error;
    }
  }

  /** Every item a query finds, page after page (a page stops at 1 MB). */
  protected async queryAll(
    input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'ReturnConsumedCapacity'>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.send('Query', () =>
        this.doc.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ExclusiveStartKey: start,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  protected async getItem(customerId: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.send('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: this.key(customerId, sk),
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return Item;
  }

  async getProfile(customerId: string): Promise<CustomerProfile | undefined> {
    const item = await this.getItem(customerId, keys.profile);
    return item ? profileItem.parse(item) : undefined;
  }

  async getOrder(customerId: string, orderId: string): Promise<OrderRecord | undefined> {
    const item = await this.getItem(customerId, keys.order(orderId));
    return item ? orderItem.parse(item) : undefined;
  }

  private orderRefKey(orderId: string, sk: string = keys.orderOwner) {
    return { [TABLE_DESIGN.partitionKey]: keys.orderRef(orderId), [TABLE_DESIGN.sortKey]: sk };
  }

  async findOrderOwner(orderId: string): Promise<string | undefined> {
    const { Item } = await this.send('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: this.orderRefKey(orderId),
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return Item ? orderOwnerItem.parse(Item).customerId : undefined;
  }

  async noteOrderOwner(orderId: string, customerId: string): Promise<{ waiting: boolean }> {
    // One write per order, outside its transaction (no transaction's double cost); after it, so a
    // waiting event that finds the owner also finds the order. The old image says if one waits.
    const { Attributes } = await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.orderRefKey(orderId),
          UpdateExpression: 'SET #type = :type, orderId = :orderId, customerId = :customerId',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': 'order-owner',
            ':orderId': orderId,
            ':customerId': customerId,
          },
          ReturnValues: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return { waiting: Attributes?.waiting === true };
  }

  async waitForOrder(pending: PendingEvent, customerId?: string): Promise<'waiting' | 'order-recorded'> {
    const flag = {
      TableName: this.tableName,
      Key: this.orderRefKey(pending.orderId),
      UpdateExpression: 'SET #type = :type, orderId = :orderId, waiting = :true',
      ExpressionAttributeNames: { '#type': 'type' } as Record<string, string>,
      ExpressionAttributeValues: {
        ':type': 'order-owner',
        ':orderId': pending.orderId,
        ':true': true,
      } as Record<string, unknown>,
    };
    // The guard is the fact the event waits for: its owner unknown, or its order not in its partition.
    const items: TransactItems = customerId
      ? [
          {
            ConditionCheck: {
              TableName: this.tableName,
              Key: this.key(customerId, keys.order(pending.orderId)),
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
            },
          },
          { Update: flag },
        ]
      : [
          {
            Update: {
              ...flag,
              ConditionExpression: 'attribute_not_exists(customerId)',
            },
          },
        ];
    items.push({
      Put: {
        TableName: this.tableName,
        Item: {
          ...this.orderRefKey(pending.orderId, keys.pendingEvent(pending.factKey)),
          type: 'pending-event',
          ...pending,
          [TABLE_DESIGN.timeToLive]: expiresAfter(pending.receivedAt, RETENTION_DAYS.pendingEvent),
        },
      },
    });
    const outcome = await this.transact(items);
    if (outcome === 'applied') return 'waiting';
    return 'order-recorded';
  }

  async pendingForOrder(orderId: string): Promise<PendingEvent[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey, '#sk': TABLE_DESIGN.sortKey },
      ExpressionAttributeValues: { ':pk': keys.orderRef(orderId), ':prefix': keys.pendingEvent('') },
      ConsistentRead: true,
    });
    return items.map((item) => {
      const { orderId: id, factKey, envelope, receivedAt } = pendingEventItem.parse(item);
      return { orderId: id, factKey, envelope, receivedAt };
    });
  }

  async releasePending(orderId: string, factKey: string): Promise<void> {
    await this.send('DeleteItem', () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.orderRefKey(orderId, keys.pendingEvent(factKey)),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  async getLedgerEntry(customerId: string, entryId: string): Promise<LedgerEntry | undefined> {
    const item = await this.getItem(customerId, keys.ledger(entryId));
    return item ? ledgerItem.parse(item) : undefined;
  }

  async getSend(customerId: string, key: string): Promise<StoredSend | undefined> {
    const item = await this.getItem(customerId, keys.send(key));
    return item ? sendItem.parse(item) : undefined;
  }

  /** SET exactly the changed fields, bump the version, guarded by the version that was read. */
  private profileUpdate(
    customerId: string,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    points?: PointsAccount,
  ) {
    const names: Record<string, string> = { '#version': 'version' };
    if (expectedVersion === undefined) names['#pk'] = TABLE_DESIGN.partitionKey;
    const values: Record<string, unknown> = { ':next': (expectedVersion ?? 0) + 1 };
    const sets = ['#version = :next', 'customerId = if_not_exists(customerId, :customerId)', '#type = :type'];
    if (points) {
      // The account alone: the figures flows and templates read are derived from it on read.
      values[':points'] = storedAccount(points);
      sets.push('points = :points');
    }
    names['#type'] = 'type';
    values[':type'] = 'profile';
    values[':customerId'] = customerId;
    Object.entries(changes).forEach(([field, value], i) => {
      if (value === undefined) return;
      names[`#f${i}`] = field;
      values[`:f${i}`] = storedProfileValue(field, value);
      sets.push(`#f${i} = :f${i}`);
    });
    if (expectedVersion !== undefined) values[':expected'] = expectedVersion;
    return {
      TableName: this.tableName,
      Key: this.key(customerId, keys.profile),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression:
        expectedVersion === undefined ? 'attribute_not_exists(#pk)' : '#version = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  async saveProfile(
    customerId: string,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    _at: string,
  ): Promise<WriteOutcome> {
    try {
      await this.indexActivity(customerId, changes.lastOrderAt);
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            ...this.profileUpdate(customerId, changes, expectedVersion),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      await this.indexDates(customerId, changes);
      return 'applied';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'conflict';
      throw error;
    }
  }

  /** Date items let the sweeper find today's birthdays and sign-up anniversaries by month-day. */
  private async indexDates(customerId: string, changes: ProfileChanges): Promise<void> {
    const dates = [
      ['birthday', changes.birthday?.slice(-5)],
      ['registration_anniversary', changes.registeredAt?.slice(5, 10)],
    ] as const;
    for (const [field, monthDay] of dates) {
      if (!monthDay) continue;
      await this.send('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...this.key(customerId, keys.date(field)),
              type: 'date',
              customerId,
              timeZone: changes.timeZone,
              [TABLE_DESIGN.index.partitionKey]: keys.indexDate(field, monthDay),
              [TABLE_DESIGN.index.sortKey]: customerId,
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
    }
  }

  /**
   * Runs a transaction whose first item is the idempotency guard: if it fails, the work was done before.
   * If the item at `codeAt` (a coupon code's own item) is what failed, another coupon holds the code.
   */
  protected async transact(items: TransactItems, codeAt?: number): Promise<WriteOutcome> {
    try {
      await this.send(
        'TransactWriteItems',
        () =>
          this.doc.send(new TransactWriteCommand({ TransactItems: items, ReturnConsumedCapacity: 'TOTAL' })),
        items.length,
      );
      return 'applied';
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
        if (codes[0] === 'ConditionalCheckFailed') return 'duplicate';
        if (codeAt !== undefined && codes[codeAt] === 'ConditionalCheckFailed')
          throw new CouponCodeTakenError('the coupon code belongs to another coupon', { cause: error });
        if (codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict'))
          return 'conflict';
        throw new TransientError(`transaction cancelled: ${codes.join(', ')}`, { cause: error });
      }
      if (error instanceof Error && error.name === 'TransactionConflictException') return 'conflict';
      throw error;
    }
  }

  protected guardedPut(customerId: string, sk: string, type: string, item: object) {
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...this.key(customerId, sk), type, ...item },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
      },
    };
  }

  /** A code's own item, which exists once across the table: whoever writes it first owns the code. */
  protected codePut(code: string, customerId: string, owner: string, ttl: number) {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          [TABLE_DESIGN.partitionKey]: keys.couponCode(code),
          [TABLE_DESIGN.sortKey]: keys.couponCodeItem,
          type: 'coupon-code',
          code,
          customerId,
          owner,
          [TABLE_DESIGN.timeToLive]: ttl,
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
      },
    };
  }

  async recordOrder(
    order: OrderRecord,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    _at: string,
    points?: PointsWrite,
  ) {
    await this.indexActivity(order.customerId, changes.lastOrderAt);
    const version = (expectedVersion ?? 0) + 1;
    return this.withDue(order.customerId, version, points, () =>
      this.transact([
        this.guardedPut(order.customerId, keys.order(order.orderId), 'order', order),
        { Update: this.profileUpdate(order.customerId, changes, expectedVersion, points?.account) },
        ...(points ? this.entryPuts(order.customerId, points) : []),
      ]),
    );
  }

  /**
   * The customer's place on the activity index (the last order by time, so the sweeper finds who
   * has been inactive for N days): its own small item, written before the order's transaction and
   * only ever forward. Outside the transaction, so the transaction carries no index write (on
   * DynamoDB Local an indexed item makes a transaction cost three times as much); before it, so
   * a crash in between leaves the index at an order that its retry records, never behind one.
   */
  private async indexActivity(customerId: string, lastOrderAt: string | undefined): Promise<void> {
    if (!lastOrderAt) return;
    try {
      await this.send('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...this.key(customerId, keys.activity),
              type: 'activity',
              customerId,
              lastOrderAt,
              [TABLE_DESIGN.index.partitionKey]: keys.indexActivity(shardOf(customerId)),
              [TABLE_DESIGN.index.sortKey]: lastOrderAt,
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR lastOrderAt < :at',
            ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
            ExpressionAttributeValues: { ':at': lastOrderAt },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }

  /**
   * Runs an account write and keeps the points timer item true to it, outside the transaction (it
   * is indexed; see indexActivity). The rule that makes that safe: an entry earlier than the
   * account needs is harmless (the sweeper finds nothing to do and moves it), a later one loses a
   * warning. So a due time that moves earlier is written before the transaction, and one that
   * moves later (or goes) after it, and only if no newer version of the account has written it
   * since: the item remembers the account version it was written for.
   */
  private async withDue(
    customerId: string,
    version: number,
    points: PointsWrite | undefined,
    write: () => Promise<WriteOutcome>,
  ): Promise<WriteOutcome> {
    const move = points && points.due !== points.dueBefore ? points.due : null;
    const earlier =
      move !== null && move !== undefined && (points?.dueBefore === undefined || move < points.dueBefore);
    if (earlier) await this.writeDue(customerId, move, version, 'earlier');
    const outcome = await write();
    if (outcome === 'applied' && move !== null && !earlier)
      await this.writeDue(customerId, move, version, 'later');
    return outcome;
  }

  protected async writeDue(
    customerId: string,
    due: string | undefined,
    version: number,
    direction: 'earlier' | 'later',
  ): Promise<void> {
    const guard =
      direction === 'earlier'
        ? { ConditionExpression: 'attribute_not_exists(#pk) OR dueAt > :due', values: { ':due': due } }
        : {
            ConditionExpression: 'attribute_not_exists(#pk) OR version <= :version',
            values: { ':version': version },
          };
    const common = {
      TableName: this.tableName,
      ConditionExpression: guard.ConditionExpression,
      ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
      ExpressionAttributeValues: guard.values,
      ReturnConsumedCapacity: 'TOTAL' as const,
    };
    try {
      if (due === undefined)
        await this.send('DeleteItem', () =>
          this.doc.send(new DeleteCommand({ ...common, Key: this.key(customerId, keys.pointsDue) })),
        );
      else
        await this.send('PutItem', () =>
          this.doc.send(
            new PutCommand({
              ...common,
              Item: {
                ...this.key(customerId, keys.pointsDue),
                type: 'points-due',
                customerId,
                dueAt: due,
                version,
                [TABLE_DESIGN.index.partitionKey]: keys.indexPointsDue(shardOf(customerId)),
                [TABLE_DESIGN.index.sortKey]: `${due}#${customerId}`,
              },
            }),
          ),
        );
    } catch (error) {
      // Someone moved it first: earlier than ours, or for a newer version of the account.
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }

  /** Every new ledger entry: each must not exist. */
  private entryPuts(customerId: string, points: PointsWrite, skip?: string): TransactItems {
    return points.entries
      .filter((entry) => entry.entryId !== skip)
      .map((entry) => this.guardedPut(customerId, keys.ledger(entry.entryId), 'ledger', entry));
  }

  async writePoints(
    customerId: string,
    expectedVersion: number,
    points: PointsWrite,
    options: PointsWriteOptions = {},
  ): Promise<WriteOutcome> {
    // The account alone (a warning's visit, an emptied outbox): one item, so no transaction.
    if (points.entries.length === 0 && !options.changes && !options.refund && !options.coupon)
      return this.withDue(customerId, expectedVersion + 1, points, async () => {
        try {
          await this.send('UpdateItem', () =>
            this.doc.send(
              new UpdateCommand({
                ...this.profileUpdate(customerId, {}, expectedVersion, points.account),
                ReturnConsumedCapacity: 'TOTAL',
              }),
            ),
          );
          return 'applied';
        } catch (error) {
          if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'conflict';
          throw error;
        }
      });
    const primary = options.primary ? points.entries.find((e) => e.entryId === options.primary) : undefined;
    const items: TransactItems = [
      ...(primary ? [this.guardedPut(customerId, keys.ledger(primary.entryId), 'ledger', primary)] : []),
      {
        Update: this.profileUpdate(customerId, options.changes ?? {}, expectedVersion, points.account),
      },
      ...this.entryPuts(customerId, points, primary?.entryId),
    ];
    if (options.refund) {
      const { orderId, refundMinor, pointsReversed, expectedRefundedMinor, cancelledAt } = options.refund;
      items.push({
        Update: {
          TableName: this.tableName,
          Key: this.key(customerId, keys.order(orderId)),
          UpdateExpression: `SET refundedMinor = :next${cancelledAt ? ', cancelledAt = :cancelledAt' : ''} ADD pointsReversed :reversed`,
          ConditionExpression: 'refundedMinor = :expected',
          ExpressionAttributeValues: {
            ':next': expectedRefundedMinor + refundMinor,
            ':expected': expectedRefundedMinor,
            ':reversed': pointsReversed,
            ...(cancelledAt ? { ':cancelledAt': cancelledAt } : {}),
          },
        },
      });
    }
    let codeAt: number | undefined;
    if (options.coupon) {
      const { coupon } = options;
      const ttl = expiresAfter(coupon.expiresAt, RETENTION_DAYS.couponAfterExpiry);
      codeAt = items.length;
      items.push(
        this.codePut(coupon.code, customerId, `reward:${coupon.requestId}`, ttl),
        this.guardedPut(customerId, keys.coupon(coupon.code), 'coupon', {
          ...coupon,
          [TABLE_DESIGN.timeToLive]: ttl,
        }),
      );
    }
    return this.withDue(customerId, expectedVersion + 1, points, async () => {
      const outcome = await this.transact(items, codeAt);
      // Without a primary entry, a failed first item is the version guard: someone else moved first.
      return outcome === 'duplicate' && !primary ? 'conflict' : outcome;
    });
  }

  async duePointAccounts(
    shard: number,
    now: string,
    limit: number,
    after?: DueAccount,
  ): Promise<DueAccount[]> {
    const found: DueAccount[] = [];
    // A page may end before `limit` (DynamoDB stops at 1 MB): follow LastEvaluatedKey until it is full.
    let start: Record<string, unknown> | undefined = after && {
      ...this.key(after.customerId, keys.pointsDue),
      [TABLE_DESIGN.index.partitionKey]: keys.indexPointsDue(shard),
      [TABLE_DESIGN.index.sortKey]: `${after.dueAt}#${after.customerId}`,
    };
    do {
      const page = await this.send('Query', () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: TABLE_DESIGN.index.name,
            KeyConditionExpression: '#gpk = :gpk AND #gsk <= :now',
            ExpressionAttributeNames: {
              '#gpk': TABLE_DESIGN.index.partitionKey,
              '#gsk': TABLE_DESIGN.index.sortKey,
            },
            ExpressionAttributeValues: { ':gpk': keys.indexPointsDue(shard), ':now': `${now}#~` },
            ExclusiveStartKey: start,
            Limit: limit - found.length,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      for (const item of page.Items ?? []) found.push(dueItem.parse(item));
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }

  async getTimerIndexState(): Promise<TimerIndexState | undefined> {
    const item = await this.getItem(keys.cursor, keys.timerIndexState);
    return item ? timerIndexItem.parse(item) : undefined;
  }

  async setTimerIndexState(state: TimerIndexState): Promise<void> {
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(keys.cursor, keys.timerIndexState), type: 'timer-index', ...state },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  async getCoupon(customerId: string, code: string): Promise<RewardCoupon | undefined> {
    const item = await this.getItem(customerId, keys.coupon(code));
    return item ? rewardCouponItem.parse(item) : undefined;
  }

  async ledger(customerId: string): Promise<LedgerEntry[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey, '#sk': TABLE_DESIGN.sortKey },
      ExpressionAttributeValues: { ':pk': keys.customer(customerId), ':prefix': keys.ledger('') },
      ConsistentRead: true,
    });
    return items
      .map((item) => ledgerItem.parse(item))
      .sort((a, b) => a.at.localeCompare(b.at) || a.entryId.localeCompare(b.entryId));
  }

  async claimSend(claim: SendClaim): Promise<'claimed' | 'taken'> {
    try {
      await this.send('PutItem', () =>
        this.doc.send(
          new PutCommand({
            ...this.guardedPut(claim.customerId, keys.send(claim.key), 'send', {
              ...claim,
              status: 'sending',
              [TABLE_DESIGN.timeToLive]: expiresAfter(claim.at, RETENTION_DAYS.finished),
            }).Put,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return 'claimed';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'taken';
      throw error;
    }
  }

  protected async setSend(
    customerId: string,
    key: string,
    status: StoredSend['status'],
    field: string,
    value: string,
  ) {
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(customerId, keys.send(key)),
          UpdateExpression: 'SET #status = :status, #field = :value',
          ExpressionAttributeNames: { '#status': 'status', '#field': field },
          ExpressionAttributeValues: { ':status': status, ':value': value },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  completeSend(customerId: string, key: string, messageId: string) {
    return this.setSend(customerId, key, 'sent', 'messageId', messageId);
  }

  failSend(customerId: string, key: string, reason: string) {
    return this.setSend(customerId, key, 'failed', 'reason', reason);
  }

  async getPacing(customerId: string): Promise<PacingRecord | undefined> {
    const item = await this.getItem(customerId, keys.pacing);
    return item ? pacingItem.parse(item) : undefined;
  }

  async writeSend(send: StoredSend, pacing?: PacingWrite): Promise<'applied' | 'taken' | 'conflict'> {
    const sendPut = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...this.key(send.customerId, keys.send(send.key)),
          type: 'send',
          ...send,
          [TABLE_DESIGN.timeToLive]: expiresAfter(send.at, RETENTION_DAYS.finished),
        },
        // A deferred or skipped send is decided again when it comes back; the others are final or in flight.
        ConditionExpression: 'attribute_not_exists(#pk) OR #status IN (:deferred, :skipped)',
        ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey, '#status': 'status' },
        ExpressionAttributeValues: { ':deferred': 'deferred', ':skipped': 'skipped' },
      },
    };
    if (!pacing) {
      try {
        await this.send('PutItem', () =>
          this.doc.send(new PutCommand({ ...sendPut.Put, ReturnConsumedCapacity: 'TOTAL' })),
        );
        return 'applied';
      } catch (error) {
        if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'taken';
        throw error;
      }
    }
    const { next, expectedVersion } = pacing;
    const outcome = await this.transact([
      sendPut,
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...this.key(send.customerId, keys.pacing),
            type: 'pacing',
            version: next.version,
            sends: next.sends,
            holds: next.holds,
          },
          ...(expectedVersion === 0
            ? {
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
              }
            : {
                ConditionExpression: 'version = :version',
                ExpressionAttributeValues: { ':version': expectedVersion },
              }),
        },
      },
    ]);
    return outcome === 'duplicate' ? 'taken' : outcome;
  }

  async releaseSend(customerId: string, key: string): Promise<void> {
    await this.send('DeleteItem', () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(customerId, keys.send(key)),
          ConditionExpression: '#status = :sending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':sending': 'sending' },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }
}
