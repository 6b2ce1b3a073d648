import type { Server } from 'node:http';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { fromRoot } from '../../infra/paths.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { tableTotals } from '../../local/replay.ts';
import { LocalRapport } from '../../local/runtime.ts';
import { eventFixture } from '../support/fixtures.ts';

// What the shop's way in may and may not do, and what a re-sent, huge or unpublishable event does,
// on the synthesized stack: the buses, the ingest machine and the flows as they deploy.

describe('the shop cannot speak for the system, and nothing reaches the flows twice', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;
  const faults: { putEvents?: () => void } = {};

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-trust'),
      decorateIntegration: (resource, invoke) =>
        resource.endsWith(':events:putEvents')
          ? async (input) => {
              faults.putEvents?.();
              return invoke(input);
            }
          : invoke,
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
    delete faults.putEvents;
  });

  const order = (detail: Record<string, unknown>) => ({
    Source: 'my.shop',
    DetailType: 'order.placed',
    EventBusName: runtime.names.eventBusName,
    Detail: JSON.stringify({ ...eventFixture('order-placed').detail, ...detail }),
  });
  const put = async (entry: Record<string, unknown>) => {
    const response = await events.send(new PutEventsCommand({ Entries: [entry] }));
    await runtime.drain();
    return response;
  };
  const executionsOf = (eventId: string, machine: string) =>
    runtime.executions.filter(
      (e) => e.machine.startsWith(machine) && JSON.stringify(e.input).includes(eventId),
    );
  const inboxFor = async (to: string) =>
    (await readInbox(runtime.ses.endpoint)).filter((m) => m.destination.to.includes(to));

  it('refuses the shop a PutEvents to the system bus, as IAM refuses the shop role', async () => {
    const forged = {
      Source: 'rapport.sweeper',
      DetailType: 'customer.inactive',
      EventBusName: runtime.names.systemBusName,
      Detail: JSON.stringify({ customerId: 't-1', days: 113, meta: { eventId: 'forged' } }),
    };
    await expect(events.send(new PutEventsCommand({ Entries: [forged] }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    // By ARN as well as by name.
    const arn = `arn:aws:events:${LOCAL_REGION}:000000000000:event-bus/${runtime.names.systemBusName}`;
    await expect(
      events.send(new PutEventsCommand({ Entries: [{ ...forged, EventBusName: arn }] })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await runtime.drain();
    expect(runtime.executions.filter((e) => e.machine.startsWith('FlowWinBack'))).toEqual([]);
  });

  it('dead-letters a system event forged on the shop bus, and starts no win-back', async () => {
    const before = runtime.deadLetters.length;
    const response = await put({
      Source: 'rapport.sweeper',
      DetailType: 'customer.inactive',
      EventBusName: runtime.names.eventBusName,
      Detail: JSON.stringify({ customerId: 't-2', days: 113, meta: { eventId: 'forged-2' } }),
    });
    const eventId = response.Entries?.[0]?.EventId ?? '';
    expect(executionsOf(eventId, 'Ingest').map((e) => e.path)).toEqual([
      ['Record', 'Valid?', 'DeadLetterInvalid', 'Rejected'],
    ]);
    expect(runtime.deadLetters.slice(before).map((d) => d.body)).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/^source: rapport\.\* sources are reserved/) }),
    ]);
    expect(runtime.executions.filter((e) => e.machine.startsWith('FlowWinBack'))).toEqual([]);
    expect((await tableTotals(runtime)).coupons).toBe(0);
  });

  it('dead-letters an event type it does not know, with its reason, without crashing', async () => {
    const before = runtime.deadLetters.length;
    for (const type of ['__proto__', 'constructor', 'toString', 'customer.inactive']) {
      const response = await put({ ...order({}), DetailType: type });
      expect(executionsOf(response.Entries?.[0]?.EventId ?? '', 'Ingest')[0]?.status).toBe('SUCCEEDED');
    }
    expect(runtime.deadLetters.slice(before).map((d) => (d.body as { reason: string }).reason)).toEqual([
      expect.stringMatching(/^detail-type: "__proto__" is not one of/),
      expect.stringMatching(/^detail-type: "constructor" is not one of/),
      expect.stringMatching(/^detail-type: "toString" is not one of/),
      expect.stringMatching(/^detail-type: "customer.inactive" is not one of/),
    ]);
  });

  it('refuses an aws.* source per entry, as EventBridge does', async () => {
    const response = await events.send(
      new PutEventsCommand({ Entries: [{ ...order({}), Source: 'aws.s3' }] }),
    );
    expect(response.FailedEntryCount).toBe(1);
    expect(response.Entries?.[0]?.ErrorCode).toBe('NotAuthorizedForSourceException');
  });

  it('records and mails an order re-sent under a new envelope once', async () => {
    const entry = order({ customerId: 't-3', orderId: 'o-t3', email: 'resent@example.com' });
    const first = (await put(entry)).Entries?.[0]?.EventId ?? '';
    const second = (await put(entry)).Entries?.[0]?.EventId ?? '';
    expect(first).not.toBe(second);
    expect(executionsOf(second, 'Ingest').map((e) => e.path)).toEqual([
      ['Record', 'Valid?', 'AlreadyPublished', 'Release?', 'Done'],
    ]);
    expect(executionsOf('o-t3', 'FlowThankYou')).toHaveLength(1);
    expect(executionsOf('o-t3', 'FlowReviewRequest')).toHaveLength(1);
    expect(await inboxFor('resent@example.com')).toHaveLength(1);
    const totals = await tableTotals(runtime);
    expect(totals.orders).toBe(1);
  });

  it('keeps the journeys of an order keyed by the order, not by the envelope that carried it', async () => {
    const [thankYou] = executionsOf('o-t3', 'FlowThankYou');
    expect(JSON.stringify(thankYou?.input)).toContain('"eventId":"order.placed:o-t3"');
  });

  it('runs a valid 133 KB order through ingest and its flows within Step Functions 256 KB', async () => {
    const items = Array.from({ length: 450 }, (_, i) => ({
      sku: `SKU-${i}`,
      name: `${'Collected works, deluxe edition with commentary '.repeat(5)}${i}`.slice(0, 280),
      category: 'books',
      quantity: 1,
      unitPrice: 0.1,
    }));
    const entry = order({ customerId: 't-4', orderId: 'o-t4', email: 'big@example.com', total: 45, items });
    expect(Buffer.byteLength(entry.Detail)).toBeGreaterThan(133 * 1024);
    const eventId = (await put(entry)).Entries?.[0]?.EventId ?? '';
    const [ingest] = executionsOf(eventId, 'Ingest');
    expect(ingest?.error).toBeUndefined();
    expect(ingest?.path).toEqual(['Record', 'Valid?', 'Publish', 'Release?', 'Done']);
    expect(executionsOf('o-t4', 'FlowThankYou').map((e) => e.status)).toEqual(['SUCCEEDED']);
    expect(await inboxFor('big@example.com')).toHaveLength(1);
  });

  it('dead-letters an order it recorded but could not publish, and a redrive publishes it once', async () => {
    faults.putEvents = () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'EventBridge.ThrottlingException' });
    };
    const before = runtime.deadLetters.length;
    const eventId = (
      await put(order({ customerId: 't-5', orderId: 'o-t5', email: 'unpublished@example.com' }))
    ).Entries?.[0]?.EventId;
    const [ingest] = executionsOf(eventId ?? '', 'Ingest');
    expect(ingest?.status).toBe('FAILED');
    expect(ingest?.path.slice(-3)).toEqual(['Publish', 'DeadLetterUnpublished', 'Unpublished']);
    const [dead] = runtime.deadLetters.slice(before);
    expect(dead?.body).toMatchObject({ stage: 'publish', event: { id: eventId } });
    expect(executionsOf('o-t5', 'FlowThankYou')).toHaveLength(0);

    // The redrive: the same envelope again. It is recorded already, and published now.
    delete faults.putEvents;
    const ingestArn = runtime.stack.machines.find((m) => m.logicalId.startsWith('Ingest'))!.arn;
    const { event } = z.object({ event: z.unknown() }).parse(dead?.body);
    runtime.startExecution(ingestArn, event);
    await runtime.drain();
    expect(executionsOf('o-t5', 'FlowThankYou').map((e) => e.status)).toEqual(['SUCCEEDED']);
    expect(await inboxFor('unpublished@example.com')).toHaveLength(1);
    const customer = await runtime.store().getProfile('t-5');
    expect(customer?.orderCount).toBe(1);
  });

  it('replays the archive of the shop bus without a second award, email or journey', async () => {
    const before = await tableTotals(runtime);
    const mails = (await readInbox(runtime.ses.endpoint)).length;
    const flowRuns = runtime.executions.filter((e) => e.machine.startsWith('Flow')).length;
    const archived = runtime.replayArchive('trust-replay');
    await runtime.drain();
    // What reached the shop bus: the forged and unknown events, the orders; not what it refused.
    expect(archived).toBe(9);
    expect(await tableTotals(runtime)).toEqual(before);
    expect((await readInbox(runtime.ses.endpoint)).length).toBe(mails);
    // Replayed envelopes keep their ids: a fact already recorded by that envelope is published
    // again, and the flows, keyed by the fact, do nothing twice.
    const again = runtime.executions.filter((e) => e.machine.startsWith('Flow')).length - flowRuns;
    expect(again).toBeLessThanOrEqual(flowRuns);
    expect(
      runtime.executions.filter((e) => e.status === 'FAILED' && !e.machine.startsWith('Ingest')),
    ).toEqual([]);
  });
});
