import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { buildApp, STACK_NAME } from '#infra/app.ts';
import { fromRoot } from '#infra/paths.ts';
import { formatColdStart, measureColdStarts } from './bench-cold-start.ts';
import { benchSweepShards } from './bench-shards.ts';
import { parseCdnow } from './cdnow.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
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

export const runBench = async (): Promise<number> => {
  const units = { read: 0, write: 0, calls: 0, billedRead: 0, billedWrite: 0 };
  // DynamoDB Local reports CapacityUnits without the read/write split (the operation tells which)
  // and counts a transaction's items once. AWS bills 2 write units per transactional item (<1 KB),
  // 1 per plain write, 1 read unit per strongly consistent read (<4 KB): both are shown.
  const meter = (
    operation: string,
    capacity: readonly ConsumedCapacity[] | ConsumedCapacity | undefined,
    items: number,
  ) => {
    units.calls++;
    const read = operation === 'GetItem';
    for (const c of capacity === undefined ? [] : Array.isArray(capacity) ? capacity : [capacity]) {
      if (read) units.read += c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
      else units.write += c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
    }
    if (read) units.billedRead += items;
    else units.billedWrite += operation === 'TransactWriteItems' ? 2 * items : items;
  };
  const dataset = fromRoot('data/cdnow_sample.txt');
  const purchases = parseCdnow(readFileSync(dataset, 'utf8'), dataset);
  const memoryBefore = process.memoryUsage().rss;
  // The per-order pipeline (ingest, thank-you): what every order costs, comparable run to run.
  const runtime = await LocalRapport.start({
    meter,
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
    out('Rapport benchmark (one run)');
    out(
      `  dataset                       ${dataset} (${summary.events} orders, ${summary.customers} customers)`,
    );
    out(
      `  local replay                  ${summary.eventsPerSecond} events/s (${summary.wallSeconds} s wall)`,
    );
    out(`  DynamoDB calls per order      ${(units.calls / summary.orders).toFixed(2)}`);
    const perOrder = (n: number) => (n / summary.orders).toFixed(2);
    out(
      `  write units / order           ${perOrder(units.write)} reported by DynamoDB Local; ${perOrder(units.billedWrite)} as AWS bills them`,
    );
    out(
      `  read units / order            ${perOrder(units.read)} reported by DynamoDB Local; ${perOrder(units.billedRead)} as AWS bills them`,
    );
    // On-demand, us-east-1: $0.625 per million write request units, $0.125 per million read units.
    const dollarsPerMillion = (units.billedWrite * 0.625 + units.billedRead * 0.125) / summary.orders;
    out(`  DynamoDB $ / million orders   ${dollarsPerMillion.toFixed(2)} (on-demand, us-east-1 list price)`);
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
