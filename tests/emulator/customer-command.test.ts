import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../domain/workflow/compile.ts';
import { describeUnreadable, scanItems } from '../../functions/adapters/table-items.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { type CustomerReport, customerCommand, readCustomer } from '../../local/customer-report.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { reconcileTable } from '../../local/reconcile.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';
import { writeStackFile } from '../../local/stack-file.ts';

// `rapport customer` against DynamoDB Local: a customer without marketing consent registers (the
// welcome email is skipped, the welcome journey waits three days), orders twice (two thank-you
// emails, a review request waiting), and has the second order partly refunded (points reversed,
// the review request exits). The report must show each of these as the table holds it.

const DAY = 86_400_000;
const START = Date.parse('2026-03-02T15:00:00Z');
const exec = promisify(execFile);
const root = fromRoot();

describe('rapport customer', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;
  const project = compileProject(readWorkflowSources());
  const scratch = mkdtempSync(join(tmpdir(), 'rapport-customer-'));
  const stackFile = join(scratch, 'stack.json');
  let target: { tableName: string; endpoint: string };

  const put = async (type: string, detail: Record<string, unknown>) => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'my.shop',
            DetailType: type,
            Detail: JSON.stringify(detail),
            EventBusName: runtime.names.eventBusName,
          },
        ],
      }),
    );
    await runtime.drain();
  };
  const now = () => runtime.clock.now().toISOString();
  const order = (orderId: string, total: number) =>
    put('order.placed', {
      version: 1,
      orderId,
      customerId: 'c-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      currency: 'USD',
      total,
      items: [{ sku: 'CD-1', quantity: 1, unitPrice: total }],
      placedAt: now(),
    });

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      outputDir: fromRoot('.rapport/test-customer'),
      clock: new VirtualClock(START),
      onlyFlows: ['welcome', 'thank-you', 'review-request'],
    });
    const endpoint = await startEventsEndpoint(runtime);
    server = endpoint.server;
    events = new EventBridgeClient({
      endpoint: endpoint.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    target = { tableName: runtime.names.tableName, endpoint: runtime.dynamo.endpoint };

    await put('customer.registered', {
      version: 1,
      customerId: 'c-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      registeredAt: now(),
    });
    await runtime.advanceTo(new Date(START + 0.1 * DAY));
    await order('o-1', 80);
    await runtime.advanceTo(new Date(START + 0.2 * DAY));
    await order('o-2', 40.5);
    await runtime.advanceTo(new Date(START + 1 * DAY));
    await put('order.refunded', {
      version: 1,
      refundId: 'rf-1',
      orderId: 'o-2',
      customerId: 'c-1',
      currency: 'USD',
      amount: 15,
      refundedAt: now(),
    });
  });
  afterAll(async () => {
    server?.close();
    events?.destroy();
    await runtime?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const report = async (): Promise<CustomerReport> => {
    const found = await readCustomer(target, 'c-1', project, { asOf: now() });
    if (!found) throw new Error('c-1 not found');
    return found;
  };

  it('shows the profile and consent per topic: without marketing consent only transactional topics reach', async () => {
    const { profile, consent } = await report();
    expect(profile).toMatchObject({
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      orderCount: 2,
      lifetimeSpend: 120.5,
      refunded: 15,
    });
    expect(consent.marketing).toBeUndefined();
    expect(consent.topics.map((t) => [t.id, t.receives, t.code, t.reason])).toEqual([
      ['orders', true, 'transactional', 'transactional'],
      ['loyalty', false, 'no-consent', 'no consent for loyalty'],
      ['promotions', false, 'no-consent', 'no consent for promotions'],
    ]);
    expect(consent.topics.find((t) => t.id === 'orders')?.flows).toEqual(['thank-you']);
    expect(consent.topics.find((t) => t.id === 'loyalty')?.flows).toContain('review-request');
  });

  it('lists the orders with their refunds and the ledger entries with the rules that made them', async () => {
    const { orders, ledger, points } = await report();
    expect(orders).toEqual([
      expect.objectContaining({ orderId: 'o-1', total: 80, currency: 'USD', refunded: 0, pointsAwarded: 80 }),
      expect.objectContaining({
        orderId: 'o-2',
        total: 40.5,
        refunded: 15,
        pointsAwarded: 40,
        pointsReversed: 15,
      }),
    ]);
    expect(orders[0]?.placedAt).toBe(new Date(START + 0.1 * DAY).toISOString());
    expect(ledger.map((e) => [e.kind, e.points, e.rule.id, e.orderId ?? e.refundId ?? null])).toEqual([
      ['bonus', 100, 'signup-bonus', null],
      ['earn', 80, 'base-earn', 'o-1'],
      ['earn', 40, 'base-earn', 'o-2'],
      ['reverse', -15, 'base-earn', 'o-2'],
    ]);
    expect(ledger[3]?.refundId).toBe('rf-1');
    // The balances are the sums of the entries' deltas.
    const sum = (field: 'pending' | 'available' | 'debt') => ledger.reduce((n, e) => n + e[field], 0);
    expect([points.pending, points.available, points.debt]).toEqual([
      sum('pending'),
      sum('available'),
      sum('debt'),
    ]);
    expect(points).toMatchObject({ available: 100, pending: 105, debt: 0, reversed: 15 });
    // Lots are buckets (decision 35): both orders mature on the same day and share one.
    expect(points.lots.map((l) => [l.id, l.status, l.remaining])).toEqual([
      ['expires:2027-03', 'available', 100],
      ['pending:2026-04-01', 'pending', 105],
    ]);
    // The bucket matures with its latest award, so none matures early.
    expect(points.lots[1]?.maturesAt).toBe(new Date(START + 0.2 * DAY + 30 * DAY).toISOString());
  });

  it('shows the emails sent with the message ids SES took, and the welcome skipped for want of consent', async () => {
    const { sends } = await report();
    const inbox = (await readInbox(runtime.ses.endpoint)).filter((m) =>
      m.destination.to.includes('ada@example.com'),
    );
    expect(inbox).toHaveLength(2);
    expect(
      sends.filter((s) => s.status === 'sent').map((s) => [s.flowId, s.templateId, s.messageId]),
    ).toEqual(inbox.map((m) => ['thank-you', 'thank-you', m.messageId]));
    expect(sends.filter((s) => s.status === 'skipped')).toEqual([
      expect.objectContaining({
        flowId: 'welcome',
        stepId: 'hello',
        reason: 'no consent for loyalty',
      }),
    ]);
  });

  it('shows the journeys and the wait still pending: the refund ended the review request', async () => {
    const { journeys, waits } = await report();
    // thank-you never waits, so it keeps no journey; o-2 came within review-request's 30-day reentry.
    expect(journeys.map((j) => [j.flowId, j.status])).toEqual([
      ['welcome', 'active'],
      ['review-request', 'exited'],
    ]);
    expect(journeys[0]?.convertedAt).toBe(new Date(START + 0.1 * DAY).toISOString());
    expect(journeys[1]?.endedAt).toBe(new Date(START + DAY).toISOString());
    expect(waits).toEqual([
      expect.objectContaining({
        flowId: 'welcome',
        stepId: 'pause',
        status: 'waiting',
        dueAt: new Date(START + 3 * DAY).toISOString(),
      }),
    ]);
  });

  it('shows the balances as of a time next to the stored ones: points mature on the clock, before any settlement', async () => {
    const later = new Date(START + 40 * DAY).toISOString();
    const { points } = (await readCustomer(target, 'c-1', project, { asOf: later })) ?? {};
    // Stored: what the last write left (o-1 and o-2 pending); as of day 40 both have matured.
    expect(points).toMatchObject({ available: 100, pending: 105 });
    expect(points?.asOf).toEqual({ at: later, available: 205, pending: 0, debt: 0 });
    expect((await report()).points.asOf).toMatchObject({ available: 100, pending: 105 });
  });

  it('figures outstanding points and the liability as of a time, and checks balances as stored', async () => {
    const reconcileAt = (ms: number) =>
      reconcileTable(
        { ...target, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, asOf: new Date(ms).toISOString() },
        project.program,
      );
    const [early, late] = [await reconcileAt(START + 2 * DAY), await reconcileAt(START + 40 * DAY)];
    expect(early.mismatches).toEqual([]);
    expect(late.mismatches).toEqual([]);
    expect(early.points).toMatchObject({ available: 100, pending: 105, outstanding: 205 });
    expect(late.points).toMatchObject({ available: 205, pending: 0, outstanding: 205, expiredUnsettled: 0 });
    expect(late.asOf).toBe(new Date(START + 40 * DAY).toISOString());
  });

  it('reads every item the local stack wrote as one of the declared kinds', async () => {
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: target.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    );
    const kinds = new Map<string, number>();
    const unreadable: string[] = [];
    for await (const page of scanItems(doc, target.tableName, { segments: 3, consistentRead: true }))
      for (const read of page) {
        if (read.kind === 'invalid' || read.kind === 'unknown') unreadable.push(describeUnreadable(read));
        else kinds.set(read.kind, (kinds.get(read.kind) ?? 0) + 1);
      }
    doc.destroy();
    expect(unreadable).toEqual([]);
    expect(Object.fromEntries(kinds)).toMatchObject({ profile: 1, order: 2, ledger: 4, journey: 2, wait: 1 });
    expect([...kinds.keys()]).toEqual(
      expect.arrayContaining(['activity', 'date', 'flow-memory', 'points-due', 'send']),
    );
  });

  it('reads every page of a partition', async () => {
    const paged = await readCustomer(target, 'c-1', project, { pageSize: 2, asOf: now() });
    expect(paged).toEqual(await report());
  });

  it('finds the running stack through its stack file and prints readable sections', async () => {
    writeStackFile(
      {
        pid: process.pid,
        dynamoDbEndpoint: runtime.dynamo.endpoint,
        tableName: runtime.names.tableName,
        region: LOCAL_REGION,
        eventsEndpoint: 'http://127.0.0.1:1',
        sesEndpoint: runtime.ses.endpoint,
        startedAt: now(),
      },
      stackFile,
    );
    const result = await customerCommand('c-1', {}, project, { stackFile });
    expect(result.code).toBe(0);
    const text = result.stdout.join('\n');
    expect(result.stdout[0]).toBe('Customer c-1: Ada Lovelace <ada@example.com>  (table rapport-local)');
    expect(text).toContain('  all marketing topics: not given');
    expect(text).toMatch(/^ {4}loyalty +Points and rewards +no +no +no-consent +birthday, points-expiring/m);
    // Columns line up: every row of the orders table starts its fields where the header does.
    const start = result.stdout.indexOf('Orders (2)');
    const [header, ...rows] = result.stdout.slice(start + 1, start + 4);
    for (const title of ['total', 'placed at', 'refunded']) {
      const at = header?.indexOf(title) ?? -1;
      expect(at).toBeGreaterThan(0);
      for (const row of rows) expect(row[at - 1]).toBe(' ');
    }
    expect(rows[1]).toMatch(/^ {4}o-2 +\$40\.50 +USD +2026-03-02T19:48:00Z +\$15\.00 +40 +15$/);
    expect(text).toMatch(/^ {4}welcome +hello +welcome +skipped +- +no consent for loyalty$/m);
    expect(text).toMatch(
      /^ {4}2026-03-03T15:00:00Z +reverse +-15 +-15 +0 +0 +base-earn@1 +order o-2, refund rf-1$/m,
    );
    expect(text).toMatch(/^Waits \(1\)\n {4}flow .*\n {4}welcome .* pause +2026-03-05T15:00:00Z +waiting/m);
  });

  it('says there is no stack when the stack file is missing or left by a process that died', async () => {
    const missing = await customerCommand('c-1', {}, project, { stackFile: join(scratch, 'none.json') });
    expect(missing).toMatchObject({ code: 1, stdout: [] });
    expect(missing.stderr[0]).toMatch(/no local stack is running; start `rapport serve`.*--table NAME/);

    const dead = join(scratch, 'dead.json');
    writeStackFile(
      {
        pid: 2 ** 22 + 1, // above Linux's pid_max: no such process
        dynamoDbEndpoint: runtime.dynamo.endpoint,
        tableName: runtime.names.tableName,
        region: LOCAL_REGION,
        eventsEndpoint: 'http://127.0.0.1:1',
        sesEndpoint: runtime.ses.endpoint,
        startedAt: now(),
      },
      dead,
    );
    expect((await customerCommand('c-1', {}, project, { stackFile: dead })).stderr[0]).toMatch(
      /no local stack is running/,
    );
  });

  it('answers an unknown customer with a clear message and exit 1', async () => {
    const result = await customerCommand('nobody', { ...target, table: target.tableName }, project);
    expect(result).toEqual({
      code: 1,
      stdout: [],
      stderr: [`rapport customer: no customer "nobody" in table rapport-local at ${target.endpoint}`],
    });
  });

  it('names the item and field that do not parse, shows the rest, and exits 1', async () => {
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: target.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    );
    // Fault injection: an order item as no writer of ours would leave it.
    await doc.send(
      new PutCommand({
        TableName: target.tableName,
        Item: {
          pk: 'CUSTOMER#c-1',
          sk: 'ORDER#broken',
          type: 'order',
          customerId: 'c-1',
          orderId: 'broken',
          eventId: 'e',
          currency: 'USD',
          totalMinor: 'lots',
          refundedMinor: 0,
          placedAt: now(),
          pointsAwarded: 0,
          pointsReversed: 0,
        },
      }),
    );
    try {
      const result = await customerCommand(
        'c-1',
        { ...target, table: target.tableName, json: true },
        project,
      );
      expect(result.code).toBe(1);
      const parsed: unknown = JSON.parse(result.stdout.join('\n'));
      expect(parsed).toMatchObject({
        unreadable: [{ key: 'ORDER#broken', problem: expect.stringMatching(/^totalMinor: .*number/) }],
        orders: [expect.objectContaining({ orderId: 'o-1' }), expect.objectContaining({ orderId: 'o-2' })],
      });
    } finally {
      const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
      await doc.send(
        new DeleteCommand({ TableName: target.tableName, Key: { pk: 'CUSTOMER#c-1', sk: 'ORDER#broken' } }),
      );
      doc.destroy();
    }
  });

  it('prints the same report as one JSON document from the command line', async () => {
    const { stdout, stderr } = await exec(
      'node',
      [
        'bin/rapport.mjs',
        'customer',
        'c-1',
        '--json',
        '--endpoint',
        target.endpoint,
        '--table',
        target.tableName,
        '--as-of',
        now(),
      ],
      { cwd: root },
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(await report())));
  });
});
