import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeValue,
  type ConsumedCapacity,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { RuntimeDeps } from '#functions/commons/runtime.ts';
import { buildApp, STACK_NAME } from '#infra/app.ts';
import { fromRoot } from '#infra/paths.ts';
import { formatColdStart, measureColdStarts } from './bench-cold-start.ts';
import { benchSweepShards } from './bench-shards.ts';
import { parseCdnow } from './cdnow.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
import { itemBytes } from './item-size.ts';
import { replayClock, replayPurchases } from './replay.ts';
import { LocalRapport } from './runtime.ts';

// npm run bench: one replay of the CDNOW sample, with DynamoDB capacity metered on every call,
// and the size of every Lambda bundle esbuild produces for deployment.

const out = (line = '') => process.stdout.write(`${line}\n`);

const bundleSizes = (): { name: string; bytes: number }[] => {
  const outdir = mkdtempSync(join(tmpdir(), 'rapport-bench-'));
  try {
    const { app, stack } = buildApp({ outdir });
    app.synth();
    const template = JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.template.json`), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
    };
    // A function's code is the asset whose hash names its S3 key (<hash>.zip) and its folder.
    return Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Code?.S3Key)
      .map(([id, r]) => {
        const dir = join(outdir, `asset.${r.Properties.Code?.S3Key?.replace(/\.zip$/, '')}`);
        const code = readdirSync(dir).filter((f) => f.endsWith('.mjs'));
        return {
          name: `${stack.stackName}/${id}`,
          bytes: code.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0),
        };
      });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};

/** Which part of an order's life a store call belongs to, by the function that made it and the call. */
const phaseOf = (fn: string, method: string): Phase =>
  fn.startsWith('Record') || fn.startsWith('Award')
    ? 'order'
    : fn.startsWith('Sweep')
      ? SETTLEMENT_CALLS.has(method)
        ? 'settlement'
        : 'sweep'
      : // SES's feedback on each email (sends, bounces, complaints counted per identity) is an email's cost.
        fn.startsWith('Journey') || fn.startsWith('SendEmail') || fn.startsWith('SesEvents')
        ? 'flows'
        : 'other';
const PHASES = ['order', 'settlement', 'sweep', 'flows', 'other'] as const;
type Phase = (typeof PHASES)[number];
/** What settling one account reads and writes; everything else the sweeper does is finding work. */
const SETTLEMENT_CALLS = new Set(['getProfile', 'writePoints', 'getLedgerEntry']);
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** The largest item in the table and its kind, read page by page. */
const largestItem = async (endpoint: string, tableName: string) => {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  let largest = { bytes: 0, key: '' };
  const profiles: number[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const bytes = itemBytes(item);
      if (item.sk?.S === 'PROFILE') profiles.push(bytes);
      if (bytes > largest.bytes) largest = { bytes, key: `${item.pk?.S} ${item.sk?.S}` };
    }
    start = page.LastEvaluatedKey;
  } while (start);
  profiles.sort((a, b) => a - b);
  const at = (q: number) => profiles[Math.min(profiles.length - 1, Math.floor(q * profiles.length))] ?? 0;
  const overKB = profiles.filter((b) => b > 1024).length / Math.max(1, profiles.length);
  return { ...largest, profiles: { p50: at(0.5), p90: at(0.9), p99: at(0.99), overKB } };
};

export const runBench = async (): Promise<number> => {
  // Each store call runs in its phase, so the meter knows whom to charge (calls overlap in time).
  const phase = new AsyncLocalStorage<{ phase: Phase; method: string }>();
  const byMethod = new Map<string, { calls: number; units: number }>();
  const units = Object.fromEntries(
    PHASES.map((p) => [p, { read: 0, write: 0, calls: 0, transactItems: 0, plainWrites: 0 }]),
  ) as Record<
    Phase,
    { read: number; write: number; calls: number; transactItems: number; plainWrites: number }
  >;
  // DynamoDB Local reports CapacityUnits without the read/write split, so the operation tells which.
  const meter = (
    operation: string,
    capacity: readonly ConsumedCapacity[] | ConsumedCapacity | undefined,
    items: number,
  ) => {
    const call = phase.getStore() ?? { phase: 'other' as const, method: '?' };
    const u = units[call.phase];
    const key = `${call.phase} ${call.method} ${operation}`;
    const m = byMethod.get(key) ?? { calls: 0, units: 0 };
    byMethod.set(key, m);
    m.calls++;
    for (const c of capacity === undefined ? [] : Array.isArray(capacity) ? capacity : [capacity])
      m.units += c.CapacityUnits ?? 0;
    u.calls++;
    const read = READS.has(operation);
    for (const c of capacity === undefined ? [] : Array.isArray(capacity) ? capacity : [capacity]) {
      if (read) u.read += c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
      else u.write += c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
    }
    if (operation === 'TransactWriteItems') u.transactItems += items;
    else if (!read) u.plainWrites += items;
  };
  const metered = <T extends object>(port: T, fn: string): T =>
    new Proxy(port, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) =>
          phase.run({ phase: phaseOf(fn, property), method: property }, () => value.apply(target, args));
      },
    });
  const decorate = (deps: RuntimeDeps, fn: string): RuntimeDeps => ({
    ...deps,
    store: metered(deps.store, fn),
    reputation: metered(deps.reputation, fn),
  });
  const dataset = fromRoot('data/cdnow_sample.txt');
  // RAPPORT_BENCH_CUSTOMERS=N replays every purchase of one customer in N, for a quick look while
  // changing things; the figures to report come from the whole sample.
  const every = Number(process.env.RAPPORT_BENCH_CUSTOMERS ?? 1);
  const purchases = parseCdnow(readFileSync(dataset, 'utf8'), dataset).filter(
    (p) => Number(p.customerId) % every === 0,
  );
  const memoryBefore = process.memoryUsage().rss;
  // The per-order pipeline (ingest with the shipped loyalty program, the thank-you flow): what every
  // order costs over its life, comparable run to run.
  const runtime = await LocalRapport.start({
    meter,
    decorate,
    clock: replayClock(purchases),
    onlyFlows: ['thank-you'],
  });
  const { server, endpoint } = await startEventsEndpoint(runtime);
  try {
    const { compileProject } = await import('#domain/workflow/compile.ts');
    const { readWorkflowSources } = await import('#infra/workflow-files.ts');
    const summary = await replayPurchases(runtime, endpoint, purchases, {
      dataset,
      program: compileProject(readWorkflowSources()).program,
    });
    const perOrder = (n: number) => (n / summary.orders).toFixed(2);
    const total = (
      field: 'read' | 'write' | 'calls' | 'transactItems' | 'plainWrites',
      phases: readonly Phase[] = PHASES,
    ) => phases.reduce((sum, p) => sum + units[p][field], 0);
    const life = ['order', 'settlement', 'sweep'] as const;
    out('Rapport benchmark (one run)');
    out(
      `  dataset                       ${dataset} (${summary.events} orders, ${summary.customers} customers)`,
    );
    out(
      `  local replay                  ${summary.eventsPerSecond} events/s (${summary.wallSeconds} s wall)`,
    );
    out('  DynamoDB per order, as DynamoDB Local reports ConsumedCapacity (Query and Scan count as reads):');
    out('    phase          write units  read units  calls');
    for (const p of PHASES)
      out(
        `    ${p.padEnd(14)} ${perOrder(units[p].write).padStart(11)} ${perOrder(units[p].read).padStart(11)} ${perOrder(units[p].calls).padStart(6)}`,
      );
    out(
      `    order's life   ${perOrder(total('write', life)).padStart(11)} ${perOrder(total('read', life)).padStart(11)} ${perOrder(total('calls', life)).padStart(6)}   (order + settlement + sweep; target <= 9 write (decision 49), <= 2 read)`,
    );
    out(
      `    everything     ${perOrder(total('write')).padStart(11)} ${perOrder(total('read')).padStart(11)} ${perOrder(total('calls')).padStart(6)}`,
    );
    // AWS bills 2 write units per transactional item and 1 per plain write, each per started KB.
    // DynamoDB Local reports one transaction as 2 units per distinct item size (measured), so it
    // reports less than AWS would for a transaction of several small items: both are shown.
    const billedWrite = (phases: readonly Phase[]) =>
      2 * total('transactItems', phases) + total('plainWrites', phases);
    out(
      `  as AWS would bill writes      ${perOrder(billedWrite(life))} units per order's life, ${perOrder(billedWrite(PHASES))} with flows (items under 1 KB; index writes not counted)`,
    );
    // On-demand, us-east-1: $0.625 per million write request units, $0.125 per million read units.
    const dollarsPerMillion = (billedWrite(PHASES) * 0.625 + total('read') * 0.125) / summary.orders;
    out(`  DynamoDB $ / million orders   ${dollarsPerMillion.toFixed(2)} (on-demand, us-east-1 list price)`);
    out('  where the capacity goes (per order: calls, units as DynamoDB Local reports them):');
    for (const [key, m] of [...byMethod].sort(([a], [b]) => a.localeCompare(b)))
      out(`    ${key.padEnd(44)} ${perOrder(m.calls).padStart(6)} ${perOrder(m.units).padStart(7)}`);
    const largest = await largestItem(runtime.dynamo.endpoint, 'rapport-local');
    out(`  largest item after replay     ${largest.bytes} bytes (${largest.key})`);
    const p = largest.profiles;
    out(
      `  profile item sizes            p50 ${p.p50} B, p90 ${p.p90} B, p99 ${p.p99} B; ${(100 * p.overKB).toFixed(1)}% over 1 KB`,
    );
    out(
      `  Lambda invocations per order  ${[...runtime.invocations.values()].reduce((a, b) => a + b, 0) / summary.orders}`,
    );
    out(`  runner RSS growth             ${Math.round((process.memoryUsage().rss - memoryBefore) / 1e6)} MB`);
    out(`  every point accounted for     ${summary.pointsAccountedFor}`);
  } finally {
    server.close();
    await runtime.stop();
  }
  out('  Lambda bundles (esbuild, minified ESM, AWS SDK from the runtime):');
  for (const bundle of bundleSizes())
    out(`    ${bundle.name.padEnd(36)} ${(bundle.bytes / 1024).toFixed(1)} KiB`);
  out('  Handler cold start (median import in a fresh Node process, bundle as deployed):');
  for (const figure of measureColdStarts()) out(`    ${formatColdStart(figure)}`);
  await benchSweepShards(out);
  return 0;
};
