import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MailNotSentError } from '../../domain/errors.ts';
import type { OutgoingEmail } from '../../domain/ports.ts';
import { fromRoot } from '../../infra/paths.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { tableTotals } from '../../local/replay.ts';
import { LocalRapport } from '../../local/runtime.ts';
import { eventFixture } from '../support/fixtures.ts';

// The synthesized state machines, run by aws-local-stepfunctions with every Lambda task bound to
// its real handler, against DynamoDB Local and SES v2 local. Faults are injected into the ports.

describe('Rapport end to end on the local stack', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;
  const faults: {
    beforeSend?: (email: OutgoingEmail) => void;
    afterSend?: () => void;
  } = {};

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test'),
      decorate: (deps) => ({
        ...deps,
        mailer: {
          send: async (email) => {
            faults.beforeSend?.(email);
            return deps.mailer.send(email);
          },
        },
        store: Object.assign(Object.create(deps.store), {
          completeSend: async (customerId: string, key: string, messageId: string) => {
            faults.afterSend?.();
            return deps.store.completeSend(customerId, key, messageId);
          },
        }),
      }),
    });
    const endpoint = await startEventsEndpoint(runtime);
    server = endpoint.server;
    events = new EventBridgeClient({
      endpoint: endpoint.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
  });
  afterAll(async () => {
    server?.close();
    events?.destroy();
    await runtime?.stop();
  });
  beforeEach(() => {
    delete faults.beforeSend;
    delete faults.afterSend;
  });

  const send = async (
    name: 'order-placed' | 'order-refunded' | 'customer-registered',
    detail: Record<string, unknown> = {},
  ) => {
    const fixture = eventFixture(name);
    const response = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'my.shop',
            DetailType: fixture['detail-type'],
            Detail: JSON.stringify({ ...fixture.detail, ...detail }),
            EventBusName: runtime.names.eventBusName,
          },
        ],
      }),
    );
    await runtime.drain();
    return response.Entries?.[0]?.EventId ?? '';
  };
  const executionsOf = (eventId: string) =>
    runtime.executions.filter((e) => JSON.stringify(e.input).includes(eventId));
  const inboxFor = async (to: string) =>
    (await readInbox(runtime.ses.endpoint)).filter((m) => m.destination.to.includes(to));

  it('turns an order into a customer record, pending points and a personalized email', async () => {
    const eventId = await send('order-placed', {
      customerId: 'e2e-1',
      orderId: 'o-1',
      email: 'ada@example.com',
    });
    const ingest = runtime.executions.find(
      (e) => e.machine.startsWith('Ingest') && JSON.stringify(e.input).includes(eventId),
    );
    expect(ingest?.path).toEqual(['Record', 'Valid?', 'Publish', 'Release?', 'Done']);
    const flow = runtime.executions.find(
      (e) =>
        e.machine.startsWith('FlowThankYou') && JSON.stringify(e.input).includes(`"envelopeId":"${eventId}"`),
    );
    expect(flow?.status).toBe('SUCCEEDED');
    expect(flow?.path).toEqual(['Start', 'Normalize', 'thank', 'Complete', 'Done']);

    // The shipped program keeps an order's points pending for its 30-day return window.
    const totals = await tableTotals(runtime);
    expect(totals).toMatchObject({ customers: 1, orders: 1, pointsEarned: 42, pointsBalance: 0 });
    const [mail, ...others] = await inboxFor('ada@example.com');
    expect(others).toHaveLength(0);
    expect(mail?.subject).toBe('Thank you for your order, Ada!');
    expect(mail?.body.text).toContain('It earned you 42 points.');
    expect(mail?.body.text).toContain(
      'You have 0 points to spend and 42 more that become spendable once the return window closes.',
    );
    expect(mail?.from).toContain('hello@example.com');
  });

  it('awards once and mails once when EventBridge delivers the same event three times', async () => {
    const eventId = await send('order-placed', {
      customerId: 'e2e-2',
      orderId: 'o-2',
      email: 'dup@example.com',
      total: 10.5,
    });
    const [original] = executionsOf(eventId).filter((e) => e.machine.startsWith('Ingest'));
    const ingestArn = runtime.stack.machines.find((m) => m.logicalId.startsWith('Ingest'))!.arn;
    runtime.startExecution(ingestArn, original!.input);
    runtime.startExecution(ingestArn, original!.input);
    await runtime.drain();

    expect(
      executionsOf(eventId).filter((e) => e.machine.startsWith('FlowThankYou') && e.status === 'SUCCEEDED'),
    ).toHaveLength(3);
    expect(await inboxFor('dup@example.com')).toHaveLength(1);
    const totals = await tableTotals(runtime);
    expect(totals.orders).toBe(2);
    expect(totals.pointsEarned).toBe(42 + 10);
  });

  it('takes back the refunded share of the points', async () => {
    await send('order-placed', { customerId: 'e2e-3', orderId: 'o-3', email: 'refund@example.com' });
    await send('order-refunded', { customerId: 'e2e-3', orderId: 'o-3', refundId: 'r-3', amount: 12.99 });
    const before = await tableTotals(runtime);
    // 12.99 of 42.99 refunded: the order keeps floor(42 × 30.00 / 42.99) = 29 of its 42 points.
    expect(before.pointsReversed).toBe(13);
    // the same refund again changes nothing
    await send('order-refunded', { customerId: 'e2e-3', orderId: 'o-3', refundId: 'r-3', amount: 12.99 });
    expect(await tableTotals(runtime)).toEqual(before);
  });

  it('keeps an invalid event in the dead-letter store with a reason naming the field', async () => {
    const rejectedBefore = runtime.deadLetters.length;
    const eventId = await send('order-placed', { customerId: 'e2e-4', orderId: 'o-4', total: 'a lot' });
    const [ingest] = executionsOf(eventId);
    expect(ingest?.path).toEqual(['Record', 'Valid?', 'DeadLetterInvalid', 'Rejected']);
    expect(runtime.deadLetters.slice(rejectedBefore)).toEqual([
      {
        queueUrl: runtime.names.deadLetterQueueUrl,
        body: expect.objectContaining({
          stage: 'ingest',
          reason: expect.stringMatching(/^detail\.total: /),
          event: expect.objectContaining({ id: eventId }),
        }),
      },
    ]);
    const file = readFileSync(fromRoot('.rapport/test/rejected.ndjson'), 'utf8');
    expect(file).toContain(eventId);
    expect((await tableTotals(runtime)).customers).toBe(3);
  });

  it('retries a throttled send and delivers exactly one email', async () => {
    let throttles = 0;
    faults.beforeSend = () => {
      if (throttles++ < 2) throw new MailNotSentError('SES did not take the email: TooManyRequestsException');
    };
    await send('order-placed', { customerId: 'e2e-5', orderId: 'o-5', email: 'throttled@example.com' });
    expect(throttles).toBe(3);
    expect(await inboxFor('throttled@example.com')).toHaveLength(1);
  });

  it('never mails twice after a crash between sending and recording the send', async () => {
    let crashes = 0;
    faults.afterSend = () => {
      if (crashes++ === 0) throw new Error('Runtime exited: Lambda timed out');
    };
    const eventId = await send('order-placed', {
      customerId: 'e2e-6',
      orderId: 'o-6',
      email: 'crash@example.com',
    });
    const failed = executionsOf(eventId).find((e) => e.machine.startsWith('FlowThankYou'));
    expect(failed?.status).toBe('FAILED');
    expect(failed?.path.slice(-2)).toEqual(['DeadLetterFailed', 'Failed']);
    // EventBridge delivers again: the claim stands, nothing is sent.
    const ingestArn = runtime.stack.machines.find((m) => m.logicalId.startsWith('Ingest'))!.arn;
    runtime.startExecution(
      ingestArn,
      executionsOf(eventId).find((e) => e.machine.startsWith('Ingest'))!.input,
    );
    await runtime.drain();
    expect(await inboxFor('crash@example.com')).toHaveLength(1);
  });

  it('keeps a refund that outran its order, and takes it back after the order reached the flows', async () => {
    const refundId = await send('order-refunded', { customerId: 'e2e-7', orderId: 'o-7', refundId: 'r-7' });
    const [waiting] = executionsOf(refundId);
    expect(waiting?.status).toBe('SUCCEEDED');
    expect(waiting?.path).toEqual(['Record', 'Valid?', 'AlreadyPublished', 'Release?', 'Done']);
    expect(await runtime.store().ledger('e2e-7')).toEqual([]);

    const orderId = await send('order-placed', {
      customerId: 'e2e-7',
      orderId: 'o-7',
      email: 'late@example.com',
    });
    const [order] = executionsOf(orderId).filter((e) => e.machine.startsWith('Ingest'));
    expect(order?.path).toEqual([
      'Record',
      'Valid?',
      'Publish',
      'Release?',
      'Release',
      'LetItsFlowsStart',
      'IngestAgain',
      'Done',
    ]);
    // The refund went through ingest again, from the shop bus, after the order's flows started.
    const again = runtime.executions.filter(
      (e) => e.machine.startsWith('Ingest') && JSON.stringify(e.input).includes('"refundId":"r-7"'),
    );
    expect(again.map((e) => e.path.at(2))).toEqual(['AlreadyPublished', 'Publish']);
    expect((await runtime.store().ledger('e2e-7')).map((e) => [e.entryId, e.points])).toEqual([
      ['earn:order:o-7', 42],
      ['reverse:refund:r-7', -13],
    ]);
    // The review request that the order started ends with the refund.
    expect(executionsOf('o-7').some((e) => e.machine.startsWith('FlowReviewRequest'))).toBe(true);
    const { journeys } = await runtime.store().listActive('e2e-7', new Date().toISOString());
    expect(journeys.map((j) => j.flowId)).not.toContain('review-request');
  });

  it('creates the customer record on registration, before any order', async () => {
    await send('customer-registered', { customerId: 'e2e-8', email: 'new@example.com' });
    const totals = await tableTotals(runtime);
    // e2e-1..3, 5, 6, 7 ordered; e2e-4's order was invalid; e2e-8 registered.
    expect(totals).toMatchObject({ customers: 7, orders: 6 });
  });

  it('answers TestEventPattern like EventBridge', async () => {
    const result = await events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ detail: { total: [{ numeric: ['>', 40] }] } }),
        Event: JSON.stringify(eventFixture('order-placed')),
      }),
    );
    expect(result.Result).toBe(true);
  });
});
