import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { InvalidEventError, NotFoundError, TransientError } from '#domain/errors.ts';
import { type CommerceEvent, parseCommerceEvent } from '#domain/events.ts';
import type { Program } from '#domain/program.ts';
import { keys } from '#domain/table-design.ts';
import { type BackfillStore, occurredAt, recordHistory, settleImported } from '#domain/use-cases/backfill.ts';
import { checkAgainstProgram } from '#domain/use-cases/record-event.ts';
import { type CapacityMeter, DynamoDbCustomerStore } from '#functions/adapters/dynamodb-customer-store.ts';
import { dueItem } from '#functions/adapters/table-items.ts';
import { HistoryFormatError, type ImportFormat, readHistory, type SkippedLine } from './import-formats.ts';

// rapport import: a purchase history into customer records and ledgers, through the record use
// case (domain/use-cases/backfill.ts) and the DynamoDB store, never the ingest machine: nothing is
// published, no journey starts, no email goes. Customers run in parallel, each one's events in
// time order (the writes are optimistic per customer, and order is what the rules depend on). A
// checkpoint beside the target says how far it got; a re-run continues from there, and since
// recording is idempotent, the customers in flight when it stopped are simply recorded again.

// ---- the store -----------------------------------------------------------------------------------

/** The DynamoDB store, which can also say what the timer index holds for an account. */
export class DynamoDbBackfillStore extends DynamoDbCustomerStore implements BackfillStore {
  async indexedDue(customerId: string): Promise<string | undefined> {
    const item = await this.getItem(customerId, keys.pointsDue);
    return item ? dueItem.parse(item).dueAt : undefined;
  }
}

/** What the import consumed, as DynamoDB reports it, and the items AWS bills writes by. */
export interface CapacityTally {
  calls: number;
  readUnits: number;
  writeUnits: number;
  transactItems: number;
  plainWrites: number;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);

export const capacityMeter = (): { tally: CapacityTally; meter: CapacityMeter } => {
  const tally: CapacityTally = { calls: 0, readUnits: 0, writeUnits: 0, transactItems: 0, plainWrites: 0 };
  const meter: CapacityMeter = (operation, capacity, items) => {
    tally.calls++;
    const read = READS.has(operation);
    for (const c of capacity === undefined ? [] : Array.isArray(capacity) ? capacity : [capacity]) {
      if (read) tally.readUnits += c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
      else tally.writeUnits += c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
    }
    if (operation === 'TransactWriteItems') tally.transactItems += items;
    else if (!read) tally.plainWrites += items;
  };
  return { tally, meter };
};

export const backfillStore = (client: DynamoDBClient, tableName: string, meter?: CapacityMeter) =>
  new DynamoDbBackfillStore(client, tableName, meter);

// ---- the plan ------------------------------------------------------------------------------------

export interface PlannedEvent {
  line: number;
  event: CommerceEvent;
}

export interface ImportPlan {
  file: string;
  format: ImportFormat;
  /** Customers in a fixed order (by first event, then id): the checkpoint counts along it. */
  customers: { customerId: string; events: PlannedEvent[] }[];
  events: number;
  orders: number;
  refunds: number;
  skipped: SkippedLine[];
}

/** Every line that cannot be imported, as `file:line: field: reason`; nothing is written when there is one. */
export class ImportRefusedError extends Error {
  override readonly name = 'ImportRefusedError';
  constructor(readonly problems: string[]) {
    super(
      `${problems.length} line(s) cannot be imported; nothing was written:\n${problems.slice(0, 20).join('\n')}${problems.length > 20 ? `\n... and ${problems.length - 20} more` : ''}`,
    );
  }
}

/** History is orders, refunds, registrations and consent: a privacy request is acted on live, never replayed. */
const NOT_HISTORY = new Set(['customer.erasure-requested', 'customer.export-requested']);

/**
 * Reads and checks the whole file before anything is written: every event through
 * parseCommerceEvent (the live schemas and limits, "now" being `asOf`), in the program's currency.
 */
export const planImport = (
  text: string,
  format: ImportFormat,
  file: string,
  context: { program: Program; asOf: string },
): ImportPlan => {
  let history: ReturnType<typeof readHistory>;
  try {
    history = readHistory(text, format);
  } catch (error) {
    if (error instanceof HistoryFormatError)
      throw new ImportRefusedError([`${file}:${error.message.replace(/^line /, '')}`]);
    throw error;
  }
  const { program } = context;
  const problems: string[] = [];
  const byCustomer = new Map<string, PlannedEvent[]>();
  const owners = new Map<string, string>();
  let orders = 0;
  let refunds = 0;
  for (const { line, envelope } of history.lines) {
    let event: CommerceEvent;
    try {
      event = parseCommerceEvent(envelope, { now: new Date(context.asOf), limits: program.limits });
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      problems.push(`${file}:${line}: ${error.message}`);
      continue;
    }
    if (NOT_HISTORY.has(event.type)) {
      problems.push(`${file}:${line}: detail-type: ${event.type} is not history; send it to the live system`);
      continue;
    }
    try {
      checkAgainstProgram(event, program);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      problems.push(`${file}:${line}: ${error.message}`);
      continue;
    }
    if (event.type === 'order.placed') {
      orders++;
      owners.set(event.detail.orderId, event.detail.customerId);
    }
    if (event.type === 'order.refunded' || event.type === 'order.cancelled') refunds++;
    // A refund or cancellation may name no customer (as Shopify's do): its order in the file does.
    const customerId =
      event.detail.customerId ?? ('orderId' in event.detail ? owners.get(event.detail.orderId) : undefined);
    if (!customerId) {
      problems.push(
        `${file}:${line}: detail.customerId: names no customer, and no order ${'orderId' in event.detail ? event.detail.orderId : ''} before it in the file does`,
      );
      continue;
    }
    const list = byCustomer.get(customerId) ?? [];
    byCustomer.set(customerId, list);
    list.push({ line, event });
  }
  if (problems.length > 0) throw new ImportRefusedError(problems);
  const time = (e: PlannedEvent) => Date.parse(occurredAt(e.event));
  const customers = [...byCustomer].map(([customerId, events]) => ({
    customerId,
    // A stable sort: events at the same instant keep the file's order (an order before its refund).
    events: events.sort((a, b) => time(a) - time(b)),
  }));
  const first = (c: (typeof customers)[number]) => time(c.events[0] as PlannedEvent);
  customers.sort(
    (a, b) => first(a) - first(b) || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0),
  );
  return {
    file,
    format,
    customers,
    events: customers.reduce((sum, c) => sum + c.events.length, 0),
    orders,
    refunds,
    skipped: history.skipped,
  };
};

// ---- the checkpoint ------------------------------------------------------------------------------

const checkpointSchema = z.object({
  version: z.literal(1),
  dataset: z.string(),
  format: z.string(),
  target: z.string(),
  asOf: z.string(),
  customers: z.number().int(),
  /** Every customer before this index (in the plan's order) is recorded and settled. */
  doneThrough: z.number().int().nonnegative(),
  updatedAt: z.string(),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;

/** One checkpoint per (file contents, format, table): the same import resumes it, another does not. */
export const checkpointPath = (dir: string, text: string, format: string, target: string): string => {
  const hash = createHash('sha256').update(`${format}\n${target}\n`).update(text).digest('hex').slice(0, 16);
  return join(dir, `import-${hash}.json`);
};

export const readCheckpoint = (path: string): Checkpoint | undefined => {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`${path} is not JSON; delete it to import from the start`, { cause });
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${path}: not an import checkpoint; delete it to import from the start`);
  return parsed.data;
};

/** Written to a temporary file and renamed over the old one, so a crash never leaves half a checkpoint. */
const writeCheckpoint = (path: string, checkpoint: Checkpoint) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(checkpoint, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
};

// ---- the run -------------------------------------------------------------------------------------

export interface RunOptions {
  store: BackfillStore;
  program: Program;
  asOf: string;
  /** Customers recorded at once (default 16). */
  concurrency?: number;
  /** Where the checkpoint lives, and what it describes; without it the run cannot be resumed. */
  checkpoint?: { path: string; dataset: string; target: string } | undefined;
  onProgress?: (done: number, total: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface RunResult {
  /** Customers the checkpoint said were done before this run. */
  resumedAfter: number;
  customersRecorded: number;
  eventsRecorded: number;
  applied: number;
  duplicates: number;
  settled: number;
  /** Events the record use case refused (an over-refund, a refund of an order it never saw). */
  rejected: string[];
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** DynamoDB throttling: backed off and retried in place, with jitter, up to about two minutes. */
const withBackoff = async <T>(sleep: (ms: number) => Promise<void>, work: () => Promise<T>): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= 10) throw error;
      await sleep(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
    }
  }
};

export const runImport = async (plan: ImportPlan, options: RunOptions): Promise<RunResult> => {
  const { store, program, asOf } = options;
  const sleep = options.sleep ?? realSleep;
  const deps = { store, program, asOf, sleep };
  const saved = options.checkpoint ? readCheckpoint(options.checkpoint.path) : undefined;
  if (saved && saved.asOf !== asOf)
    throw new Error(
      `${options.checkpoint?.path}: an import of this file into this table stopped as of ${saved.asOf}; resume it with --as-of ${saved.asOf}, or delete the checkpoint to start again`,
    );
  const start = Math.min(saved?.doneThrough ?? 0, plan.customers.length);
  const result: RunResult = {
    resumedAfter: start,
    customersRecorded: 0,
    eventsRecorded: 0,
    applied: 0,
    duplicates: 0,
    settled: 0,
    rejected: [],
  };
  const total = plan.events;
  let eventsDone = plan.customers.slice(0, start).reduce((sum, c) => sum + c.events.length, 0);
  options.onProgress?.(eventsDone, total);
  const done = new Array<boolean>(plan.customers.length).fill(false);
  let mark = start;
  let next = start;
  let failure: { error: unknown } | undefined;
  let lastWrite = 0;
  const save = (force = false) => {
    const checkpoint = options.checkpoint;
    if (!checkpoint) return;
    const now = Date.now();
    if (!force && now - lastWrite < 1000) return;
    lastWrite = now;
    writeCheckpoint(checkpoint.path, {
      version: 1,
      dataset: checkpoint.dataset,
      format: plan.format,
      target: checkpoint.target,
      asOf,
      customers: plan.customers.length,
      doneThrough: mark,
      updatedAt: new Date(now).toISOString(),
    });
  };
  save(true);

  const importCustomer = async (index: number) => {
    const customer = plan.customers[index];
    if (!customer) return;
    for (const { line, event } of customer.events) {
      if (failure) return;
      try {
        const recorded = await withBackoff(sleep, () => recordHistory(event, deps));
        if (recorded.outcome === 'applied') result.applied++;
        else result.duplicates++;
      } catch (error) {
        // The data's fault: reported, and the customer's other events go on, as live ingest would.
        if (!(error instanceof InvalidEventError || error instanceof NotFoundError)) throw error;
        result.rejected.push(`${plan.file}:${line}: ${error.message}`);
      }
      result.eventsRecorded++;
      options.onProgress?.(++eventsDone, total);
    }
    if (failure) return;
    if ((await withBackoff(sleep, () => settleImported(customer.customerId, deps))) === 'settled')
      result.settled++;
    result.customersRecorded++;
    done[index] = true;
    while (mark < done.length && done[mark]) mark++;
    save();
  };

  const worker = async () => {
    while (!failure && next < plan.customers.length) {
      const index = next++;
      try {
        await importCustomer(index);
      } catch (error) {
        // Anything else stops the run (the table is unreachable, the process is going down): the
        // checkpoint keeps the customers done so far, and a re-run records the rest.
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, worker));
  save(true);
  if (failure) throw failure.error;
  // Done: a re-run starts from the beginning again, and finds everything recorded.
  if (options.checkpoint) rmSync(options.checkpoint.path, { force: true });
  return result;
};
