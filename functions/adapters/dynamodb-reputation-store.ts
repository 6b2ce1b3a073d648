import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReputationBucket, ReputationStore, SendingPause } from '#domain/ports.ts';
import { REPUTATION_RETENTION_DAYS } from '#domain/reputation.ts';
import { expiresAfter, keys, TABLE_DESIGN } from '#domain/table-design.ts';
import { DynamoDbCustomerStore } from './dynamodb-customer-store.ts';
import { reputationHourItem, sendingPauseItem } from './table-items.ts';

// Sender reputation in the one table: per identity a partition of hourly counters (expiring after
// REPUTATION_RETENTION_DAYS) with the bounces and complaints already counted, and one partition
// holding every identity's pause.

const { partitionKey: pk, sortKey: sk, timeToLive: ttl } = TABLE_DESIGN;

export class DynamoDbReputationStore extends DynamoDbCustomerStore implements ReputationStore {
  private hourKey(identity: string, hour: string) {
    return { [pk]: keys.reputation(identity), [sk]: keys.reputationHour(hour) };
  }

  private counterUpdate(
    identity: string,
    hour: string,
    field: 'sends' | 'bounces' | 'complaints',
    n: number,
  ) {
    return {
      TableName: this.tableName,
      Key: this.hourKey(identity, hour),
      UpdateExpression: 'SET #type = :type, #identity = :identity, #hour = :hour, #ttl = :ttl ADD #n :n',
      ExpressionAttributeNames: {
        '#type': 'type',
        '#identity': 'identity',
        '#hour': 'hour',
        '#ttl': ttl,
        '#n': field,
      },
      ExpressionAttributeValues: {
        ':type': 'reputation-hour',
        ':identity': identity,
        ':hour': hour,
        ':ttl': expiresAfter(`${hour}:00:00Z`, REPUTATION_RETENTION_DAYS),
        ':n': n,
      },
    };
  }

  async countSends(identity: string, hour: string, sends: number): Promise<void> {
    await this.send('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          ...this.counterUpdate(identity, hour, 'sends', sends),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  async countFeedback(
    identity: string,
    hour: string,
    kind: 'bounces' | 'complaints',
    eventKey: string,
  ): Promise<'applied' | 'duplicate'> {
    try {
      await this.send(
        'TransactWriteItems',
        () =>
          this.doc.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: this.tableName,
                    Item: {
                      [pk]: keys.reputation(identity),
                      [sk]: keys.sesFeedback(eventKey),
                      type: 'ses-feedback',
                      identity,
                      eventKey,
                      at: hour,
                      [ttl]: expiresAfter(`${hour}:00:00Z`, REPUTATION_RETENTION_DAYS),
                    },
                    ConditionExpression: 'attribute_not_exists(#pk)',
                    ExpressionAttributeNames: { '#pk': pk },
                  },
                },
                { Update: this.counterUpdate(identity, hour, kind, 1) },
              ],
              ReturnConsumedCapacity: 'TOTAL',
            }),
          ),
        2,
      );
      return 'applied';
    } catch (error) {
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      )
        return 'duplicate';
      throw error;
    }
  }

  async buckets(identity: string, from: string, to: string): Promise<ReputationBucket[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': pk, '#sk': sk },
      ExpressionAttributeValues: {
        ':pk': keys.reputation(identity),
        ':from': keys.reputationHour(from),
        ':to': keys.reputationHour(to),
      },
    });
    return items.map((item) => {
      const { hour, sends, bounces, complaints } = reputationHourItem.parse(item);
      return { hour, sends, bounces, complaints };
    });
  }

  async getPause(identity: string): Promise<SendingPause | undefined> {
    const { Item } = await this.send('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [pk]: keys.sending, [sk]: keys.sendingPause(identity) },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return Item ? sendingPauseItem.parse(Item) : undefined;
  }

  async pauses(): Promise<SendingPause[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': pk },
      ExpressionAttributeValues: { ':pk': keys.sending },
    });
    return items.map((item) => sendingPauseItem.parse(item));
  }

  async pause(pause: SendingPause & { status: 'paused' }): Promise<'applied' | 'already-paused'> {
    try {
      await this.send('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              [pk]: keys.sending,
              [sk]: keys.sendingPause(pause.identity),
              type: 'sending-pause',
              ...pause,
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR #status <> :paused',
            ExpressionAttributeNames: { '#pk': pk, '#status': 'status' },
            ExpressionAttributeValues: { ':paused': 'paused' },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return 'applied';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'already-paused';
      throw error;
    }
  }

  async resume(identity: string, at: string): Promise<boolean> {
    try {
      await this.send('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [pk]: keys.sending, [sk]: keys.sendingPause(identity) },
            UpdateExpression: 'SET #status = :resumed, resumedAt = :at',
            ConditionExpression: '#status = :paused',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':resumed': 'resumed', ':paused': 'paused', ':at': at },
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
