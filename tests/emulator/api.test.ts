import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { signatureHeader } from '../../functions/commons/request-signature.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readInbox } from '../../local/emulators.ts';
import { LocalRapport } from '../../local/runtime.ts';

// The signed HTTPS API on the local stack, over real HTTP: the Api function served on localhost as
// its function URL, each accepted event applied by the synthesized Ingest machine (record, journeys,
// publish to the flows), exactly as an event from the bus is.

const OUTPUT = fromRoot('.rapport/test-api');

const resultSchema = z.object({
  index: z.number(),
  id: z.string().optional(),
  type: z.string().optional(),
  status: z.enum(['accepted', 'duplicate', 'rejected', 'not_applied', 'failed']),
  field: z.string().optional(),
  reason: z.string().optional(),
  retryable: z.boolean().optional(),
});
const answerSchema = z.object({ results: z.array(resultSchema), accepted: z.number() });
const refusalSchema = z.object({ error: z.string(), reason: z.string() });

describe('the signed HTTPS API on the local stack', () => {
  let runtime: LocalRapport;
  const faults: { putEvents?: () => void } = {};

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      outputDir: OUTPUT,
      decorateIntegration: (resource, invoke) =>
        resource.endsWith(':events:putEvents')
          ? async (input) => {
              faults.putEvents?.();
              return invoke(input);
            }
          : invoke,
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });
  beforeEach(() => {
    delete faults.putEvents;
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const url = (path = 'v1/events') => `${runtime.apiUrl}${path}`;
  const post = (body: string, header = signatureHeader(runtime.apiKey, nowSeconds(), body), path?: string) =>
    fetch(url(path), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'rapport-signature': header },
      body,
    });
  const answer = async (response: Response) => answerSchema.parse(await response.json());
  const refusal = async (response: Response) => refusalSchema.parse(await response.json());

  const registration = (customerId: string, detail: Record<string, unknown> = {}) => ({
    id: `reg-${customerId}`,
    type: 'customer.registered',
    detail: {
      version: 1,
      customerId,
      email: `${customerId}@example.com`,
      name: `Casey ${customerId}`,
      registeredAt: runtime.clock.now().toISOString(),
      ...detail,
    },
  });
  const order = (customerId: string, orderId: string, detail: Record<string, unknown> = {}) => ({
    id: `evt-${orderId}`,
    type: 'order.placed',
    detail: {
      version: 1,
      orderId,
      customerId,
      email: `${customerId}@example.com`,
      name: `Casey ${customerId}`,
      currency: 'USD',
      total: 30,
      items: [{ sku: 'CD-1', name: 'Kind of Blue', quantity: 1, unitPrice: 30 }],
      placedAt: runtime.clock.now().toISOString(),
      ...detail,
    },
  });
  const profile = (customerId: string) => runtime.store().getProfile(customerId);

  it('accepts a signed event, records the customer and publishes it to the flows', async () => {
    const response = await post(JSON.stringify(order('a-1', 'ao-1')));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect((await answer(response)).results).toEqual([
      { index: 0, id: 'evt-ao-1', type: 'order.placed', status: 'accepted' },
    ]);
    expect(await profile('a-1')).toMatchObject({ orderCount: 1, lifetimeSpendMinor: 3000 });
    await runtime.drain();
    const mails = (await readInbox(runtime.ses.endpoint)).filter((m) =>
      m.destination.to.includes('a-1@example.com'),
    );
    expect(mails.map((m) => m.subject).some((subject) => /thank/i.test(subject))).toBe(true);
  });

  it('answers duplicate for the same body signed again, and records nothing twice', async () => {
    const body = JSON.stringify(order('a-1', 'ao-1'));
    const response = await post(body, signatureHeader(runtime.apiKey, nowSeconds() + 1, body));
    expect(response.status).toBe(200);
    expect((await answer(response)).results[0]?.status).toBe('duplicate');
    expect(await profile('a-1')).toMatchObject({ orderCount: 1, lifetimeSpendMinor: 3000 });
  });

  it('refuses a replay of a signature it took, and of two identical requests at once takes exactly one', async () => {
    const body = JSON.stringify(registration('a-2'));
    const header = signatureHeader(runtime.apiKey, nowSeconds(), body);
    expect((await post(body, header)).status).toBe(200);
    const replay = await post(body, header);
    expect(replay.status).toBe(401);
    expect((await refusal(replay)).reason).toMatch(/^signature: this signed request was already received/);

    const twin = JSON.stringify(registration('a-3'));
    const twinHeader = signatureHeader(runtime.apiKey, nowSeconds(), twin);
    const statuses = await Promise.all([post(twin, twinHeader), post(twin, twinHeader)]);
    expect(statuses.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('refuses a tampered body, and records nothing of it', async () => {
    const body = JSON.stringify(order('a-4', 'ao-4'));
    const header = signatureHeader(runtime.apiKey, nowSeconds(), body);
    const response = await post(body.replace('"total":30', '"total":3'), header);
    expect(response.status).toBe(401);
    expect(await refusal(response)).toEqual({
      error: 'unauthorized',
      reason: 'signature: no v1 matches the body under any current key',
    });
    expect(await profile('a-4')).toBeUndefined();
  });

  it('refuses a signature made with another key', async () => {
    const body = JSON.stringify(registration('a-5'));
    const response = await post(body, signatureHeader('x'.repeat(43), nowSeconds(), body));
    expect(response.status).toBe(401);
    expect(await profile('a-5')).toBeUndefined();
  });

  it('refuses a stale timestamp and a missing or malformed header, naming what is wrong', async () => {
    const body = JSON.stringify(registration('a-6'));
    const stale = await post(body, signatureHeader(runtime.apiKey, nowSeconds() - 600, body));
    expect(stale.status).toBe(401);
    expect((await refusal(stale)).reason).toMatch(/^signature: t is \d+ s old; at most 300 s is accepted/);
    const missing = await fetch(url(), { method: 'POST', body });
    expect(missing.status).toBe(401);
    expect((await refusal(missing)).reason).toMatch(/^signature: missing rapport-signature header/);
    const malformed = await post(body, 't=now,v1=zz');
    expect((await refusal(malformed)).reason).toBe('signature: t must be a unix time in seconds');
    expect(await profile('a-6')).toBeUndefined();
  });

  it('refuses a signed body that is not JSON', async () => {
    const response = await post('{"id": "e-1", "type": ');
    expect(response.status).toBe(400);
    const { error, reason } = await refusal(response);
    expect(error).toBe('bad_request');
    expect(reason).toMatch(/^body: not JSON/);
  });

  it('applies nothing of a batch with one invalid event, naming its field, and keeps it with its reason', async () => {
    const events = [registration('b-1'), order('b-2', 'bo-2', { total: 'thirty' }), order('b-3', 'bo-3')];
    const response = await post(JSON.stringify({ events }));
    expect(response.status).toBe(422);
    const { results } = await answer(response);
    expect(results.map((r) => r.status)).toEqual(['not_applied', 'rejected', 'not_applied']);
    expect(results[1]).toMatchObject({
      id: 'evt-bo-2',
      field: 'detail.total',
      reason: expect.stringMatching(/^detail\.total: /),
    });
    for (const customerId of ['b-1', 'b-2', 'b-3']) expect(await profile(customerId)).toBeUndefined();
    expect(runtime.deadLetters.map((d) => d.body)).toContainEqual(
      expect.objectContaining({ stage: 'api', reason: results[1]?.reason, event: events[1] }),
    );
  });

  it('names the field the client wrote: type, not the envelope detail-type', async () => {
    const response = await post(JSON.stringify({ id: 'e-x', type: 'order.shipped', detail: {} }));
    expect(response.status).toBe(422);
    const [result] = (await answer(response)).results;
    expect(result).toMatchObject({ status: 'rejected', field: 'type' });
    expect(result?.reason).toMatch(/^type: "order.shipped" is not one of /);
  });

  it("checks a batch against the program's own rules too: an order in another currency applies none", async () => {
    const body = { events: [registration('c-2'), order('c-1', 'co-1', { currency: 'EUR' })] };
    const response = await post(JSON.stringify(body));
    expect(response.status).toBe(422);
    expect((await answer(response)).results).toMatchObject([
      { index: 0, status: 'not_applied' },
      {
        index: 1,
        status: 'rejected',
        field: 'detail.currency',
        reason: 'detail.currency: EUR is not the program currency USD',
      },
    ]);
    expect(await profile('c-1')).toBeUndefined();
    expect(await profile('c-2')).toBeUndefined();
  });

  it('answers failed, to be sent again, for an event recorded but not published after retries', async () => {
    faults.putEvents = () => {
      throw new Error('EventBridge is unavailable');
    };
    const body = JSON.stringify(order('d-1', 'do-1'));
    const response = await post(body);
    expect(response.status).toBe(500);
    expect((await answer(response)).results[0]).toMatchObject({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(/^recorded, but publishing it to the flows failed/),
    });
    delete faults.putEvents;
    // Sent again under the same id: recorded once, and published this time.
    const again = await post(body, signatureHeader(runtime.apiKey, nowSeconds() + 1, body));
    expect(again.status).toBe(200);
    expect(await profile('d-1')).toMatchObject({ orderCount: 1 });
  });

  it('applies a batch of 100 events', async () => {
    const events = Array.from({ length: 100 }, (_, i) => registration(`e-${i}`));
    const response = await post(JSON.stringify({ events }));
    expect(response.status).toBe(200);
    const body = await answer(response);
    expect(body.accepted).toBe(100);
    expect(body.results.map((r) => r.index)).toEqual(events.map((_, i) => i));
    const profiles = await Promise.all(events.map((_, i) => profile(`e-${i}`)));
    expect(profiles.filter((p) => p?.email.endsWith('@example.com'))).toHaveLength(100);
  });

  it('refuses a batch of 101 events as a whole', async () => {
    const events = Array.from({ length: 101 }, (_, i) => registration(`f-${i}`));
    const response = await post(JSON.stringify({ events }));
    expect(response.status).toBe(400);
    expect((await refusal(response)).reason).toMatch(/^events: must hold at most 100 events \(got 101\)/);
    expect(await profile('f-0')).toBeUndefined();
  });

  it('refuses a body over 1 MB with 413', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });
    const response = await post(body);
    expect(response.status).toBe(413);
    expect((await refusal(response)).error).toBe('too_large');
  });

  it('answers 404 for a path it has no route for and 405 for a method the route does not take', async () => {
    const missing = await post('{}', undefined, 'v1/nothing');
    expect(missing.status).toBe(404);
    expect((await refusal(missing)).reason).toBe('path: no route /v1/nothing');
    const t = nowSeconds();
    const get = await fetch(url(), {
      headers: { 'rapport-signature': signatureHeader(runtime.apiKey, t, 'GET /v1/events') },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
  it('serves the storefront: points adjusted, a reward redeemed, its coupon marked used by the order that names it', async () => {
    // A read signs its method and path, as it has no body.
    const get = (path: string, signed = path) =>
      fetch(url(path), {
        headers: { 'rapport-signature': signatureHeader(runtime.apiKey, nowSeconds(), `GET /${signed}`) },
      });
    expect((await post(JSON.stringify(registration('s-1')))).status).toBe(200);
    const adjust = JSON.stringify({ points: 600, reason: 'Goodwill', actor: 'agent:kim', requestId: 't-1' });
    expect((await post(adjust, undefined, 'v1/customers/s-1/adjustments')).status).toBe(201);
    const redeem = JSON.stringify({ rewardId: 'five-off', requestId: 'r-1' });
    const redeemed = await post(redeem, undefined, 'v1/customers/s-1/redemptions');
    expect(redeemed.status).toBe(201);
    const { coupon } = z.object({ coupon: z.object({ code: z.string() }) }).parse(await redeemed.json());
    const checked = await get(`v1/coupons/${coupon.code}`);
    expect(await checked.json()).toMatchObject({ code: coupon.code, valid: true, customerId: 's-1' });
    // The same read again in the same second is answered; its signature is good for no other path.
    expect((await get(`v1/coupons/${coupon.code}`)).status).toBe(200);
    expect((await get('v1/customers/a-1/loyalty', `v1/coupons/${coupon.code}`)).status).toBe(401);

    const used = order('s-1', 'so-1', { discountCodes: [coupon.code.toLowerCase(), 'SHOP-OWN-10'] });
    expect((await answer(await post(JSON.stringify(used)))).results[0]?.status).toBe('accepted');
    const after = await get(`v1/coupons/${coupon.code}`);
    expect(await after.json()).toMatchObject({
      valid: false,
      reason: 'redeemed',
      redeemed: { orderId: 'so-1' },
    });
    const status = await get('v1/customers/s-1/loyalty');
    // 100 for signing up, 600 from customer service, 500 spent on the coupon.
    expect(await status.json()).toMatchObject({ points: { available: 200 } });
  });
});
