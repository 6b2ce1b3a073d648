import type { ProfileScanner, ProfileScanPage, ScanKey } from '../../domain/broadcast.ts';
import type { CustomerProfile } from '../../domain/customer.ts';
import { stableHash } from '../../domain/journeys.ts';

/**
 * A parallel Scan in memory, paged as DynamoDB pages it: each item belongs to one segment (by a
 * hash of its key), a page holds at most `pageItems` items, and LastEvaluatedKey is the last one's
 * key. Other items (orders, ledger entries) are counted as scanned and not returned.
 */
export class InMemoryProfileScanner implements ProfileScanner {
  readonly calls: { segment: number; after: ScanKey | undefined }[] = [];

  constructor(
    private readonly profiles: CustomerProfile[],
    private readonly otherItemsPerCustomer = 0,
    private readonly pageItems = 10,
  ) {}

  private items(segment: number, totalSegments: number) {
    const all = this.profiles.flatMap((profile) => [
      { pk: `CUSTOMER#${profile.customerId}`, sk: 'PROFILE', profile },
      ...Array.from({ length: this.otherItemsPerCustomer }, (_, i) => ({
        pk: `CUSTOMER#${profile.customerId}`,
        sk: `ORDER#${i}`,
        profile: undefined,
      })),
    ]);
    return all
      .filter((item) => stableHash(item.pk) % totalSegments === segment)
      .sort((a, b) => (`${a.pk}/${a.sk}` < `${b.pk}/${b.sk}` ? -1 : 1));
  }

  async scanSegment(
    segment: number,
    totalSegments: number,
    after: ScanKey | undefined,
  ): Promise<ProfileScanPage> {
    this.calls.push({ segment, after });
    const items = this.items(segment, totalSegments);
    const from = after ? items.findIndex((item) => item.pk === after.pk && item.sk === after.sk) + 1 : 0;
    const page = items.slice(from, from + this.pageItems);
    const last = page.at(-1);
    const more = from + page.length < items.length;
    return {
      profiles: page.flatMap((item) => (item.profile ? [structuredClone(item.profile)] : [])),
      scanned: page.length,
      readUnits: page.length / 2,
      after: more && last ? { pk: last.pk, sk: last.sk } : undefined,
    };
  }
}
