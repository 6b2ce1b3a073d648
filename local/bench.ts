import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { buildApp, STACK_NAME } from '#infra/app.ts';
import { fromRoot } from '#infra/paths.ts';
import { parseCdnow } from './cdnow.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
import { replayPurchases } from './replay.ts';
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
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    return Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path'])
      .map(([id, r]) => {
        const dir = join(outdir, r.Metadata?.['aws:asset:path'] ?? '');
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
  const units = { read: 0, write: 0, calls: 0 };
  const meter = (
    _operation: string,
    capacity: readonly ConsumedCapacity[] | ConsumedCapacity | undefined,
  ) => {
    units.calls++;
    for (const c of capacity === undefined ? [] : Array.isArray(capacity) ? capacity : [capacity]) {
      units.read += c.ReadCapacityUnits ?? 0;
      units.write += c.WriteCapacityUnits ?? 0;
      // DynamoDB Local reports only CapacityUnits for some calls; GetItem is a read, writes say so.
      if (c.ReadCapacityUnits === undefined && c.WriteCapacityUnits === undefined)
        units.read += c.CapacityUnits ?? 0;
    }
  };
  const dataset = fromRoot('../shared/data/cdnow_sample.txt');
  const purchases = parseCdnow(readFileSync(dataset, 'utf8'), dataset);
  const memoryBefore = process.memoryUsage().rss;
  const runtime = await LocalRapport.start({ meter });
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
    out(`  write capacity units / order  ${(units.write / summary.orders).toFixed(2)}`);
    out(`  read capacity units / order   ${(units.read / summary.orders).toFixed(2)}`);
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
  return 0;
};
