import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  CustomerData,
  DeadLetterErasure,
  ErasureReceipt,
  PrivacyStore,
  WriteOutcome,
} from '#domain/ports.ts';
import { keys, TABLE_DESIGN } from '#domain/table-design.ts';
import { DynamoDbStore } from './dynamodb-journey-store.ts';
import { customerItems, describeUnreadable, erasureReceiptItem, type TableItem } from './table-items.ts';

// Privacy requests on the single table: an export reads the customer's partition through the item
// kinds, an erasure rewrites what of it identifies the customer. Every other item that names the
// customer (coupon codes, flow counters) holds their id alone.

/** Profile attributes an erased profile no longer has (the empty strings keep its schema). */
const REMOVED = ['timeZone', 'birthday', 'asOf', 'attributes', 'tags', 'consent', 'marketingConsent'];

/** What an adjustment's reason reads after an erasure: the entry and its points stay for the books. */
export const ERASED_REASON = '(erased at the customer’s request)';

export class DynamoDbPrivacyStore extends DynamoDbStore implements PrivacyStore {
  private async partition(customerId: string): Promise<TableItem[]> {
    const items: TableItem[] = [];
    for await (const page of customerItems(this.doc, this.tableName, customerId))
      for (const read of page) {
        // An export or an erasure that skipped an item it cannot read would be a false answer.
        if (read.kind === 'unknown' || read.kind === 'invalid')
          throw new Error(`cannot read the customer's data: ${describeUnreadable(read)}`);
        items.push(read);
      }
    return items;
  }

  async customerData(customerId: string): Promise<CustomerData> {
    const data: CustomerData = {
      profile: undefined,
      orders: [],
      ledger: [],
      sends: [],
      journeys: [],
      waits: [],
      coupons: [],
    };
    for (const read of await this.partition(customerId)) {
      if (read.kind === 'profile') data.profile = read.item;
      else if (read.kind === 'order') data.orders.push(read.item);
      else if (read.kind === 'ledger') data.ledger.push(read.item);
      else if (read.kind === 'send') data.sends.push(read.item);
      else if (read.kind === 'journey') data.journeys.push(read.item);
      else if (read.kind === 'wait') data.waits.push(read.item);
      else if (read.kind === 'coupon') data.coupons.push(read.item);
      else if (read.kind === 'erasure-receipt') data.receipt = read.item;
    }
    data.ledger.sort((a, b) => a.at.localeCompare(b.at) || a.entryId.localeCompare(b.entryId));
    return data;
  }

  async eraseProfile(customerId: string, erasedAt: string, expectedVersion: number): Promise<WriteOutcome> {
    try {
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.key(customerId, keys.profile),
            UpdateExpression: `SET email = :empty, #name = :empty, erasedAt = :at, #version = :next REMOVE ${REMOVED.map((_, i) => `#r${i}`).join(', ')}`,
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: {
              '#name': 'name',
              '#version': 'version',
              ...Object.fromEntries(REMOVED.map((field, i) => [`#r${i}`, field])),
            },
            ExpressionAttributeValues: {
              ':empty': '',
              ':at': erasedAt,
              ':next': expectedVersion + 1,
              ':expected': expectedVersion,
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return 'applied';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'conflict';
      throw error;
    }
  }

  async erasePersonalItems(customerId: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const counted = (kind: string) => {
      counts[kind] = (counts[kind] ?? 0) + 1;
    };
    const remove = (sk: string) =>
      this.send('DeleteItem', () =>
        this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: this.key(customerId, sk),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
    for (const read of await this.partition(customerId)) {
      switch (read.kind) {
        // A wait's context is the trigger event (address, name, items) and earlier steps' results.
        case 'wait':
        // Birthdays and anniversaries, on the date index.
        case 'date':
        // The last order on the activity index: a win-back for someone who asked to be forgotten.
        case 'activity':
          await remove(read.key.sk);
          counted(read.kind);
          break;
        // A provider's refusal may quote the address.
        case 'send':
          if (read.item.reason === undefined) break;
          await this.send('UpdateItem', () =>
            this.doc.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: this.key(customerId, read.key.sk),
                UpdateExpression: 'REMOVE reason',
                ReturnConsumedCapacity: 'TOTAL',
              }),
            ),
          );
          counted(read.kind);
          break;
        // Customer service's reason for an adjustment is free text, which may quote the customer.
        case 'ledger':
          if (
            read.item.kind !== 'adjust' ||
            read.item.reason === undefined ||
            read.item.reason === ERASED_REASON
          )
            break;
          await this.send('UpdateItem', () =>
            this.doc.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: this.key(customerId, read.key.sk),
                UpdateExpression: 'SET reason = :erased',
                ExpressionAttributeValues: { ':erased': ERASED_REASON },
                ReturnConsumedCapacity: 'TOTAL',
              }),
            ),
          );
          counted('adjustment-reason');
          break;
        default:
          break;
      }
    }
    return counts;
  }

  async getErasureReceipt(customerId: string): Promise<ErasureReceipt | undefined> {
    const item = await this.getItem(customerId, keys.erasureReceipt);
    return item ? erasureReceiptItem.parse(item) : undefined;
  }

  async startErasure(receipt: ErasureReceipt): Promise<void> {
    await this.send('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(receipt.customerId, keys.erasureReceipt), type: 'erasure-receipt', ...receipt },
          // Two attempts racing: the first receipt stays, the second's counts add to it.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    });
  }

  async countErased(customerId: string, counts: Record<string, number>): Promise<void> {
    const kinds = Object.entries(counts);
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(customerId, keys.erasureReceipt),
          UpdateExpression: `SET ${kinds.map((_, i) => `erased.#k${i} = if_not_exists(erased.#k${i}, :zero) + :n${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(kinds.map(([kind], i) => [`#k${i}`, kind])),
          ExpressionAttributeValues: {
            ':zero': 0,
            ...Object.fromEntries(kinds.map(([, n], i) => [`:n${i}`, n])),
          },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  async completeErasure(customerId: string, completedAt: string, deadLetters: DeadLetterErasure) {
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(customerId, keys.erasureReceipt),
          UpdateExpression: 'SET completedAt = :at, deadLetters = :dead',
          ExpressionAttributeValues: { ':at': completedAt, ':dead': deadLetters },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }
}
