import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { accountProblems, type LedgerEntry, type PointsAccount } from '#domain/loyalty/account.ts';
import { formatMoney, toMinorUnits } from '#domain/money.ts';
import type { Program } from '#domain/program.ts';
import { accountSchema, ledgerItem, orderItem } from '#functions/adapters/dynamodb-customer-store.ts';

// rapport reconcile: reads the whole table and checks, for every customer, that each balance is the
// sum of its ledger entries, that the lots hold exactly the balances, that the profile shows the
// account's figures, and that every order's awarded and reversed points match its entries. It
// also totals the program: points issued, redeemed, expired, outstanding, customers per tier, and
// the liability by expiry month. Read-only; works against DynamoDB Local or a real table.

export interface Mismatch {
  customerId: string;
  problem: string;
}

export interface ReconcileReport {
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
    expired: number;
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
}

export const reconcileTable = async (
  options: {
    endpoint?: string | undefined;
    region?: string;
    tableName: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  },
  program: Program,
): Promise<ReconcileReport> => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region ?? 'us-east-1',
      ...(options.credentials ? { credentials: options.credentials } : {}),
    }),
  );
  const accounts = new Map<string, { account?: PointsAccount; profile: Record<string, unknown> }>();
  const entries = new Map<string, LedgerEntry[]>();
  const orders: { customerId: string; orderId: string; pointsAwarded: number; pointsReversed: number }[] = [];
  const mismatches: Mismatch[] = [];
  // Parallel scan segments: a full table read is the one cost reconcile has.
  const segments = 8;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      for await (const page of paginateScan(
        { client },
        { TableName: options.tableName, Segment: segment, TotalSegments: segments, ConsistentRead: true },
      )) {
        for (const item of page.Items ?? []) {
          const customerId = String(item.customerId ?? '');
          if (item.type === 'profile') {
            const parsed = item.points === undefined ? undefined : accountSchema.safeParse(item.points);
            if (parsed && !parsed.success)
              mismatches.push({
                customerId,
                problem: `points account does not parse: ${parsed.error.message}`,
              });
            accounts.set(customerId, { ...(parsed?.success ? { account: parsed.data } : {}), profile: item });
          } else if (item.type === 'ledger') {
            const parsed = ledgerItem.safeParse(item);
            if (!parsed.success)
              mismatches.push({ customerId, problem: `ledger entry ${String(item.sk)} does not parse` });
            else entries.set(customerId, [...(entries.get(customerId) ?? []), parsed.data]);
          } else if (item.type === 'order') {
            const parsed = orderItem.safeParse(item);
            if (parsed.success) orders.push(parsed.data);
          }
        }
      }
    }),
  );
  client.destroy();

  const points = {
    issued: 0,
    orderPoints: 0,
    bonusPoints: 0,
    reversed: 0,
    forgiven: 0,
    redeemed: 0,
    expired: 0,
    pending: 0,
    available: 0,
    debt: 0,
    outstanding: 0,
  };
  const tiers: Record<string, number> = {};
  const byMonth = new Map<string, number>();
  let ledgerEntries = 0;
  let redemptions = 0;
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
    }
    if (!accounts.has(customerId))
      mismatches.push({ customerId, problem: 'ledger entries without a customer record' });
  }
  points.issued = points.orderPoints + points.bonusPoints;

  for (const [customerId, { account, profile }] of accounts) {
    const list = entries.get(customerId) ?? [];
    if (!account) {
      if (list.length > 0) mismatches.push({ customerId, problem: 'ledger entries but no points account' });
      continue;
    }
    for (const problem of accountProblems(account, list)) mismatches.push({ customerId, problem });
    const shown = [
      ['pointsBalance', account.available],
      ['pointsPending', account.pending],
      ['pointsDebt', account.debt],
      ['lifetimePoints', account.earned],
    ] as const;
    for (const [field, value] of shown)
      if (Number(profile[field] ?? 0) !== value)
        mismatches.push({
          customerId,
          problem: `profile ${field} is ${String(profile[field])} but the account says ${value}`,
        });
    points.pending += account.pending;
    points.available += account.available;
    points.debt += account.debt;
    const tier = account.tier?.id ?? program.tiers?.levels[0]?.id ?? 'none';
    tiers[tier] = (tiers[tier] ?? 0) + 1;
    for (const lot of account.lots) {
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
    customers: accounts.size,
    ledgerEntries,
    mismatches,
    points,
    tiers,
    liability,
    liabilityValue: worth(points.pending + Math.max(0, points.available)),
    redemptions,
  };
};

export const formatReconcile = (report: ReconcileReport, options: { liability?: boolean } = {}): string[] => {
  const p = report.points;
  const lines = [
    `Reconciled ${report.customers} customers, ${report.ledgerEntries} ledger entries`,
    `  points issued      ${p.issued} (orders ${p.orderPoints}, one-off awards ${p.bonusPoints})`,
    `  points reversed    ${p.reversed}${p.forgiven ? ` (and ${p.forgiven} forgiven)` : ''}`,
    `  points redeemed    ${p.redeemed} in ${report.redemptions} redemptions`,
    `  points expired     ${p.expired}`,
    `  outstanding        ${p.outstanding} (available ${p.available}, pending ${p.pending}, debt ${p.debt})`,
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
