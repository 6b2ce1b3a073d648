import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { tableTotals } from '../../local/replay.ts';
import { LocalRapport } from '../../local/runtime.ts';

// Shopify's webhooks through the partner bus of `rapport serve --shopify-source NAME`, sent over
// real HTTP with the AWS SDK as Shopify's delivery would arrive: the rules, the input transformer,
// the ingest machine and the real handlers, on DynamoDB Local.

const SOURCE = 'aws.partner/shopify.com/4938271/rapport';
const ORDER = '820982911946154508';
const CUSTOMER = '115310627314723954';

// Node 24: each number's source text, so the Detail sent keeps the fixture's digits above 2^53.
const sourceJson = JSON as unknown as {
  parse(
    text: string,
    reviver: (key: string, value: unknown, context: { source?: string }) => unknown,
  ): unknown;
  rawJSON(text: string): object;
};
/** The fixture's `detail` as Shopify's delivery writes it: every number exactly as in the file. */
const detailOf = (name: string): string => {
  const text = readFileSync(fromRoot(`tests/fixtures/shopify/${name}.json`), 'utf8');
  const event = sourceJson.parse(text, (_key, value, context) =>
    typeof value === 'number' && context.source !== undefined ? sourceJson.rawJSON(context.source) : value,
  ) as { detail: unknown };
  return JSON.stringify(event.detail);
};

describe('Shopify webhooks on the local partner bus', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-shopify'),
      shopifySource: SOURCE,
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

  const deliver = async (name: string, entry: { Source?: string; EventBusName?: string } = {}) => {
    const response = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: SOURCE,
            Source: SOURCE,
            DetailType: 'shopifyWebhook',
            Detail: detailOf(name),
            ...entry,
          },
        ],
      }),
    );
    await runtime.drain();
    return response;
  };
  const lastIngest = () => runtime.executions.filter((e) => e.machine.includes('Ingest')).at(-1);

  it('takes only its partner source on the partner bus, and that source nowhere else', async () => {
    const wrongSource = await deliver('customers-create-subscribed', { Source: 'my.shop' });
    expect(wrongSource.Entries?.[0]?.ErrorCode).toBe('NotAuthorizedForSourceException');
    const otherBus = await deliver('customers-create-subscribed', {
      EventBusName: runtime.names.eventBusName,
    });
    expect(otherBus.Entries?.[0]?.ErrorCode).toBe('NotAuthorizedForSourceException');
    expect((await tableTotals(runtime)).customers).toBe(0);
  });

  it('records a subscribed customer, then their paid multi-currency order in the shop currency', async () => {
    const registered = await deliver('customers-create-subscribed');
    expect(registered.FailedEntryCount).toBe(0);
    const profile = await runtime.store().getProfile(CUSTOMER);
    expect(profile?.email).toBe('jane.doe@example.com');
    expect(profile?.consent?.['*']?.granted).toBe(true);

    await deliver('orders-paid-multi-currency');
    const order = await runtime.store().getOrder(CUSTOMER, ORDER);
    expect(order).toMatchObject({ orderId: ORDER, currency: 'USD', totalMinor: 24310, refundedMinor: 0 });
    const ledger = await runtime.store().ledger(CUSTOMER);
    const earned = ledger.filter((entry) => entry.entryId.includes(ORDER));
    expect(earned.length).toBeGreaterThan(0);
    expect(earned.reduce((sum, entry) => sum + entry.points, 0)).toBe(order?.pointsAwarded);
    expect(order?.pointsAwarded).toBeGreaterThan(0);
    expect(runtime.deadLetters).toEqual([]);
  });

  it('changes nothing for a webhook delivered twice, nor for the orders/create of the same order', async () => {
    const before = await tableTotals(runtime);
    const ledger = await runtime.store().ledger(CUSTOMER);
    await deliver('orders-paid-multi-currency');
    await deliver('orders-create-paid');
    expect(await tableTotals(runtime)).toEqual(before);
    expect(await runtime.store().ledger(CUSTOMER)).toEqual(ledger);
    expect(lastIngest()?.output).toMatchObject({ ok: true, publish: false });
  });

  it('answers an unpaid orders/create as ignored, recording and dead-lettering nothing', async () => {
    const before = await tableTotals(runtime);
    await deliver('orders-create-pending');
    expect(lastIngest()?.output).toMatchObject({ ok: true, outcome: 'ignored', publish: false });
    expect(await tableTotals(runtime)).toEqual(before);
    expect(runtime.deadLetters).toEqual([]);
  });

  it('dead-letters a malformed webhook naming the field', async () => {
    const detail = JSON.parse(detailOf('customers-create-subscribed'));
    detail.payload.admin_graphql_api_id = 'customer-1';
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: SOURCE,
            Source: SOURCE,
            DetailType: 'shopifyWebhook',
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    await runtime.drain();
    expect(JSON.stringify(runtime.deadLetters.at(-1)?.body)).toContain(
      'detail.payload.admin_graphql_api_id: must be a gid://shopify/Customer/<id>',
    );
    runtime.deadLetters.length = 0;
  });

  it('withdraws consent on customers/update with unsubscribed', async () => {
    await deliver('customers-update-unsubscribed');
    const profile = await runtime.store().getProfile(CUSTOMER);
    expect(profile?.consent?.['*']?.granted).toBe(false);
  });

  // Refunds name no customer, and cancellations are a new canonical event: both record once the
  // lead's order-of-arrival work (optional refund customerId, order.cancelled) is merged.
  it('takes back a refund of the order whose id is above 2^53, in the shop currency', async () => {
    const before = await runtime.store().getOrder(CUSTOMER, ORDER);
    await deliver('refunds-create-partial-multi-currency');
    // The transformer kept the digits: the handler saw the order's id exactly.
    expect(JSON.stringify(lastIngest()?.input)).toContain(`"exact":{"order_id":"${ORDER}"}`);
    expect(runtime.deadLetters).toEqual([]);
    const order = await runtime.store().getOrder(CUSTOMER, ORDER);
    expect(order?.refundedMinor).toBe(2520);
    expect(order?.pointsReversed).toBeGreaterThan(before?.pointsReversed ?? 0);
  });

  it('reverses what is left of a paid order Shopify cancelled', async () => {
    await deliver('orders-cancelled-paid');
    expect(runtime.deadLetters).toEqual([]);
    const order = await runtime.store().getOrder(CUSTOMER, ORDER);
    expect(order?.pointsReversed).toBe(order?.pointsAwarded);
  });
});
