import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { toMinorUnits } from '#domain/money.ts';
import { pointsForAmount } from '#domain/points.ts';
import type { Program } from '#domain/program.ts';
import { describeUnreadable, scanItems } from '#functions/adapters/table-items.ts';
import { type Purchase, toOrderPlaced } from './cdnow.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from './emulators.ts';
import { type ReconcileReport, reconcileTable } from './reconcile.ts';
import { type LocalRapport, VirtualClock } from './runtime.ts';

/** A virtual clock that starts on the first purchase's day, so a 1997 history runs in 1997. */
export const replayClock = (purchases: readonly Purchase[]) =>
  new VirtualClock(Date.parse(`${purchases[0]?.date ?? '1970-01-01'}T00:00:00Z`));

// Replays a purchase history through the local stack as a shop would send it: PutEvents over HTTP
// to the local endpoint, in time order, with the virtual clock following the purchases.

export interface JourneyCounts {
  entered: number;
  active: number;
  completed: number;
  exited: number;
  holdout: number;
  converted: number;
  waiting: number;
}

export const noJourneys = (): JourneyCounts => ({
  entered: 0,
  active: 0,
  completed: 0,
  exited: 0,
  holdout: 0,
  converted: 0,
  waiting: 0,
});

export interface TableTotals {
  customers: number;
  orders: number;
  ledgerEntries: number;
  pointsEarned: number;
  pointsBonus: number;
  pointsReversed: number;
  pointsBalance: number;
  sends: number;
  sendsByFlow: Record<string, number>;
  journeys: Record<string, JourneyCounts>;
  coupons: number;
  /** Items that are of no declared kind or do not parse as theirs (see table-items.ts). */
  unreadable: string[];
}

export interface ReplaySummary extends TableTotals {
  dataset: string;
  events: number;
  pointsAwarded: number;
  expectedPoints: number;
  /** rapport reconcile found no mismatch: every balance is the sum of its ledger entries. */
  pointsAccountedFor: boolean;
  reconcile: ReconcileReport;
  emailsSent: number;
  rejected: number;
  failedExecutions: number;
  wallSeconds: number;
  eventsPerSecond: number;
  inbox: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the whole table and adds up what it holds; the ledger and the balances are summed apart. */
export const tableTotals = async (runtime: LocalRapport): Promise<TableTotals> => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: runtime.dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  const totals: TableTotals = {
    customers: 0,
    orders: 0,
    ledgerEntries: 0,
    pointsEarned: 0,
    pointsBonus: 0,
    pointsReversed: 0,
    pointsBalance: 0,
    sends: 0,
    sendsByFlow: {},
    journeys: {},
    coupons: 0,
    unreadable: [],
  };
  const flow = (id: string): JourneyCounts => (totals.journeys[id] ??= noJourneys());
  for await (const page of scanItems(client, runtime.names.tableName)) {
    for (const read of page) {
      switch (read.kind) {
        case 'profile':
          totals.customers++;
          totals.pointsBalance += read.item.pointsBalance;
          break;
        case 'order':
          totals.orders++;
          break;
        case 'ledger': {
          const entry = read.item;
          totals.ledgerEntries++;
          if (entry.kind === 'earn') totals.pointsEarned += entry.points;
          else if (entry.kind === 'bonus') totals.pointsBonus += entry.points;
          else if (entry.kind === 'reverse') totals.pointsReversed -= entry.points;
          break;
        }
        case 'send':
          if (read.item.status === 'sent') {
            totals.sends++;
            const flowId = read.item.key.split('#')[0] ?? '?';
            totals.sendsByFlow[flowId] = (totals.sendsByFlow[flowId] ?? 0) + 1;
          }
          break;
        case 'journey': {
          const counts = flow(read.item.flowId);
          counts.entered++;
          counts[read.item.status]++;
          if (read.item.convertedAt) counts.converted++;
          break;
        }
        case 'wait':
          flow(read.item.flowId).waiting++;
          break;
        case 'coupon':
          totals.coupons++;
          break;
        case 'invalid':
        case 'unknown':
          totals.unreadable.push(describeUnreadable(read));
          break;
      }
    }
  }
  client.destroy();
  return totals;
};

export const replayPurchases = async (
  runtime: LocalRapport,
  endpoint: string,
  purchases: readonly Purchase[],
  options: {
    dataset: string;
    program: Program;
    onProgress?: (done: number, total: number) => void;
    /** Keep the clock running after the last purchase, to let waits and triggers play out. */
    until?: string | undefined;
  },
): Promise<ReplaySummary> => {
  const events = new EventBridgeClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const started = performance.now();
  const maxPending = 64;
  let lastDay = '';
  for (let index = 0; index < purchases.length; index += 10) {
    const batch = purchases.slice(index, index + 10);
    const orders = batch.map(toOrderPlaced);
    const day = orders[0]?.placedAt.slice(0, 10) ?? '';
    if (runtime.usesTimers && day !== lastDay) {
      // A new day: let every wait and trigger due before it happen first, in time order.
      await runtime.advanceTo(`${day}T00:00:00Z`);
      lastDay = day;
    }
    runtime.clock.advanceTo(orders[0]?.placedAt ?? runtime.clock.now());
    const response = await events.send(
      new PutEventsCommand({
        Entries: orders.map((order) => ({
          Source: 'cdnow.replay',
          DetailType: 'order.placed',
          Detail: JSON.stringify(order),
          Time: new Date(order.placedAt),
          EventBusName: runtime.names.eventBusName,
        })),
      }),
    );
    if (response.FailedEntryCount) {
      throw new Error(
        `PutEvents refused ${response.FailedEntryCount} entries: ${JSON.stringify(response.Entries)}`,
      );
    }
    options.onProgress?.(Math.min(index + 10, purchases.length), purchases.length);
    while (runtime.pending > maxPending) await sleep(2);
  }
  await runtime.drain();
  if (runtime.usesTimers) await runtime.advanceTo(options.until ?? runtime.clock.now());
  const wallSeconds = (performance.now() - started) / 1000;
  events.destroy();

  const totals = await tableTotals(runtime);
  const inbox = await readInbox(runtime.ses.endpoint);
  const expectedPoints = purchases.reduce(
    (sum, p) => sum + pointsForAmount(toMinorUnits(p.dollars, 'USD'), 'USD', options.program.earn),
    0,
  );
  const pointsAwarded = totals.pointsEarned - totals.pointsReversed;
  const reconcile = await reconcileTable(
    {
      endpoint: runtime.dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      tableName: runtime.names.tableName,
      asOf: runtime.clock.now().toISOString(),
    },
    options.program,
  );
  return {
    dataset: options.dataset,
    events: purchases.length,
    ...totals,
    pointsAwarded,
    expectedPoints,
    pointsAccountedFor: reconcile.mismatches.length === 0,
    reconcile,
    emailsSent: inbox.length,
    rejected: runtime.deadLetters.length,
    failedExecutions: runtime.executions.filter((e) => e.status === 'FAILED').length,
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    eventsPerSecond: Math.round(purchases.length / wallSeconds),
    inbox: runtime.ses.endpoint,
  };
};
