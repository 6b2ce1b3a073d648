import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackfillStore } from '../../domain/use-cases/backfill.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { profileItem } from '../../functions/adapters/table-items.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { createTable, LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import {
  backfillStore,
  checkpointPath,
  type ImportPlan,
  planImport,
  readCheckpoint,
  runImport,
} from '../../local/import.ts';
import { reconcileTable } from '../../local/reconcile.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// rapport import against DynamoDB Local, on the local stack with every flow deployed: if an import
// published anything, or left the sweeper something to publish, the flows would mail it. A slice of
// the CDNOW sample (one customer in twenty-five) is settled as of 1 July 1998, the day after its last
// purchase, so some points are still pending, some long expired and some tiers still held.

const AS_OF = '1998-07-01T00:00:00Z';
const program = compileProject(readWorkflowSources()).program;
const sample = readFileSync(fromRoot('data/cdnow_sample.txt'), 'utf8');
const slice = sample
  .split('\n')
  .filter((line) => Number(line.trim().split(/\s+/)[0]) % 25 === 0)
  .join('\n');

type Item = Record<string, unknown>;

/** Every event waiting in an account's outbox, read as the functions read a profile. */
const outboxOf = (items: Item[]) =>
  items.filter((i) => i.type === 'profile').flatMap((item) => profileItem.parse(item).points?.outbox ?? []);
const timersOf = (items: Item[]) => items.filter((i) => i.type === 'points-due').map((i) => String(i.dueAt));

describe('rapport import', () => {
  let runtime: LocalRapport;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let plan: ImportPlan;
  const scratch = mkdtempSync(join(tmpdir(), 'rapport-import-'));

  const scan = async (tableName: string): Promise<Item[]> => {
    const items: Item[] = [];
    for await (const page of paginateScan({ client: doc }, { TableName: tableName }))
      items.push(...(page.Items ?? []));
    const key = (item: Item) => `${String(item.pk)}|${String(item.sk)}`;
    return items.sort((a, b) => key(a).localeCompare(key(b)));
  };
  const newTable = async (name: string) => {
    const props = runtime.stack.table.properties;
    const input: CreateTableCommandInput = {
      TableName: name,
      KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
      AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
      GlobalSecondaryIndexes:
        props.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
      BillingMode: 'PAY_PER_REQUEST',
    };
    await createTable(runtime.dynamo.endpoint, input);
    return name;
  };
  const reconcile = (tableName: string, asOf = AS_OF) =>
    reconcileTable(
      { endpoint: runtime.dynamo.endpoint, credentials: LOCAL_CREDENTIALS, tableName, asOf },
      program,
    );

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      outputDir: fromRoot('.rapport/test-import'),
      clock: new VirtualClock(Date.parse(AS_OF)),
    });
    client = new DynamoDBClient({
      endpoint: runtime.dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    doc = DynamoDBDocumentClient.from(client);
    plan = planImport(slice, 'cdnow', 'cdnow-slice.txt', { program, asOf: AS_OF });
  });

  afterAll(async () => {
    client?.destroy();
    await runtime?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('the CDNOW slice into the local stack', () => {
    let first: Awaited<ReturnType<typeof runImport>>;
    let tableName: string;

    beforeAll(async () => {
      tableName = runtime.names.tableName;
      first = await runImport(plan, { store: backfillStore(client, tableName), program, asOf: AS_OF });
    });

    it('records every purchase on its customer, and the balances reconcile with the ledger', async () => {
      const items = await scan(tableName);
      expect(plan.orders).toBeGreaterThan(200);
      expect(first.applied).toBe(plan.events);
      expect(first.rejected).toEqual([]);
      expect(items.filter((i) => i.type === 'order')).toHaveLength(plan.orders);
      expect(items.filter((i) => i.type === 'profile')).toHaveLength(plan.customers.length);
      const report = await reconcile(tableName);
      expect(report.mismatches).toEqual([]);
      expect(report.customers).toBe(plan.customers.length);
      // History older than the program's windows: lots that expired before 1 July 1998 are booked by
      // settlement entries, not left to be derived; the month's orders are still pending.
      expect(report.points.expired).toBeGreaterThan(0);
      expect(report.points.expiredUnsettled).toBe(0);
      expect(report.points.pending).toBeGreaterThan(0);
      // Tiers as they stand that day: upgrades of the last 365 days' spend held, the rest reviewed away.
      expect((report.tiers.silver ?? 0) + (report.tiers.gold ?? 0)).toBeGreaterThan(0);
    });

    it('sends no email, starts no execution and publishes nothing', async () => {
      await runtime.drain();
      expect(await readInbox(runtime.ses.endpoint)).toEqual([]);
      expect(runtime.executions).toEqual([]);
      expect(runtime.archive).toEqual([]);
      const items = await scan(tableName);
      expect(items.filter((i) => ['send', 'journey', 'wait', 'coupon'].includes(String(i.type)))).toEqual([]);
    });

    it('leaves no outbox and no timer due by today, so the sweeper has nothing to say about the past', async () => {
      const items = await scan(tableName);
      expect(outboxOf(items)).toEqual([]);
      const timers = timersOf(items);
      // Timers are armed for what is still to come (expiry warnings, tier reviews), and only for that.
      expect(timers.length).toBeGreaterThan(0);
      expect(timers.filter((due) => due <= AS_OF)).toEqual([]);

      const sweeps: unknown[] = [];
      sweeps.push(await runtime.sweep());
      runtime.clock.advanceTo(new Date(Date.parse(AS_OF) + 60_000));
      sweeps.push(await runtime.sweep());
      await runtime.drain();
      expect(sweeps.flat()).toEqual(
        Array(2).fill(expect.objectContaining({ settled: 0, published: 0, inactive: 0, failed: 0 })),
      );
      expect(await readInbox(runtime.ses.endpoint)).toEqual([]);
      expect(runtime.executions).toEqual([]);
    });

    it('changes nothing when the same history is imported again', async () => {
      const before = await scan(tableName);
      const again = await runImport(plan, { store: backfillStore(client, tableName), program, asOf: AS_OF });
      expect(again.applied).toBe(0);
      expect(again.duplicates).toBe(plan.events);
      expect(again.settled).toBe(0);
      expect(await scan(tableName)).toEqual(before);
    });
  });

  it('resumes after a crash midway and ends with the balances and ledger of one clean run', async () => {
    const clean = await newTable('import-clean');
    const crashed = await newTable('import-crashed');
    await runImport(plan, { store: backfillStore(client, clean), program, asOf: AS_OF });

    // The process dies at the 150th write: in the middle of some customer's history, with others in flight.
    const path = checkpointPath(scratch, slice, 'cdnow', crashed);
    const checkpoint = { path, dataset: 'cdnow-slice.txt', target: crashed };
    const store = backfillStore(client, crashed);
    let writes = 0;
    const dying = new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property !== 'recordOrder' && property !== 'writePoints') return value.bind(target);
        return (...args: unknown[]) => {
          if (++writes >= 150) return Promise.reject(new Error('injected crash'));
          return value.apply(target, args);
        };
      },
    }) satisfies BackfillStore;
    await expect(runImport(plan, { store: dying, program, asOf: AS_OF, checkpoint })).rejects.toThrow(
      'injected crash',
    );
    const saved = readCheckpoint(path);
    expect(saved?.doneThrough).toBeGreaterThan(0);
    expect(saved?.doneThrough).toBeLessThan(plan.customers.length);
    // Half imported and never resumed, it would still leave the sweeper nothing to publish: history
    // is written with no outbox and moves no timer; only a finished customer's settlement arms one.
    const half = await scan(crashed);
    expect(outboxOf(half)).toEqual([]);
    expect(timersOf(half).filter((due) => due <= AS_OF)).toEqual([]);

    const resumed = await runImport(plan, { store, program, asOf: AS_OF, checkpoint });
    expect(resumed.resumedAfter).toBe(saved?.doneThrough);
    expect(resumed.customersRecorded).toBe(plan.customers.length - (saved?.doneThrough ?? 0));
    expect(existsSync(path)).toBe(false);

    const strip = (items: Item[]) =>
      items.map(({ pk, sk, ...rest }) => ({ key: `${String(pk)}|${String(sk)}`, ...rest }));
    expect(strip(await scan(crashed))).toEqual(strip(await scan(clean)));
    expect((await reconcile(crashed)).mismatches).toEqual([]);
  });

  describe('a Shopify order export and an NDJSON of events, settled as of 1 June 2024', () => {
    const asOf = '2024-06-01T00:00:00Z';
    const fixture = (name: string) => readFileSync(fromRoot(`tests/fixtures/import/${name}`), 'utf8');
    const account = async (tableName: string, customerId: string) => {
      const profile = await backfillStore(client, tableName).getProfile(customerId);
      const points = profile?.points;
      // No tier state yet is the entry level.
      return { available: points?.available, pending: points?.pending, tier: points?.tier?.id ?? 'member' };
    };

    it('books the export as Shopify shows it: totals as placed, refunds and cancellations taken back', async () => {
      const tableName = await newTable('import-shopify');
      const csv = planImport(fixture('shopify-orders.csv'), 'shopify-csv', 'shopify-orders.csv', {
        program,
        asOf,
      });
      const run = await runImport(csv, { store: backfillStore(client, tableName), program, asOf });
      expect(run.rejected).toEqual([]);
      // Ada: 59 points, then 820 + 25 for the gift card; gold since April (879.98 spent), never told.
      expect(await account(tableName, 'ada@example.com')).toEqual({
        available: 904,
        pending: 0,
        tier: 'gold',
      });
      // Grace (two spellings of one address): 324 less the 108 refunded, and an order refunded whole;
      // silver from the moment 324 was spent, which a refund does not undo before the yearly review.
      expect(await account(tableName, 'grace.hopper@example.com')).toEqual({
        available: 216,
        pending: 0,
        tier: 'silver',
      });
      // Linus's order was cancelled the next day: nothing earned.
      expect(await account(tableName, 'linus@example.org')).toEqual({
        available: 0,
        pending: 0,
        tier: 'member',
      });
      expect((await reconcile(tableName, asOf)).mismatches).toEqual([]);
    });

    it('records registrations, orders, refunds and consent from NDJSON envelopes', async () => {
      const tableName = await newTable('import-ndjson');
      const events = planImport(fixture('events.ndjson'), 'ndjson', 'events.ndjson', { program, asOf });
      await runImport(events, { store: backfillStore(client, tableName), program, asOf });
      // Sign-up 100, 320 for o-1 (silver from then), o-2 with the silver multiplier and the vinyl
      // bonus (89 + 22 + 89) less half of it refunded (100): 520, silver kept at the January review.
      expect(await account(tableName, 'c-1')).toEqual({ available: 520, pending: 0, tier: 'silver' });
      expect(await account(tableName, 'c-2')).toEqual({ available: 145, pending: 0, tier: 'member' });
      const grace = await backfillStore(client, tableName).getProfile('c-2');
      expect(grace?.consent?.['*']).toMatchObject({ granted: true, at: '2024-02-01T00:00:00Z' });
      expect((await reconcile(tableName, asOf)).mismatches).toEqual([]);
      expect(await readInbox(runtime.ses.endpoint)).toEqual([]);
    });
  });
});
