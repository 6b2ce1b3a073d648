import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  ALL_MARKETING,
  type TopicConsent as ConsentFact,
  consentFor,
  mailPermission,
  type PermissionCode,
} from '#domain/consent.ts';
import { type CustomerProfile, profileAsOf } from '#domain/customer.ts';
import type { Wait } from '#domain/journeys.ts';
import type { Lot, PointsAccount, TierState } from '#domain/loyalty/account.ts';
import { formatMoney, fractionDigits, fromMinorUnits } from '#domain/money.ts';
import type { StoredSend } from '#domain/ports.ts';
import type { CompiledProject } from '#domain/workflow/compile.ts';
import { allSteps } from '#domain/workflow/flow-schema.ts';
import { customerItems, type ItemOf, type ParsedItem } from '#functions/adapters/table-items.ts';
import type { CommandResult } from './commands.ts';
import { resolveTableTarget, type TableTarget, tableClient } from './table-target.ts';

// rapport customer ID: everything the table holds about one customer, read from the customer's one
// partition (a Query, paged), every item read through the table's item kinds (table-items.ts), the
// adapters' own schemas. Read-only; works against DynamoDB Local or a real table.

export interface TopicConsent {
  id: string;
  name: string;
  transactional: boolean;
  /** Whether an email of this topic would reach the customer now. */
  receives: boolean;
  code: PermissionCode;
  reason: string;
  /** The consent fact that decides it (the topic's own or all-marketing), with its source and time. */
  fact?: ConsentFact | undefined;
  /** The flows whose send_email steps name this topic. */
  flows: string[];
}

/** Consent as the send_email step applies it: the all-marketing fact, and each topic's outcome. */
export interface Consent {
  marketing?: ConsentFact | undefined;
  suppression?: CustomerProfile['suppression'];
  topics: TopicConsent[];
}

export interface CustomerReport {
  customerId: string;
  table: string;
  currency: string;
  profile: {
    name: string;
    email: string;
    createdAt: string;
    registeredAt?: string | undefined;
    timeZone?: string | undefined;
    birthday?: string | undefined;
    tier?: string | undefined;
    orderCount: number;
    lifetimeSpend: number;
    refunded: number;
    firstOrderAt?: string | undefined;
    lastOrderAt?: string | undefined;
    attributes: Record<string, string | number | boolean>;
    tags: string[];
    version: number;
  };
  consent: Consent;
  /** The account's balances and lots as the engine keeps them, less its internal bookkeeping. */
  points: Pick<
    PointsAccount,
    'available' | 'pending' | 'debt' | 'earned' | 'redeemed' | 'expired' | 'reversed' | 'forgiven'
  > & {
    tier?: Pick<TierState, 'id' | 'since' | 'reviewAt'> | undefined;
    lots: Omit<Lot, 'warned'>[];
    /**
     * The balances as of `at`, as emails and flow conditions see them: maturity and expiry since
     * the last settlement derived (profileAsOf); the figures above are those stored.
     */
    asOf: { at: string; available: number; pending: number; debt: number };
  };
  ledger: {
    entryId: string;
    at: string;
    kind: string;
    points: number;
    /** The balances the entry moved: their deltas add up to the account. */
    pending: number;
    available: number;
    debt: number;
    rule: { id: string; version: number };
    rules: { id: string; version: number; points: number }[];
    orderId?: string | undefined;
    refundId?: string | undefined;
    rewardId?: string | undefined;
    couponCode?: string | undefined;
    flowId?: string | undefined;
    /** A customer-service adjustment's reason and who made it. */
    reason?: string | undefined;
    actor?: string | undefined;
  }[];
  orders: {
    orderId: string;
    total: number;
    currency: string;
    placedAt: string;
    refunded: number;
    pointsAwarded: number;
    pointsReversed: number;
  }[];
  sends: {
    flowId: string;
    stepId: string;
    eventId: string;
    templateId?: string | undefined;
    at?: string | undefined;
    status: StoredSend['status'];
    messageId?: string | undefined;
    reason?: string | undefined;
    /** Why it was skipped, deferred or dropped: no-consent, quiet-hours, cap, stale, ... */
    code?: string | undefined;
    /** When a deferred send is due again. */
    until?: string | undefined;
  }[];
  journeys: {
    flowId: string;
    journeyId: string;
    revision: string;
    status: string;
    enteredAt: string;
    endedAt?: string | undefined;
    convertedAt?: string | undefined;
    goal?: { event: string; deadline: string } | undefined;
  }[];
  waits: {
    flowId: string;
    journeyId: string;
    stepId: string;
    dueAt: string;
    status: string;
    listensFor?: string | undefined;
  }[];
  /** Items of kinds the report does not show (coupons, flow memory, date index items), by kind. */
  otherItems: Record<string, number>;
  /** Items that did not parse as their kind: the report shows the rest. */
  unreadable: { key: string; problem: string }[];
}

export type { TableTarget } from './table-target.ts';

/** A read that failed for a reason the user can fix: an unknown table, an endpoint that is down. */
export class TableReadError extends Error {
  override readonly name = 'TableReadError';
}

type Topic = { id: string; name: string; transactional: boolean };

// The mailer's own rule (mailPermission), so the report never disagrees with what is sent.
const topicConsent = (profile: CustomerProfile, topic: Topic, flows: string[]): TopicConsent => ({
  ...topic,
  flows,
  ...mailPermission(profile, topic),
  fact: topic.transactional ? undefined : consentFor(profile.consent, topic.id),
});

const consentOf = (profile: CustomerProfile, project: CompiledProject): Consent => {
  const flowsByTopic = new Map<string, string[]>();
  for (const { id, flow } of project.flows) {
    for (const step of allSteps(flow.steps)) {
      if (step.type !== 'send_email') continue;
      const flows = flowsByTopic.get(step.topic) ?? [];
      if (!flows.includes(id)) flows.push(id);
      flowsByTopic.set(step.topic, flows);
    }
  }
  return {
    marketing: profile.consent?.[ALL_MARKETING],
    suppression: profile.suppression,
    topics: project.program.topics.map((topic) =>
      topicConsent(profile, topic, flowsByTopic.get(topic.id) ?? []),
    ),
  };
};

/** A send's key is flow#event#step; the flow and step ids have no '#', an event id might. */
const splitSendKey = (key: string) => {
  const [flowId = '', ...rest] = key.split('#');
  const stepId = rest.pop() ?? '';
  return { flowId, eventId: rest.join('#'), stepId };
};

const skippedResult = z.object({ status: z.literal('skipped'), reason: z.string() });

/**
 * Skipped sends write nothing to the table; a waiting journey still carries its steps' results in
 * its context, so the skips of journeys that wait are known.
 */
const skipsIn = (
  wait: Wait,
  triggerEventId: string | undefined,
  templateOf: (flowId: string, stepId: string) => string | undefined,
): CustomerReport['sends'] => {
  const steps = z.record(z.string(), z.unknown()).safeParse(wait.context.steps);
  if (!steps.success) return [];
  return Object.entries(steps.data).flatMap(([stepId, result]) => {
    const skipped = skippedResult.safeParse(result);
    return skipped.success
      ? [
          {
            flowId: wait.flowId,
            stepId,
            eventId: triggerEventId ?? wait.journeyId,
            templateId: templateOf(wait.flowId, stepId),
            status: 'skipped' as const,
            reason: skipped.data.reason,
          },
        ]
      : [];
  });
};

const connectionFailure = (error: unknown): boolean =>
  error instanceof Error &&
  (['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET'].some((code) => error.message.includes(code)) ||
    ('code' in error && typeof error.code === 'string' && error.code.startsWith('ECONN')));

/** Every item of the customer's partition, page by page, read as its kind. */
async function* partition(
  target: TableTarget,
  customerId: string,
  pageSize: number | undefined,
): AsyncGenerator<ParsedItem> {
  const local = target.endpoint !== undefined;
  const client = DynamoDBDocumentClient.from(tableClient(target));
  const where = local ? ` at ${target.endpoint}` : '';
  try {
    for await (const page of customerItems(client, target.tableName, customerId, { pageSize })) yield* page;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException')
      throw new TableReadError(`no table ${target.tableName}${where}`, { cause: error });
    if (connectionFailure(error))
      throw new TableReadError(
        `cannot reach DynamoDB${where} (${error instanceof Error ? error.message : String(error)}); is the stack still up?`,
        { cause: error },
      );
    throw error;
  } finally {
    client.destroy();
  }
}

/** The customer's report, or undefined when the table has no profile for them. */
export const readCustomer = async (
  target: TableTarget,
  customerId: string,
  project: CompiledProject,
  options: { pageSize?: number; asOf?: string | undefined } = {},
): Promise<CustomerReport | undefined> => {
  let profile: CustomerProfile | undefined;
  const orders: ItemOf<'order'>[] = [];
  const ledger: ItemOf<'ledger'>[] = [];
  const sends: ItemOf<'send'>[] = [];
  const journeys: ItemOf<'journey'>[] = [];
  const waits: Wait[] = [];
  const otherItems: Record<string, number> = {};
  const unreadable: CustomerReport['unreadable'] = [];

  for await (const read of partition(target, customerId, options.pageSize)) {
    switch (read.kind) {
      case 'profile':
        profile = read.item;
        break;
      case 'order':
        orders.push(read.item);
        break;
      case 'ledger':
        ledger.push(read.item);
        break;
      case 'send':
        sends.push(read.item);
        break;
      case 'journey':
        journeys.push(read.item);
        break;
      case 'wait':
        waits.push(read.item);
        break;
      case 'invalid':
        unreadable.push({ key: read.key.sk, problem: read.reason });
        break;
      case 'unknown': {
        const type = read.type ?? 'untyped';
        otherItems[type] = (otherItems[type] ?? 0) + 1;
        break;
      }
      default:
        otherItems[read.kind] = (otherItems[read.kind] ?? 0) + 1;
    }
  }
  if (profile === undefined) return undefined;

  const currency = project.program.currency;
  const account = profile.points;
  const asOf = new Date(options.asOf ?? Date.now());
  const derived = profileAsOf(profile, asOf);
  // A skip records no template; the deployed flow's step names it.
  const templates = new Map(
    project.flows.flatMap(({ id, flow }) =>
      allSteps(flow.steps).flatMap((step) =>
        step.type === 'send_email' ? [[`${id}#${step.id}`, step.template]] : [],
      ),
    ),
  );
  const triggers = new Map(journeys.map((j) => [`${j.flowId}#${j.journeyId}`, j.triggerEventId]));
  const byTime =
    <T>(time: (item: T) => string) =>
    (a: T, b: T) =>
      time(a).localeCompare(time(b));

  return {
    customerId,
    table: target.tableName,
    currency,
    profile: {
      name: profile.name,
      email: profile.email,
      createdAt: profile.createdAt,
      registeredAt: profile.registeredAt,
      timeZone: profile.timeZone,
      birthday: profile.birthday,
      tier: profile.tier,
      orderCount: profile.orderCount,
      lifetimeSpend: fromMinorUnits(profile.lifetimeSpendMinor, currency),
      refunded: fromMinorUnits(profile.refundedMinor, currency),
      firstOrderAt: profile.firstOrderAt,
      lastOrderAt: profile.lastOrderAt,
      attributes: profile.attributes ?? {},
      tags: Object.entries(profile.tags ?? {})
        .filter(([, on]) => on)
        .map(([tag]) => tag)
        .sort(),
      version: profile.version,
    },
    consent: consentOf(profile, project),
    points: {
      available: account?.available ?? profile.pointsBalance,
      pending: account?.pending ?? profile.pointsPending ?? 0,
      debt: account?.debt ?? profile.pointsDebt ?? 0,
      earned: account?.earned ?? profile.lifetimePoints,
      redeemed: account?.redeemed ?? 0,
      expired: account?.expired ?? 0,
      reversed: account?.reversed ?? 0,
      forgiven: account?.forgiven ?? 0,
      tier: account?.tier && {
        id: account.tier.id,
        since: account.tier.since,
        reviewAt: account.tier.reviewAt,
      },
      lots: (account?.lots ?? []).map((lot) => ({
        id: lot.id,
        points: lot.points,
        remaining: lot.remaining,
        status: lot.status,
        earnedAt: lot.earnedAt,
        maturesAt: lot.maturesAt,
        expiresAt: lot.expiresAt,
      })),
      asOf: {
        at: asOf.toISOString(),
        available: derived.pointsBalance,
        pending: derived.pointsPending ?? 0,
        debt: derived.pointsDebt ?? 0,
      },
    },
    ledger: ledger
      .sort((a, b) => a.at.localeCompare(b.at) || a.entryId.localeCompare(b.entryId))
      .map((entry) => ({
        entryId: entry.entryId,
        at: entry.at,
        kind: entry.kind,
        points: entry.points,
        pending: entry.pending,
        available: entry.available,
        debt: entry.debt,
        rule: { id: entry.ruleId, version: entry.ruleVersion },
        rules: entry.rules ?? [],
        orderId: entry.orderId,
        refundId: entry.refundId,
        rewardId: entry.rewardId,
        couponCode: entry.couponCode,
        flowId: entry.flowId,
        reason: entry.reason,
        actor: entry.actor,
      })),
    orders: orders.sort(byTime((o) => o.placedAt)).map((order) => ({
      orderId: order.orderId,
      total: fromMinorUnits(order.totalMinor, order.currency),
      currency: order.currency,
      placedAt: order.placedAt,
      refunded: fromMinorUnits(order.refundedMinor, order.currency),
      pointsAwarded: order.pointsAwarded,
      pointsReversed: order.pointsReversed,
    })),
    sends: [
      ...sends.map((send) => ({
        ...splitSendKey(send.key),
        templateId: send.templateId,
        at: send.at,
        status: send.status,
        messageId: send.messageId,
        reason: send.reason,
        code: send.code,
        until: send.until,
      })),
      // Skips from before skips were stored live only in a waiting journey's context.
      ...waits
        .flatMap((wait) =>
          skipsIn(wait, triggers.get(`${wait.flowId}#${wait.journeyId}`), (flowId, stepId) =>
            templates.get(`${flowId}#${stepId}`),
          ),
        )
        .filter(
          (skip) => !sends.some((send) => send.key === `${skip.flowId}#${skip.eventId}#${skip.stepId}`),
        ),
    ].sort((a, b) => (a.at ?? '~').localeCompare(b.at ?? '~') || a.flowId.localeCompare(b.flowId)),
    journeys: journeys.sort(byTime((j) => j.enteredAt)).map((journey) => ({
      flowId: journey.flowId,
      journeyId: journey.journeyId,
      revision: journey.revision,
      status: journey.status,
      enteredAt: journey.enteredAt,
      endedAt: journey.endedAt,
      convertedAt: journey.convertedAt,
      goal: journey.goal && { event: journey.goal.event, deadline: journey.goal.deadline },
    })),
    waits: waits.sort(byTime((w) => w.dueAt)).map((wait) => ({
      flowId: wait.flowId,
      journeyId: wait.journeyId,
      stepId: wait.stepId,
      dueAt: wait.dueAt,
      status: wait.status,
      listensFor: wait.listen?.event,
    })),
    otherItems,
    unreadable,
  };
};

// ---- the human report ----------------------------------------------------------------------------

const when = (iso: string | undefined): string => (iso === undefined ? '-' : iso.replace(/\.\d{3}Z$/, 'Z'));

/** Rows under a header, every column as wide as its widest cell. */
export const alignColumns = (header: readonly string[], rows: readonly (readonly string[])[]): string[] => {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `    ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
};

const section = (title: string, count: number | undefined, body: string[]): string[] => [
  '',
  count === undefined ? title : `${title} (${count})`,
  ...(body.length > 0 ? body : ['    none']),
];

const fields = (rows: readonly (readonly [string, string | undefined])[]): string[] => {
  const shown = rows.filter((row): row is [string, string] => row[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
};

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

export const formatCustomer = (report: CustomerReport): string[] => {
  const { profile, consent, points, currency } = report;
  const show = (amount: number, code = currency) =>
    formatMoney(Math.round(amount * 10 ** fractionDigits(code)), code);
  const attributes = Object.entries(profile.attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${String(value)}`);
  const lines: string[] = [
    `Customer ${report.customerId}: ${profile.name} <${profile.email}>  (table ${report.table})`,
    ...fields([
      ['created', when(profile.createdAt)],
      ['registered', profile.registeredAt && when(profile.registeredAt)],
      ['time zone', profile.timeZone],
      ['birthday', profile.birthday],
      ['tier', profile.tier],
      [
        'orders',
        `${profile.orderCount}, spent ${show(profile.lifetimeSpend)}, refunded ${show(profile.refunded)}`,
      ],
      ['first order', profile.firstOrderAt && when(profile.firstOrderAt)],
      ['last order', profile.lastOrderAt && when(profile.lastOrderAt)],
      ['attributes', attributes.length > 0 ? attributes.join(', ') : undefined],
      ['tags', profile.tags.length > 0 ? profile.tags.join(', ') : undefined],
      ['version', String(profile.version)],
    ]),
  ];

  lines.push(
    '',
    'Consent',
    `  all marketing topics: ${
      consent.marketing
        ? `${yesNo(consent.marketing.granted)} (${consent.marketing.source}, ${when(consent.marketing.at)})`
        : 'not given'
    }`,
    ...(consent.suppression
      ? [`  suppressed: ${consent.suppression.reason} ${when(consent.suppression.at)}`]
      : []),
    ...alignColumns(
      ['topic', 'name', 'transactional', 'receives', 'why', 'since', 'flows'],
      consent.topics.map((t) => [
        t.id,
        t.name,
        yesNo(t.transactional),
        yesNo(t.receives),
        t.code,
        t.fact ? `${when(t.fact.at)} (${t.fact.source})` : '',
        t.flows.join(', '),
      ]),
    ),
  );

  const tier = points.tier ? `  tier ${points.tier.id} since ${when(points.tier.since)}` : '';
  lines.push(
    '',
    'Points',
    `  available ${points.available}  pending ${points.pending}  debt ${points.debt}${tier}  (as stored)`,
    `  available ${points.asOf.available}  pending ${points.asOf.pending}  debt ${points.asOf.debt}  as of ${when(points.asOf.at)}`,
    `  earned ${points.earned}  redeemed ${points.redeemed}  expired ${points.expired}  reversed ${points.reversed}  forgiven ${points.forgiven}`,
    ...section(
      '  Lots',
      points.lots.length,
      points.lots.length === 0
        ? []
        : alignColumns(
            ['lot', 'points', 'remaining', 'status', 'earned', 'matures', 'expires'],
            points.lots.map((lot) => [
              lot.id,
              String(lot.points),
              String(lot.remaining),
              lot.status,
              when(lot.earnedAt),
              when(lot.maturesAt),
              when(lot.expiresAt),
            ]),
          ),
    ),
  );

  const rules = (entry: CustomerReport['ledger'][number]) =>
    entry.rules.length > 0
      ? entry.rules.map((r) => `${r.id}@${r.version} ${r.points}`).join(' + ')
      : `${entry.rule.id}@${entry.rule.version}`;
  const about = (entry: CustomerReport['ledger'][number]) =>
    [
      entry.orderId && `order ${entry.orderId}`,
      entry.refundId && `refund ${entry.refundId}`,
      entry.rewardId && `reward ${entry.rewardId}`,
      entry.couponCode && `coupon ${entry.couponCode}`,
      entry.flowId && `flow ${entry.flowId}`,
      entry.reason && `${JSON.stringify(entry.reason)} by ${entry.actor ?? 'unknown'}`,
    ]
      .filter(Boolean)
      .join(', ') || '-';
  const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
  lines.push(
    ...section(
      'Ledger',
      report.ledger.length,
      report.ledger.length === 0
        ? []
        : alignColumns(
            ['at', 'kind', 'points', 'pending', 'available', 'debt', 'rules', 'for'],
            report.ledger.map((e) => [
              when(e.at),
              e.kind,
              signed(e.points),
              signed(e.pending),
              signed(e.available),
              signed(e.debt),
              rules(e),
              about(e),
            ]),
          ),
    ),
  );

  lines.push(
    ...section(
      'Orders',
      report.orders.length,
      report.orders.length === 0
        ? []
        : alignColumns(
            ['order', 'total', 'currency', 'placed at', 'refunded', 'points', 'reversed'],
            report.orders.map((o) => [
              o.orderId,
              show(o.total, o.currency),
              o.currency,
              when(o.placedAt),
              o.refunded > 0 ? show(o.refunded, o.currency) : '-',
              String(o.pointsAwarded),
              String(o.pointsReversed),
            ]),
          ),
    ),
  );

  lines.push(
    ...section(
      'Sends',
      report.sends.length,
      report.sends.length === 0
        ? []
        : alignColumns(
            ['flow', 'step', 'template', 'status', 'at', 'message id or reason'],
            report.sends.map((s) => [
              s.flowId,
              s.stepId,
              s.templateId ?? '-',
              s.code ? `${s.status} (${s.code})` : s.status,
              when(s.at),
              s.until ? `until ${when(s.until)}: ${s.reason ?? ''}` : (s.messageId ?? s.reason ?? '-'),
            ]),
          ),
    ),
  );

  lines.push(
    ...section(
      'Journeys',
      report.journeys.length,
      report.journeys.length === 0
        ? []
        : alignColumns(
            ['flow', 'journey', 'status', 'entered', 'ended', 'converted', 'goal by'],
            report.journeys.map((j) => [
              j.flowId,
              j.journeyId,
              j.status,
              when(j.enteredAt),
              when(j.endedAt),
              when(j.convertedAt),
              j.goal ? `${j.goal.event} by ${when(j.goal.deadline)}` : '-',
            ]),
          ),
    ),
  );

  lines.push(
    ...section(
      'Waits',
      report.waits.length,
      report.waits.length === 0
        ? []
        : alignColumns(
            ['flow', 'journey', 'step', 'due', 'status', 'listens for'],
            report.waits.map((w) => [
              w.flowId,
              w.journeyId,
              w.stepId,
              when(w.dueAt),
              w.status,
              w.listensFor ?? '-',
            ]),
          ),
    ),
  );

  if (report.unreadable.length > 0) {
    lines.push(
      ...section(
        'Unreadable items',
        report.unreadable.length,
        report.unreadable.map((u) => `    ${u.key}: ${u.problem}`),
      ),
    );
  }
  return lines;
};

// ---- the command ---------------------------------------------------------------------------------

export interface CustomerCommandOptions {
  json?: boolean | undefined;
  endpoint?: string | undefined;
  table?: string | undefined;
  region?: string | undefined;
  /** ISO time the derived balances are as of (default now). */
  asOf?: string | undefined;
}

/**
 * `rapport customer ID`: the table named by the options, else the running local stack's
 * (.rapport/stack.json). Exit 1 when there is no such customer or an item does not parse.
 */
export const customerCommand = async (
  customerId: string,
  options: CustomerCommandOptions,
  project: CompiledProject,
  deps: { stackFile?: string; pageSize?: number } = {},
): Promise<CommandResult> => {
  const target = resolveTableTarget('customer', options, deps.stackFile);
  if ('error' in target) return { code: 1, stdout: [], stderr: [target.error] };
  const report = await readCustomer(target, customerId, project, {
    pageSize: deps.pageSize,
    asOf: options.asOf,
  });
  if (report === undefined) {
    const where = target.endpoint ? ` at ${target.endpoint}` : '';
    return {
      code: 1,
      stdout: [],
      stderr: [`rapport customer: no customer "${customerId}" in table ${target.tableName}${where}`],
    };
  }
  const stdout = options.json ? [JSON.stringify(report, null, 2)] : formatCustomer(report);
  if (report.unreadable.length === 0) return { code: 0, stdout, stderr: [] };
  return {
    code: 1,
    stdout,
    stderr: [
      `rapport customer: ${report.unreadable.length} item(s) of ${customerId} do not parse (see "unreadable" in the report)`,
    ],
  };
};
