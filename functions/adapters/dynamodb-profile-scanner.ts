import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { ProfileScanner, ProfileScanPage, ScanKey } from '#domain/broadcast.ts';
import { keys, TABLE_DESIGN } from '#domain/table-design.ts';
import { type CapacityMeter, profileItem } from './dynamodb-customer-store.ts';

/** The whole profile: its points figures are derived as of the broadcast's time (see the use case). */
const scannedProfile = profileItem;
const scanKey = z.record(z.string(), z.union([z.string(), z.number()]));

/**
 * A parallel Scan of the table, one segment at a time. The table holds every item type, so a page
 * reads orders and ledger entries too and keeps the profiles: read units follow the table's size.
 */
export class DynamoDbProfileScanner implements ProfileScanner {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly meter?: CapacityMeter,
    /** Items a page evaluates at most (DynamoDB stops at 1 MB first). */
    private readonly pageItems = 1000,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async scanSegment(
    segment: number,
    totalSegments: number,
    after: ScanKey | undefined,
  ): Promise<ProfileScanPage> {
    const page = await this.doc.send(
      new ScanCommand({
        TableName: this.tableName,
        Segment: segment,
        TotalSegments: totalSegments,
        Limit: this.pageItems,
        FilterExpression: '#sk = :profile',
        ExpressionAttributeNames: { '#sk': TABLE_DESIGN.sortKey },
        ExpressionAttributeValues: { ':profile': keys.profile },
        ExclusiveStartKey: after,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.meter?.('Scan', page.ConsumedCapacity, page.ScannedCount ?? 0);
    return {
      profiles: (page.Items ?? []).map((item, i) => {
        const parsed = scannedProfile.safeParse(item);
        if (!parsed.success)
          throw new Error(`Scan segment ${segment} item ${i}: not a profile: ${parsed.error.message}`, {
            cause: parsed.error,
          });
        return parsed.data;
      }),
      scanned: page.ScannedCount ?? 0,
      readUnits: page.ConsumedCapacity?.CapacityUnits ?? 0,
      after: page.LastEvaluatedKey ? scanKey.parse(page.LastEvaluatedKey) : undefined,
    };
  }
}
