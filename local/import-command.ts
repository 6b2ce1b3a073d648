import { readFileSync, writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Program } from '#domain/program.ts';
import { fromRoot } from '#infra/paths.ts';
import type { COMMANDS, ValuesOf } from './cli-options.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from './emulators.ts';
import {
  backfillStore,
  type CapacityTally,
  capacityMeter,
  checkpointPath,
  ImportRefusedError,
  planImport,
  readCheckpoint,
  runImport,
} from './import.ts';
import { guessFormat } from './import-formats.ts';
import { progressBar } from './progress.ts';
import { formatReconcile, type ReconcileReport, reconcileTable } from './reconcile.ts';
import { LocalRapport, VirtualClock } from './runtime.ts';

// `rapport import` as the CLI runs it: the target (a named table, or a local stack started for
// the import), the plan, the run with its checkpoint and progress bar, reconcile, the summary.

export type ImportValues = ValuesOf<(typeof COMMANDS)['import']['options']>;

export interface ImportSummary {
  dataset: string;
  format: string;
  target: string;
  asOf: string;
  customers: number;
  orders: number;
  refunds: number;
  events: number;
  skipped: { line: number; reason: string }[];
  applied: number;
  duplicates: number;
  rejected: string[];
  /** Customers a checkpoint of an earlier, interrupted run had done. */
  resumedAfter: number;
  /** The import has no mailer: on the local stack this is SES local's count, to show it. */
  emailsSent: number;
  reconcile: ReconcileReport;
  wallSeconds: number;
  eventsPerSecond: number;
  capacity: CapacityTally & {
    /** As AWS bills writes: 2 units per transactional item, 1 per plain write (items under 1 KB). */
    billedWriteUnitsPerOrder: number;
    readUnitsPerOrder: number;
    /** On-demand, us-east-1 list price: $0.625 per million write units, $0.125 per million read units. */
    dollarsPer100kOrders: number;
  };
}

export interface ImportHooks {
  out: (line?: string) => void;
  /** Announces a local stack and keeps it up (on a terminal, or with --keep) until Ctrl-C. */
  keepUp: (runtime: LocalRapport) => Promise<void>;
  checkpointDir?: string;
}

export const printImportSummary = (s: ImportSummary, out: (line?: string) => void) => {
  out();
  out(`Imported ${s.dataset} (${s.format}) into ${s.target}, settled as of ${s.asOf}`);
  out(`  customers          ${s.customers}`);
  out(
    `  orders             ${s.orders} (refunds ${s.refunds}; ${s.events} events, ${s.applied} recorded now, ${s.duplicates} already recorded)`,
  );
  if (s.resumedAfter > 0) out(`  resumed after      ${s.resumedAfter} customers done by an earlier run`);
  if (s.skipped.length > 0)
    out(
      `  skipped rows       ${s.skipped.length}: ${s.skipped
        .slice(0, 3)
        .map((k) => `line ${k.line}: ${k.reason}`)
        .join('; ')}`,
    );
  out(
    `  rejected events    ${s.rejected.length}${s.rejected.length > 0 ? `: ${s.rejected.slice(0, 3).join('; ')}` : ''}`,
  );
  out(`  emails sent        ${s.emailsSent}`);
  for (const line of formatReconcile(s.reconcile)) out(`  ${line}`);
  out(`  wall time          ${s.wallSeconds} s`);
  out(`  events per second  ${s.eventsPerSecond}`);
  const c = s.capacity;
  out(
    `  DynamoDB           ${c.billedWriteUnitsPerOrder} write units and ${c.readUnitsPerOrder} read units per order as AWS bills them; $${c.dollarsPer100kOrders} per 100k orders on demand`,
  );
};

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export const importCommand = async (
  values: ImportValues,
  program: Program,
  hooks: ImportHooks,
): Promise<number> => {
  const dataset = values.dataset ?? '';
  const text = readFileSync(dataset, 'utf8');
  const format = values.format ?? guessFormat(dataset);
  const local = values.table === undefined;
  const target = local
    ? 'a local stack'
    : `${values.table}${values.endpoint ? ` at ${values.endpoint}` : ` (AWS${values.region ? `, ${values.region}` : ''})`}`;
  const checkpointDir = hooks.checkpointDir ?? fromRoot('.rapport');
  const checkpoint = local
    ? undefined
    : checkpointPath(
        checkpointDir,
        text,
        format,
        `${values.endpoint ?? 'aws'}|${values.region ?? ''}|${values.table}`,
      );
  // A resumed import keeps the "today" it started with, so its accounts are settled to one day.
  const asOf =
    values['as-of'] ?? (checkpoint && readCheckpoint(checkpoint)?.asOf) ?? new Date().toISOString();
  let plan: ReturnType<typeof planImport>;
  try {
    plan = planImport(text, format, dataset, { program, asOf });
  } catch (error) {
    if (!(error instanceof ImportRefusedError)) throw error;
    process.stderr.write(`rapport import: ${error.message}\n`);
    return 1;
  }

  let runtime: LocalRapport | undefined;
  let client: DynamoDBClient;
  let tableName: string;
  if (local) {
    hooks.out('Starting DynamoDB Local, SES v2 local and the synthesized state machines...');
    runtime = await LocalRapport.start({ clock: new VirtualClock(Date.parse(asOf)) });
    client = new DynamoDBClient({
      endpoint: runtime.dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    tableName = runtime.names.tableName;
  } else {
    const endpoint = values.endpoint;
    client = new DynamoDBClient({
      ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}),
      ...(values.region ? { region: values.region } : endpoint ? { region: LOCAL_REGION } : {}),
      // Throttling slows the client down for everyone (a token bucket), on top of the import's own backoff.
      retryMode: 'adaptive',
      maxAttempts: 8,
    });
    tableName = values.table ?? '';
  }
  try {
    const { tally, meter } = capacityMeter();
    const started = performance.now();
    const run = await runImport(plan, {
      store: backfillStore(client, tableName, meter),
      program,
      asOf,
      concurrency: values.concurrency,
      checkpoint: checkpoint ? { path: checkpoint, dataset, target } : undefined,
      onProgress: progressBar('import'),
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const reconcile = await reconcileTable(
      {
        endpoint: runtime?.dynamo.endpoint ?? values.endpoint,
        tableName,
        ...(values.region ? { region: values.region } : {}),
        ...(runtime || values.endpoint ? { credentials: LOCAL_CREDENTIALS } : {}),
        asOf,
      },
      program,
    );
    const emailsSent = runtime ? (await readInbox(runtime.ses.endpoint)).length : 0;
    const orders = Math.max(1, plan.orders);
    const billed = 2 * tally.transactItems + tally.plainWrites;
    const summary: ImportSummary = {
      dataset,
      format,
      target,
      asOf,
      customers: plan.customers.length,
      orders: plan.orders,
      refunds: plan.refunds,
      events: plan.events,
      skipped: plan.skipped,
      applied: run.applied,
      duplicates: run.duplicates,
      rejected: run.rejected,
      resumedAfter: run.resumedAfter,
      emailsSent,
      reconcile,
      wallSeconds: round(wallSeconds),
      eventsPerSecond: Math.round(run.eventsRecorded / (wallSeconds || 1)),
      capacity: {
        ...tally,
        billedWriteUnitsPerOrder: round(billed / orders),
        readUnitsPerOrder: round(tally.readUnits / orders),
        dollarsPer100kOrders: round(((billed * 0.625 + tally.readUnits * 0.125) / orders) * 0.1),
      },
    };
    printImportSummary(summary, hooks.out);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
    if (runtime && (values.keep ?? (process.stdout.isTTY && !values.exit))) await hooks.keepUp(runtime);
    return reconcile.mismatches.length === 0 && run.rejected.length === 0 ? 0 : 1;
  } finally {
    client.destroy();
    await runtime?.stop();
  }
};
