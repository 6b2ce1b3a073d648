import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys, TABLE_DESIGN } from '#domain/table-design.ts';
import { DynamoDbCustomerStore } from './dynamodb-customer-store.ts';

// The signed API's replay guard: one item per signed request, claimed by a conditional put, so of
// two identical requests arriving at once exactly one is taken. The item outlives the signature's
// tolerance and then expires; past it, the timestamp alone refuses the request.

export interface SeenRequests {
  /** True if this request was not seen before (and now is), false for a replay. */
  claim(digest: string, seenAt: Date, expiresAt: Date): Promise<boolean>;
}

const { partitionKey: pk, sortKey: sk, timeToLive: ttl } = TABLE_DESIGN;

export class DynamoDbSeenRequests extends DynamoDbCustomerStore implements SeenRequests {
  async claim(digest: string, seenAt: Date, expiresAt: Date): Promise<boolean> {
    try {
      await this.send('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              [pk]: keys.request(digest),
              [sk]: keys.requestSeen,
              type: 'request-seen',
              seenAt: seenAt.toISOString(),
              [ttl]: Math.ceil(expiresAt.getTime() / 1000),
            },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': pk },
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
}
