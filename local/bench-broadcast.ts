import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { keys, TABLE_DESIGN } from '#domain/table-design.ts';
import { storedConsent } from '#functions/adapters/table-items.ts';
import { fromRoot } from '#infra/paths.ts';
import { WEEKLY_OFFER, workflowsWithBroadcast } from './broadcast-workflows.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.ts';
import { LocalRapport, VirtualClock } from './runtime.ts';

// npm run bench:broadcast: one occurrence of a weekly broadcast over N seeded customers on the
// local stack (DynamoDB Local, the synthesized Broadcast ASL in aws-local-stepfunctions, the real
// ScanPage handler). The triggers are counted at PutEvents instead of starting N flows here: what
// is measured is the broadcast engine (Scan segments, filter, PutEvents), not the flow it feeds.
// Never part of npm test.

const out = (line = '') => process.stdout.write(`${line}\n`);

const START = Date.parse('2026-01-05T08:00:00Z'); // Monday 03:00 in New York
const AFTER_OCCURRENCE = '2026-01-05T15:30:00Z'; // the occurrence is Monday 10:00 in New York

const optionsSchema = z.object({
  customers: z.coerce.number().int().positive().max(10_000_000),
  /** Items per customer besides the profile (orders, ledger entries): a Scan reads them too. */
  'other-items': z.coerce.number().int().nonnegative().max(50),
});

const seed = async (endpoint: string, table: string, customers: number, otherItems: number) => {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 10 }),
  );
  const at = new Date(START).toISOString();
  const items = function* () {
    for (let i = 0; i < customers; i++) {
      const customerId = `c-${String(i).padStart(8, '0')}`;
      const pk = keys.customer(customerId);
      yield {
        [TABLE_DESIGN.partitionKey]: pk,
        [TABLE_DESIGN.sortKey]: keys.profile,
        type: 'profile',
        customerId,
        email: `${customerId}@example.com`,
        name: `Casey ${i}`,
        createdAt: at,
        updatedAt: at,
        consent: storedConsent({ '*': { granted: true, at, source: 'registration' } }),
        // Half have ordered: the weekly-offer flow admits those.
        orderCount: i % 2,
        lifetimeSpendMinor: (i % 2) * 4250,
        refundedMinor: 0,
        pointsBalance: 0,
        lifetimePoints: 0,
        version: 1,
      };
      for (let j = 0; j < otherItems; j++)
        yield {
          [TABLE_DESIGN.partitionKey]: pk,
          [TABLE_DESIGN.sortKey]: keys.order(`o-${i}-${j}`),
          type: 'order',
          customerId,
          orderId: `o-${i}-${j}`,
          placedAt: at,
          totalMinor: 4250,
        };
    }
  };
  const source = items();
  let written = 0;
  const worker = async () => {
    for (;;) {
      const batch: Record<string, unknown>[] = [];
      while (batch.length < 25) {
        const next = source.next();
        if (next.done) break;
        batch.push(next.value);
      }
      if (batch.length === 0) return;
      let requests: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> = {
        [table]: batch.map((Item) => ({ PutRequest: { Item } })),
      };
      // BatchWriteItem may leave items unprocessed under load: send those again.
      for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
        const answer = await doc.send(new BatchWriteCommand({ RequestItems: requests }));
        requests = (answer.UnprocessedItems ?? {}) as typeof requests;
        if (attempt > 20) throw new Error('BatchWriteItem kept items unprocessed 20 times');
      }
      written += batch.length;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  doc.destroy();
  return written;
};

export const runBroadcastBench = async (argv: string[]): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      customers: { type: 'string', default: '100000' },
      'other-items': { type: 'string', default: '0' },
    },
  });
  const options = optionsSchema.parse(values);
  const workflows = workflowsWithBroadcast('bench-broadcast-workflows');
  const units = { read: 0, scans: 0 };
  const meter = (operation: string, capacity: readonly ConsumedCapacity[] | ConsumedCapacity | undefined) => {
    if (operation !== 'Scan') return;
    units.scans++;
    for (const c of capacity === undefined ? [] : Array.isArray(capacity) ? capacity : [capacity])
      units.read += c.CapacityUnits ?? 0;
  };
  const triggers = { events: 0, calls: 0 };
  const runtime = await LocalRapport.start({
    trace: true,
    outputDir: fromRoot('.rapport/bench-broadcast'),
    clock: new VirtualClock(START),
    workflowsDir: workflows,
    onlyFlows: [WEEKLY_OFFER],
    meter,
    decorate: (deps, logicalId) =>
      logicalId.startsWith('Broadcast')
        ? {
            ...deps,
            publisher: {
              publish: async (events) => {
                triggers.calls++;
                triggers.events += events.length;
              },
            },
          }
        : deps,
  });
  try {
    const machine = runtime.stack.machines.find((m) => m.logicalId.startsWith('BroadcastMachine'));
    const map = z
      .object({
        States: z.object({
          ScanSegments: z.object({
            MaxConcurrency: z.number(),
            ItemSelector: z.object({ totalSegments: z.number(), pagesPerCall: z.number() }),
          }),
        }),
      })
      .parse(machine?.definition).States.ScanSegments;
    const seedStarted = performance.now();
    const items = await seed(
      runtime.dynamo.endpoint,
      runtime.names.tableName,
      options.customers,
      options['other-items'],
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    // The first sweep starts the schedule's cursor, as at deploy time.
    await runtime.sweep();
    runtime.clock.advanceTo(AFTER_OCCURRENCE);
    const started = performance.now();
    await runtime.sweep();
    await runtime.drain();
    const seconds = (performance.now() - started) / 1000;
    const execution = runtime.executions.find((e) => e.machine.startsWith('BroadcastMachine'));
    if (execution?.status !== 'SUCCEEDED')
      throw new Error(`the broadcast did not succeed: ${execution?.error ?? 'not started'}`);
    const { segments } = z
      .object({
        segments: z.array(
          z.object({ scanned: z.number(), matched: z.number(), pages: z.number(), invocations: z.number() }),
        ),
      })
      .parse(execution.output);
    const sum = (pick: (s: (typeof segments)[number]) => number) => segments.reduce((n, s) => n + pick(s), 0);
    const invocations = sum((s) => s.invocations);
    const transitions = execution.path.length;
    out('Rapport broadcast benchmark (one occurrence, local stack)');
    out(
      `  customers seeded              ${options.customers} (${items} items, BatchWriteItem, ${seedSeconds.toFixed(1)} s)`,
    );
    out(`  segments / max concurrency    ${map.ItemSelector.totalSegments} / ${map.MaxConcurrency}`);
    out(`  pages per ScanPage call       ${map.ItemSelector.pagesPerCall} at most (Scan Limit 1000 items)`);
    out(`  items scanned                 ${sum((s) => s.scanned)}`);
    out(
      `  customers triggered           ${sum((s) => s.matched)} (${triggers.events} triggers in ${triggers.calls} PutEvents)`,
    );
    out(`  ScanPage invocations          ${invocations} (${sum((s) => s.pages)} Scan pages)`);
    out(`  states entered                ${transitions}`);
    out(`  read units (DynamoDB Local)   ${units.read.toFixed(1)} over ${units.scans} Scan calls`);
    out(`  wall time                     ${seconds.toFixed(1)} s`);
    out(`  customers scanned / s         ${Math.round(options.customers / seconds)}`);
    out(`  triggers / s                  ${Math.round(triggers.events / seconds)}`);
    return 0;
  } finally {
    await runtime.stop();
    rmSync(fromRoot(workflows), { recursive: true, force: true });
  }
};

if (import.meta.url === `file://${process.argv[1]}`)
  process.exitCode = await runBroadcastBench(process.argv.slice(2));
