import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CustomerProfile } from '#domain/customer.ts';
import { accountAt, accountProblems, type LedgerEntry, type PointsAccount } from '#domain/loyalty/account.ts';
import { formatMoney, toMinorUnits } from '#domain/money.ts';
import type { Program } from '#domain/program.ts';
import { keys } from '#domain/table-design.ts';
import { type ItemKind, scanItems } from '#functions/adapters/table-items.ts';

// rapport reconcile: reads the whole table and checks, for every customer, that each balance is the
// sum of its ledger entries, that the lots hold exactly the balances (the profile's figures are
// the account's, derived on read), and that every order's awarded and reversed points match its entries. It
// also totals the program: points issued, redeemed, expired, outstanding, customers per tier, and
// the liability by expiry month, as of a time (maturity and expiry since the last settlement are
// derived, as accountAt does for every balance shown). Read-only; DynamoDB Local or a real table.

export interface Mismatch {
  customerId: string;
  problem: string;
}

export interface ReconcileReport {
  /** The time outstanding points, tiers and the liability are figured at. */
  asOf: string;
  customers: number;
  ledgerEntries: number;
  mismatches: Mismatch[];
  points: {
    issued: number;
    orderPoints: number;
    bonusPoints: number;
    reversed: number;
    forgiven: number;
    redeemed: number;
    /** Expired as of `asOf`: by settlements' entries, and since the last settlement (derived). */
    expired: number;
    /** Of `expired`, what no settlement has written down yet. */
    expiredUnsettled: number;
    pending: number;
    available: number;
    debt: number;
    outstanding: number;
  };
  tiers: Record<string, number>;
  /** Outstanding points (pending and available) by the month they expire ('never' if they do not). */
  liability: { month: string; points: number; value: string }[];
  liabilityValue: string;
  redemptions: number;
  /** Customer service's adjustments: how many, and the points they gave net of those they took. */
  adjustments: { count: number; net: number };
}

/** The kinds reconcile reads: one of them that does not parse is a mismatch. */
const POINTS_KINDS: ReadonlySet<ItemKind> = new Set(['profile', 'ledger', 'order']);

export const reconcileTable = async (
  options: {
    endpoint?: string | undefined;
    region?: string;
    tableName: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
    /** ISO time the program's figures are as of; default now. The local runtime passes its clock. */
    asOf?: string | undefined;
  },
  program: Program,
): Promise<ReconcileReport> => {
  if (options.asOf !== undefined && Number.isNaN(Date.parse(options.asOf)))
    throw new RangeError(`asOf: not an ISO time: "${options.asOf}"`);
  const asOf = new Date(options.asOf ?? Date.now()).toISOString();
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region ?? 'us-east-1',
      ...(options.credentials ? { credentials: options.credentials } : {}),
    }),
  );
  const accounts = new Map<string, { account?: PointsAccount | undefined; profile: CustomerProfile }>();
  const unreadableProfiles = new Set<string>();
  const entries = new Map<string, LedgerEntry[]>();
  const orders: { customerId: string; orderId: string; pointsAwarded: number; pointsReversed: number }[] = [];
  const mismatches: Mismatch[] = [];
  const customerPrefix = keys.customer('');
  // Parallel scan segments: a full table read is the one cost reconcile has.
  for await (const page of scanItems(client, options.tableName, { segments: 8, consistentRead: true })) {
    for (const read of page) {
      if (read.kind === 'profile')
        accounts.set(read.item.customerId, { account: read.item.points, profile: read.item });
      else if (read.kind === 'ledger') {
        const list = entries.get(read.item.customerId) ?? [];
        list.push(read.item);
        entries.set(read.item.customerId, list);
      } else if (read.kind === 'order') orders.push(read.item);
      else if (read.kind === 'invalid' && POINTS_KINDS.has(read.of)) {
        const customerId = read.key.pk.startsWith(customerPrefix)
          ? read.key.pk.slice(customerPrefix.length)
          : read.key.pk;
        if (read.of === 'profile') unreadableProfiles.add(customerId);
        mismatches.push({ customerId, problem: `${read.of} ${read.key.sk} does not parse: ${read.reason}` });
      }
    }
  }
  client.destroy();

  const points = {
    issued: 0,
    orderPoints: 0,
    bonusPoints: 0,
    reversed: 0,
    forgiven: 0,
    redeemed: 0,
    expired: 0,
    expiredUnsettled: 0,
    pending: 0,
    available: 0,
    debt: 0,
    outstanding: 0,
  };
  const tiers: Record<string, number> = {};
  const byMonth = new Map<string, number>();
  let ledgerEntries = 0;
  let redemptions = 0;
  const adjustments = { count: 0, net: 0 };
  const awardedByOrder = new Map<string, number>();
  const reversedByOrder = new Map<string, number>();
  for (const [customerId, list] of entries) {
    ledgerEntries += list.length;
    const ids = new Set<string>();
    for (const entry of list) {
      if (ids.has(entry.entryId))
        mismatches.push({ customerId, problem: `entry ${entry.entryId} is written twice` });
      ids.add(entry.entryId);
      const key = `${customerId}/${entry.orderId}`;
      if (entry.kind === 'earn') {
        points.orderPoints += entry.points;
        awardedByOrder.set(key, (awardedByOrder.get(key) ?? 0) + entry.points);
      }
      if (entry.kind === 'bonus') points.bonusPoints += entry.points;
      if (entry.kind === 'reverse') {
        points.reversed -= entry.points;
        points.forgiven += entry.forgiven ?? 0;
        reversedByOrder.set(key, (reversedByOrder.get(key) ?? 0) - entry.points + (entry.forgiven ?? 0));
      }
      if (entry.kind === 'redeem') {
        points.redeemed -= entry.points;
        redemptions++;
      }
      if (entry.kind === 'expire') points.expired -= entry.points;
      if (entry.kind === 'adjust') {
        adjustments.count++;
        adjustments.net += entry.points;
      }
    }
    if (!accounts.has(customerId) && !unreadableProfiles.has(customerId))
      mismatches.push({ customerId, problem: 'ledger entries without a customer record' });
  }
  points.issued = points.orderPoints + points.bonusPoints;

  for (const [customerId, { account }] of accounts) {
    const list = entries.get(customerId) ?? [];
    if (!account) {
      if (list.length > 0) mismatches.push({ customerId, problem: 'ledger entries but no points account' });
      continue;
    }
    // The balance checks are on the account as stored: the last settlement wrote it with its entries.
    for (const problem of accountProblems(account, list)) mismatches.push({ customerId, problem });
    // The program's figures are as of `asOf`: maturity and expiry since the last settlement are
    // derived, as every balance shown to a customer is (decision 35).
    const now = accountAt(account, customerId, asOf);
    points.pending += now.pending;
    points.available += now.available;
    points.debt += now.debt;
    points.expiredUnsettled += now.expired - account.expired;
    const tier = now.tier?.id ?? program.tiers?.levels[0]?.id ?? 'none';
    tiers[tier] = (tiers[tier] ?? 0) + 1;
    for (const lot of now.lots) {
      if (lot.remaining <= 0) continue;
      const month = lot.expiresAt?.slice(0, 7) ?? 'never';
      byMonth.set(month, (byMonth.get(month) ?? 0) + lot.remaining);
    }
  }
  for (const order of orders) {
    const key = `${order.customerId}/${order.orderId}`;
    const awarded = awardedByOrder.get(key) ?? 0;
    if (awarded !== order.pointsAwarded)
      mismatches.push({
        customerId: order.customerId,
        problem: `order ${order.orderId} says ${order.pointsAwarded} points awarded, its entries ${awarded}`,
      });
    const reversed = reversedByOrder.get(key) ?? 0;
    if (reversed !== order.pointsReversed)
      mismatches.push({
        customerId: order.customerId,
        problem: `order ${order.orderId} says ${order.pointsReversed} points reversed, its entries ${reversed}`,
      });
  }
  points.expired += points.expiredUnsettled;
  points.outstanding = points.pending + points.available - points.debt;
  const worth = (n: number) =>
    formatMoney(
      toMinorUnits(Math.round(n * program.points.valuePerPoint * 100) / 100, program.currency),
      program.currency,
    );
  const liability = [...byMonth]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([month, n]) => ({ month, points: n, value: worth(n) }));
  return {
    asOf,
    customers: accounts.size,
    ledgerEntries,
    mismatches,
    points,
    tiers,
    liability,
    liabilityValue: worth(points.pending + Math.max(0, points.available)),
    redemptions,
    adjustments,
  };
};

export const formatReconcile = (report: ReconcileReport, options: { liability?: boolean } = {}): string[] => {
  const p = report.points;
  const lines = [
    `Reconciled ${report.customers} customers, ${report.ledgerEntries} ledger entries`,
    `  points issued      ${p.issued} (orders ${p.orderPoints}, one-off awards ${p.bonusPoints})`,
    `  points reversed    ${p.reversed}${p.forgiven ? ` (and ${p.forgiven} forgiven)` : ''}`,
    `  points redeemed    ${p.redeemed} in ${report.redemptions} redemptions`,
    ...(report.adjustments.count > 0
      ? [
          `  points adjusted    ${report.adjustments.net >= 0 ? '+' : ''}${report.adjustments.net} net in ${report.adjustments.count} customer-service adjustments`,
        ]
      : []),
    `  points expired     ${p.expired}${p.expiredUnsettled ? ` (${p.expiredUnsettled} since the last settlements)` : ''}`,
    `  outstanding        ${p.outstanding} as of ${report.asOf} (available ${p.available}, pending ${p.pending}, debt ${p.debt})`,
    `  liability          ${report.liabilityValue}`,
    `  customers per tier ${Object.entries(report.tiers)
      .map(([tier, n]) => `${tier} ${n}`)
      .join(', ')}`,
  ];
  if (options.liability) {
    lines.push('  outstanding by expiry month');
    for (const row of report.liability)
      lines.push(`    ${row.month.padEnd(8)} ${String(row.points).padStart(10)}  ${row.value}`);
  }
  lines.push(
    report.mismatches.length === 0
      ? '  mismatches         0: every balance is the sum of its ledger entries'
      : `  mismatches         ${report.mismatches.length}`,
  );
  for (const m of report.mismatches.slice(0, 50)) lines.push(`    ${m.customerId}: ${m.problem}`);
  if (report.mismatches.length > 50) lines.push(`    ... and ${report.mismatches.length - 50} more`);
  return lines;
};
