import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailNotSentError, TransientError } from '../../domain/errors.ts';
import type { RuntimeDeps } from '../../functions/commons/runtime.ts';
import { fromRoot } from '../../infra/paths.ts';
import { type Purchase, parseCdnow, toOrderPlaced } from '../../local/cdnow.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { reconcileTable } from '../../local/reconcile.ts';
import { LocalRapport, type PutEventsEntry, VirtualClock } from '../../local/runtime.ts';

// The reliability suite: a slice of the CDNOW history (1,000 orders, with sign-ups, refunds and
// redemptions mixed in) through the synthesized stack twice. Once cleanly: each event once, in
// order. Once the way an outage delivers it: every event three times (EventBridge redelivering the
// same envelope twice, the shop re-sending it under a new one), out of order within a window, with
// faults injected between the writes of each handler. Both must end in the same table and inbox.

const ORDERS = 1000;
const WINDOW = 8;
const UNTIL = '1997-06-30T00:00:00Z';
const WORKFLOWS = '.rapport/reliability-workflows';
const FLOWS = ['thank-you', 'review-request', 'tier-upgrade', 'welcome', 'win-back'];

/** A seeded generator, so a failure reproduces. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** A stable share in [0, 100) for a key: the same calls fail in every run, whatever their order. */
const share = (key: string) => createHash('sha256').update(key).digest().readUInt32BE(0) % 100;

type Step =
  | { at: string; kind: 'event'; customerId: string; entry: PutEventsEntry }
  | { at: string; kind: 'redeem'; customerId: string; requestId: string };

/** Sign-ups before each first order, the orders, refunds three days after every 8th, monthly redemptions. */
const scenario = (purchases: readonly Purchase[]): Step[] => {
  const steps: Step[] = [];
  const seen = new Set<string>();
  const event = (at: string, customerId: string, type: string, detail: object): Step => ({
    at,
    kind: 'event',
    customerId,
    entry: { Source: 'cdnow.replay', DetailType: type, Detail: JSON.stringify(detail), Time: at },
  });
  purchases.forEach((purchase, i) => {
    const order = toOrderPlaced(purchase);
    if (!seen.has(order.customerId)) {
      seen.add(order.customerId);
      const at = `${purchase.date}T09:00:00Z`;
      steps.push(
        event(at, order.customerId, 'customer.registered', {
          version: 1,
          customerId: order.customerId,
          email: order.email,
          name: order.name,
          registeredAt: at,
          timeZone: 'America/New_York',
          marketingConsent: Number(order.customerId) % 4 !== 0,
        }),
      );
    }
    steps.push(event(order.placedAt, order.customerId, 'order.placed', order));
    if (i % 8 === 3 && order.total > 0) {
      const at = new Date(Date.parse(order.placedAt) + 3 * 86_400_000 + 3_600_000).toISOString();
      const amount = i % 40 === 3 ? order.total : Math.round(order.total * 40) / 100;
      if (amount > 0) {
        steps.push(
          event(at, order.customerId, 'order.refunded', {
            version: 1,
            refundId: `r-${order.orderId}`,
            orderId: order.orderId,
            customerId: order.customerId,
            currency: 'USD',
            amount,
            refundedAt: at,
          }),
        );
      }
    }
  });
  // Every fourth Monday at 18:00 a fifth of the customers ask for free shipping.
  const customers = [...seen];
  for (let day = Date.parse('1997-01-06T18:00:00Z'); day < Date.parse(UNTIL); day += 28 * 86_400_000) {
    const at = new Date(day).toISOString();
    for (const customerId of customers.filter((c) => Number(c) % 5 === 0)) {
      steps.push({ at, kind: 'redeem', customerId, requestId: `rq-${customerId}-${at.slice(0, 10)}` });
    }
  }
  return steps.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
};

/**
 * The shipped program with free shipping at 100 points, so the slice redeems often, and tiers
 * without multipliers: a tier's multiplier applies from the next order *as processed* (README,
 * Tiers), so two orders of one customer processed concurrently may earn differently by design, and
 * this suite compares runs whose timing differs. Tiers still move and mail.
 */
const prepareWorkflows = () => {
  rmSync(fromRoot(WORKFLOWS), { recursive: true, force: true });
  cpSync(fromRoot('workflows'), fromRoot(WORKFLOWS), { recursive: true });
  const file = fromRoot(`${WORKFLOWS}/program.yaml`);
  const program = readFileSync(file, 'utf8');
  const changed = program
    .replace(/(id: free-shipping, [^}]*cost: )300/, '$1100')
    .replace(/, multiplier: 1\.(25|5) \}/g, ' }');
  expect(changed.match(/multiplier: 1\.(25|5)/g)).toBeNull();
  expect(changed).toContain('cost: 100, kind: free_shipping');
  writeFileSync(file, changed);
};

interface Faults {
  throttles: number;
  crashes: number;
  mailErrors: number;
  publishThrottles: number;
}

/**
 * Faults between the writes of each handler, each at most once per call site and arguments (the
 * retry gets through): a throttled DynamoDB call before it runs, a crash right after a write
 * (the Record's order and ledger entries, an award's entry), an SES refusal, and a throttled
 * PutEvents in the sweeper.
 */
const injectFaults = (faults: Faults) => {
  const tried = new Set<string>();
  const firstTime = (key: string) => !tried.has(key) && tried.add(key) !== undefined;
  const crashAfter = new Set(['recordOrder', 'writePoints', 'saveProfile']);
  return (deps: RuntimeDeps, fn: string): RuntimeDeps => {
    const store = new Proxy(deps.store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return async (...args: unknown[]) => {
          const key = `${fn}:${property}:${JSON.stringify(args).slice(0, 400)}`;
          if (share(`throttle:${key}`) < 5 && firstTime(`throttle:${key}`)) {
            faults.throttles++;
            throw new TransientError(`DynamoDB ${property} was throttled (injected)`);
          }
          const result = await value.apply(target, args);
          if (crashAfter.has(property) && share(`crash:${key}`) < 10 && firstTime(`crash:${key}`)) {
            faults.crashes++;
            throw Object.assign(
              new Error('RequestId: injected Error: Runtime exited with error: signal: killed'),
              {
                name: 'Runtime.ExitError',
              },
            );
          }
          return result;
        };
      },
    });
    const mailer = {
      send: async (email: Parameters<RuntimeDeps['mailer']['send']>[0]) => {
        const key = `${email.to}:${email.subject}:${email.tags?.flow}`;
        if (share(`ses:${key}`) < 15 && firstTime(`ses:${key}`)) {
          faults.mailErrors++;
          throw new MailNotSentError('SES did not take the email: TooManyRequestsException (injected)');
        }
        return deps.mailer.send(email);
      },
    };
    const publisher = fn.startsWith('Sweep')
      ? {
          publish: async (events: Parameters<RuntimeDeps['publisher']['publish']>[0]) => {
            const key = JSON.stringify(events).slice(0, 400);
            if (share(`put:${key}`) < 30 && firstTime(`put:${key}`)) {
              faults.publishThrottles++;
              throw new TransientError('EventBridge refused 1 events: ThrottlingException (injected)');
            }
            return deps.publisher.publish(events);
          },
        }
      : deps.publisher;
    return { ...deps, store, mailer, publisher };
  };
};

interface Outcome {
  profiles: Record<string, unknown>;
  ledger: string[];
  orders: string[];
  sends: string[];
  journeys: string[];
  coupons: string[];
  inbox: string[];
  redemptions: string[];
  disagreements: string[];
  mismatches: number;
  failedExecutions: number;
  wallSeconds: number;
}

/** What the table and the inbox hold, without what differs by nature between runs (times, versions, codes). */
const snapshot = async (runtime: LocalRapport) => {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: runtime.dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  const profiles: Record<string, unknown> = {};
  const ledger: string[] = [];
  const orders: string[] = [];
  const sends: string[] = [];
  const journeys: string[] = [];
  const coupons: string[] = [];
  for await (const page of paginateScan({ client }, { TableName: runtime.names.tableName })) {
    for (const item of page.Items ?? []) {
      const customer = String(item.customerId ?? item.pk);
      switch (item.type) {
        case 'profile':
          profiles[customer] = {
            balance: item.pointsBalance,
            pending: item.pointsPending ?? 0,
            debt: item.pointsDebt ?? 0,
            lifetime: item.lifetimePoints,
            tier: item.tier ?? null,
            orders: item.orderCount,
            spend: item.lifetimeSpendMinor,
            refunded: item.refundedMinor,
            consent: item.consent,
            email: item.email,
          };
          break;
        case 'ledger':
          ledger.push(`${customer} ${item.sk} ${item.kind} ${item.points}`);
          break;
        case 'order':
          orders.push(
            `${customer} ${item.orderId} ${item.refundedMinor} ${item.pointsAwarded} ${item.pointsReversed}`,
          );
          break;
        case 'send':
          // By flow and step, not by trigger: when two orders of one customer arrive together, which
          // one a one-journey-at-a-time flow (review-request) follows is the order of arrival.
          sends.push(
            `${customer} ${String(item.key).split('#')[0]} ${String(item.key).split('#').at(-1)} ${item.status}`,
          );
          break;
        case 'journey':
          journeys.push(`${customer} ${item.flowId} ${item.status} ${item.convertedAt ? 'converted' : ''}`);
          break;
        case 'coupon':
          coupons.push(
            `${customer} ${item.flowId ?? ''} ${item.stepId ?? ''} ${item.rewardId ?? ''} ${item.requestId ?? ''}`,
          );
          break;
      }
    }
  }
  client.destroy();
  const inbox = (await readInbox(runtime.ses.endpoint)).map(
    (m) => `${m.destination.to.join(',')} ${m.subject}`,
  );
  return {
    profiles,
    ledger: ledger.sort(),
    orders: orders.sort(),
    sends: sends.sort(),
    journeys: journeys.sort(),
    coupons: coupons.sort(),
    inbox: inbox.sort(),
  };
};

const run = async (steps: Step[], chaos: Faults | undefined): Promise<Outcome> => {
  const runtime = await LocalRapport.start({
    clock: new VirtualClock(Date.parse('1997-01-01T00:00:00Z')),
    outputDir: fromRoot(chaos ? '.rapport/reliability-chaos' : '.rapport/reliability-clean'),
    workflowsDir: WORKFLOWS,
    onlyFlows: FLOWS,
    retryDelayMs: 1,
    ...(chaos ? { decorate: injectFaults(chaos) } : {}),
  });
  const started = performance.now();
  const redemptions: string[] = [];
  const disagreements: string[] = [];
  try {
    const ingestArn = runtime.stack.machines.find((m) => m.logicalId.startsWith('Ingest'))!.arn;
    const rng = random(20_260_412);
    let day = '';
    for (let i = 0; i < steps.length; ) {
      const first = steps[i]!;
      if (first.at.slice(0, 10) !== day) {
        day = first.at.slice(0, 10);
        await runtime.advanceTo(`${day}T00:00:00Z`);
      }
      if (first.kind === 'redeem') {
        // Redemptions ask at a quiet moment, so both runs see the same balance; retried in chaos.
        await runtime.drain();
        runtime.clock.advanceTo(first.at);
        const batch: Step[] = [];
        while (i < steps.length && steps[i]!.kind === 'redeem' && steps[i]!.at === first.at)
          batch.push(steps[i++]!);
        // The shop's backend retries a call that failed (a throttle, a crash) with the same request id.
        const ask = async (s: Extract<Step, { kind: 'redeem' }>) => {
          for (let attempt = 1; ; attempt++) {
            try {
              return await runtime.invoke('Storefront', {
                action: 'redeem',
                customerId: s.customerId,
                rewardId: 'free-shipping',
                requestId: s.requestId,
              });
            } catch (error) {
              if (attempt >= 5) throw error;
            }
          }
        };
        for (const s of batch as Extract<Step, { kind: 'redeem' }>[]) {
          const said = (answer: unknown) => {
            const { ok, error } = answer as { ok?: boolean; error?: string };
            return ok === false ? String(error) : 'ok';
          };
          const answers = chaos ? await Promise.all([ask(s), ask(s), ask(s)]) : [await ask(s)];
          const final = said(answers[0]);
          // Three at once for one request must all get the one answer.
          for (const answer of answers)
            if (said(answer) !== final)
              disagreements.push(`${s.requestId}: ${answers.map(said).join(' / ')}`);
          redemptions.push(`${s.requestId} ${final}`);
        }
        continue;
      }
      // The events of one window: cleanly one by one, in chaos shuffled with their copies.
      const window: Extract<Step, { kind: 'event' }>[] = [];
      while (
        i < steps.length &&
        window.length < WINDOW &&
        steps[i]!.kind === 'event' &&
        steps[i]!.at.slice(0, 10) === day
      )
        window.push(steps[i++] as Extract<Step, { kind: 'event' }>);
      runtime.clock.advanceTo(window.at(-1)!.at);
      if (!chaos) {
        for (const step of window) {
          runtime.putEvents([{ ...step.entry, EventBusName: runtime.names.eventBusName }]);
          await runtime.drain();
        }
        continue;
      }
      // Each event's first delivery, shuffled; then, in random places, EventBridge's two redeliveries
      // of that envelope and the shop's re-send under a new one.
      const shuffled = shuffle(window, rng);
      const delivered: Record<string, unknown>[] = [];
      const before = runtime.archive.length;
      for (const step of shuffled)
        runtime.putEvents([{ ...step.entry, EventBusName: runtime.names.eventBusName }]);
      delivered.push(...runtime.archive.slice(before));
      const copies = delivered.flatMap((event) => [
        () => runtime.startExecution(ingestArn, event),
        () => runtime.startExecution(ingestArn, event),
      ]);
      const resent = shuffled.map(
        (step) => () => runtime.putEvents([{ ...step.entry, EventBusName: runtime.names.eventBusName }]),
      );
      for (const deliver of shuffle([...copies, ...resent], rng)) deliver();
      await runtime.drain();
    }
    await runtime.advanceTo(UNTIL);
    await runtime.drain();
    const program = (await import('../../domain/workflow/compile.ts')).compileProject(
      (await import('../../infra/workflow-files.ts')).readWorkflowSources(WORKFLOWS),
    ).program;
    const reconcile = await reconcileTable(
      {
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        tableName: runtime.names.tableName,
      },
      program,
    );
    return {
      ...(await snapshot(runtime)),
      redemptions,
      disagreements,
      mismatches: reconcile.mismatches.length,
      // Executions that failed for good: in chaos, crashes past every retry are dead-lettered
      // and their other deliveries do the work; none may be left undone (compared below).
      failedExecutions: runtime.executions.filter((e) => e.status === 'FAILED').length,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await runtime.stop();
  }
};

const shuffle = <T>(items: readonly T[], rng: () => number): T[] => {
  const out = [...items];
  for (let k = out.length - 1; k > 0; k--) {
    const j = Math.floor(rng() * (k + 1));
    [out[k], out[j]] = [out[j]!, out[k]!];
  }
  return out;
};

describe('an outage changes nothing: triple, reordered, faulty delivery ends where one clean delivery does', () => {
  const steps = scenario(
    parseCdnow(readFileSync(fromRoot('data/cdnow_sample.txt'), 'utf8')).slice(0, ORDERS),
  );
  const faults: Faults = { throttles: 0, crashes: 0, mailErrors: 0, publishThrottles: 0 };
  let clean: Outcome;
  let chaos: Outcome;

  beforeAll(async () => {
    prepareWorkflows();
    clean = await run(steps, undefined);
    chaos = await run(steps, faults);
    const count = (kind: string) =>
      steps.filter((s) => s.kind === 'event' && s.entry.DetailType === kind).length;
    process.stdout.write(
      `${JSON.stringify({
        orders: count('order.placed'),
        registrations: count('customer.registered'),
        refunds: count('order.refunded'),
        redemptionRequests: steps.filter((s) => s.kind === 'redeem').length,
        redeemed: clean.redemptions.filter((r) => r.endsWith(' ok')).length,
        deliveries: 3 * steps.filter((s) => s.kind === 'event').length,
        faults,
        ledgerEntries: clean.ledger.length,
        emails: clean.inbox.length,
        journeys: clean.journeys.length,
        cleanSeconds: clean.wallSeconds,
        chaosSeconds: chaos.wallSeconds,
        chaosFailedExecutions: chaos.failedExecutions,
      })}\n`,
    );
  }, 3_000_000);
  afterAll(() => rmSync(fromRoot(WORKFLOWS), { recursive: true, force: true }));

  it('replays a slice with refunds and redemptions mixed in, and injects every kind of fault', () => {
    expect(steps.filter((s) => s.kind === 'event' && s.entry.DetailType === 'order.placed')).toHaveLength(
      1000,
    );
    expect(
      steps.filter((s) => s.kind === 'event' && s.entry.DetailType === 'order.refunded').length,
    ).toBeGreaterThan(100);
    expect(clean.redemptions.filter((r) => r.endsWith(' ok')).length).toBeGreaterThan(50);
    expect(faults.throttles).toBeGreaterThan(0);
    expect(faults.crashes).toBeGreaterThan(0);
    expect(faults.mailErrors).toBeGreaterThan(0);
    expect(faults.publishThrottles).toBeGreaterThan(0);
    expect(clean.failedExecutions).toBe(0);
    expect(clean.mismatches).toBe(0);
  });

  it('ends with the same balances, tiers and consent for every customer', () => {
    expect(Object.keys(chaos.profiles).length).toBe(Object.keys(clean.profiles).length);
    expect(chaos.profiles).toEqual(clean.profiles);
    expect(chaos.mismatches).toBe(0);
  });

  it('writes the same ledger entries and orders, none twice', () => {
    expect(chaos.ledger).toEqual(clean.ledger);
    expect(chaos.orders).toEqual(clean.orders);
    expect(chaos.disagreements).toEqual([]);
    expect(chaos.redemptions).toEqual(clean.redemptions);
  });

  it('sends the same emails, each once, and keeps the same journeys and coupons', () => {
    expect(chaos.inbox).toEqual(clean.inbox);
    expect(chaos.sends).toEqual(clean.sends);
    expect(chaos.journeys).toEqual(clean.journeys);
    expect(chaos.coupons).toEqual(clean.coupons);
  });
});
