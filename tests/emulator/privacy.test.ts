import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { TransientError } from '../../domain/errors.ts';
import { adjustPoints } from '../../domain/use-cases/storefront.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-journey-store.ts';
import { ERASED_REASON } from '../../functions/adapters/dynamodb-privacy-store.ts';
import type { RuntimeDeps } from '../../functions/commons/runtime.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { reconcileTable } from '../../local/reconcile.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// Privacy requests on the local stack: a customer who registered (with consent, a birthday and a
// time zone), got a welcome email and a first-order coupon, ordered (a thank-you, a review request
// waiting two weeks) and sent one broken order (dead-lettered), asks for their data and then to be
// forgotten. The erasure's first attempt crashes half-way; the retry must finish it.

const DAY = 86_400_000;
const START = Date.parse('2026-03-02T15:00:00Z');
const outputDir = fromRoot('.rapport/test-privacy');
const EMAIL = 'ada@example.com';
const NAME = 'Ada Lovelace';
const BIRTHDAY = '1990-12-10';
const ZONE = 'Europe/London';

describe('privacy requests on the local stack', () => {
  let runtime: LocalRapport;
  let doc: DynamoDBDocumentClient;
  const project = compileProject(readWorkflowSources());
  let crashes = 0;

  const put = async (type: string, detail: Record<string, unknown>) => {
    runtime.putEvents([
      {
        Source: 'my.shop',
        DetailType: type,
        Detail: JSON.stringify(detail),
        EventBusName: runtime.names.eventBusName,
      },
    ]);
    await runtime.drain();
  };
  const now = () => runtime.clock.now().toISOString();
  const order = (orderId: string, total: number | undefined) =>
    put('order.placed', {
      version: 1,
      orderId,
      customerId: 'c-1',
      email: EMAIL,
      name: NAME,
      currency: 'USD',
      total,
      items: [{ sku: 'CD-1', quantity: 1, unitPrice: total ?? 1 }],
      placedAt: now(),
    });
  /** Every item of the table as DynamoDB holds it, every attribute (no schema drops any). */
  const rawItems = async () => {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateScan({ client: doc }, { TableName: runtime.names.tableName }))
      items.push(...(page.Items ?? []));
    return items;
  };
  const reconcile = () =>
    reconcileTable(
      {
        endpoint: runtime.dynamo.endpoint,
        tableName: runtime.names.tableName,
        credentials: LOCAL_CREDENTIALS,
        asOf: now(),
      },
      project.program,
    );
  // A crash of the ingest function half-way through the erasure: the profile is erased, the rest not yet.
  const crashOnce = (deps: RuntimeDeps): RuntimeDeps => {
    const store = Object.create(deps.store) as RuntimeDeps['store'];
    store.erasePersonalItems = async (customerId) => {
      if (crashes++ === 0) throw new TransientError('injected: the function died half-way');
      return deps.store.erasePersonalItems(customerId);
    };
    return { ...deps, store };
  };

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      outputDir,
      clock: new VirtualClock(START),
      onlyFlows: ['welcome', 'thank-you', 'review-request'],
      decorate: crashOnce,
    });
    doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    // Prepare
    await put('customer.registered', {
      version: 1,
      customerId: 'c-1',
      email: EMAIL,
      name: NAME,
      registeredAt: now(),
      birthday: BIRTHDAY,
      timeZone: ZONE,
      marketingConsent: true,
    });
    // No order in three days: the welcome flow issues a first-order coupon.
    await runtime.advanceTo(new Date(START + 3.5 * DAY));
    await order('o-1', 80);
    await order('o-broken', undefined);
    // Customer service noted why it gave points, in words that name her.
    await adjustPoints(
      'c-1',
      { points: 50, reason: 'Ada Lovelace rang: parcel lost', actor: 'agent:kim', requestId: 't-1' },
      { store: runtime.store(), clock: runtime.clock, program: project.program },
    );
    await runtime.advanceTo(new Date(START + 4 * DAY));
  }, 300_000);
  afterAll(async () => {
    doc?.destroy();
    await runtime?.stop();
  });

  it('has the customer’s data everywhere before the requests', async () => {
    const text = JSON.stringify(await rawItems());
    expect(text).toContain(EMAIL);
    expect(text).toMatch(/"type":"coupon"/);
    expect(text).toMatch(/"type":"wait"/);
    expect(readFileSync(`${outputDir}/rejected.ndjson`, 'utf8')).toContain(EMAIL);
  });

  it('exports the customer’s profile, points, ledger, orders, sends, journeys and coupons as a JSON file and mails the link', async () => {
    // Act
    await put('customer.export-requested', {
      version: 1,
      customerId: 'c-1',
      requestId: 'x-1',
      requestedAt: now(),
    });
    // Assess
    const file = `${runtime.exportsDir}/c-1/x-1.json`;
    const exported = z
      .looseObject({
        profile: z.looseObject({
          email: z.string(),
          name: z.string(),
          birthday: z.string(),
          timeZone: z.string(),
        }),
        consent: z.record(z.string(), z.looseObject({ granted: z.boolean(), source: z.string() })),
        points: z.looseObject({ lifetime: z.number() }),
        ledger: z.array(z.looseObject({ entryId: z.string() })),
        orders: z.array(z.looseObject({ orderId: z.string(), totalMinor: z.number() })),
        sends: z.array(z.looseObject({ templateId: z.string() })),
        journeys: z.array(z.looseObject({ flowId: z.string(), waiting: z.array(z.unknown()) })),
        coupons: z.array(z.looseObject({ code: z.string() })),
      })
      .parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(exported.profile).toMatchObject({ email: EMAIL, name: NAME, birthday: BIRTHDAY, timeZone: ZONE });
    expect(exported.consent['*']).toMatchObject({ granted: true, source: 'registration' });
    expect(exported.orders).toEqual([expect.objectContaining({ orderId: 'o-1', totalMinor: 8000 })]);
    expect(exported.points.lifetime).toBeGreaterThan(0);
    expect(exported.ledger.map((e) => e.entryId)).toContain('earn:order:o-1');
    expect(exported.sends.map((s) => s.templateId)).toEqual(
      expect.arrayContaining(['welcome', 'welcome-offer', 'thank-you']),
    );
    expect(exported.journeys.find((j) => j.flowId === 'review-request')?.waiting).toHaveLength(1);
    expect(exported.coupons).toHaveLength(1);
    const mail = (await readInbox(runtime.ses.endpoint)).filter((m) => m.subject === 'Your data export');
    expect(mail).toHaveLength(1);
    expect(mail[0]?.destination.to).toEqual([EMAIL]);
    expect(mail[0]?.body.text).toContain('x-1.json');
  });

  it('erases every personal datum of the customer from the table and the dead letters, finishing after a crash half-way', async () => {
    const before = await reconcile();
    // Act
    await put('customer.erasure-requested', {
      version: 1,
      customerId: 'c-1',
      requestId: 'e-1',
      requestedAt: now(),
    });
    // Assess: the first attempt crashed, the retry finished.
    expect(crashes).toBe(2);
    const items = await rawItems();
    const text = JSON.stringify(items);
    for (const personal of [EMAIL, 'Ada', 'Lovelace', BIRTHDAY, 'DATE#', ZONE])
      expect(text).not.toContain(personal);
    const ofCustomer = items.filter((item) => String(item.pk).startsWith('CUSTOMER#c-1'));
    expect(ofCustomer.map((item) => item.type)).not.toContain('wait');
    expect(ofCustomer.map((item) => item.type)).not.toContain('date');
    const profile = ofCustomer.find((item) => item.type === 'profile');
    expect(profile).toMatchObject({ email: '', name: '', erasedAt: expect.any(String) });
    for (const field of ['birthday', 'timeZone', 'asOf', 'attributes', 'tags', 'consent', 'marketingConsent'])
      expect(profile).not.toHaveProperty(field);
    expect(ofCustomer.filter((item) => item.type === 'journey').map((item) => item.status)).not.toContain(
      'active',
    );
    expect(readFileSync(`${outputDir}/rejected.ndjson`, 'utf8')).not.toContain(EMAIL);
    expect(runtime.deadLetters.filter((d) => JSON.stringify(d).includes(EMAIL))).toEqual([]);
    // The books: orders and ledger stay, and reconcile to the same figures; the adjustment keeps
    // its points and who made it, not the words.
    expect(ofCustomer.filter((item) => item.type === 'order')).toHaveLength(1);
    expect(ofCustomer.find((item) => item.entryId === 'adjust:t-1')).toMatchObject({
      points: 50,
      actor: 'agent:kim',
      reason: ERASED_REASON,
    });
    const after = await reconcile();
    expect(after.mismatches).toEqual([]);
    expect(after.points).toEqual(before.points);
  });

  it('writes a receipt that names what it erased and holds no personal data', async () => {
    const receipt = (await rawItems()).find((item) => item.type === 'erasure-receipt');
    expect(receipt).toMatchObject({
      customerId: 'c-1',
      requestId: 'e-1',
      completedAt: expect.any(String),
      erased: expect.objectContaining({ wait: 1, date: 2, 'dead-letter': 1, 'adjustment-reason': 1 }),
      deadLetters: { removed: 1 },
    });
    expect(JSON.stringify(receipt)).not.toMatch(/@|Ada|Lovelace/);
  });

  it('counts a later order for the books without bringing back the address, the name or consent, and mails nothing', async () => {
    const sent = (await readInbox(runtime.ses.endpoint)).length;
    // Act
    await order('o-2', 20);
    await put('customer.registered', {
      version: 1,
      customerId: 'c-1',
      email: EMAIL,
      name: NAME,
      registeredAt: now(),
      birthday: BIRTHDAY,
      marketingConsent: true,
    });
    await put('customer.consent-changed', {
      version: 1,
      customerId: 'c-1',
      changedAt: now(),
      consent: { promotions: true },
    });
    await runtime.advanceTo(new Date(START + 30 * DAY));
    // Assess
    const items = await rawItems();
    expect(JSON.stringify(items)).not.toMatch(/ada@example\.com|Lovelace|1990-12-10|DATE#/);
    const profile = items.find((item) => item.pk === 'CUSTOMER#c-1' && item.type === 'profile');
    expect(profile).toMatchObject({ email: '', name: '', orderCount: 2, lifetimeSpendMinor: 10_000 });
    expect(profile).not.toHaveProperty('consent');
    expect((await readInbox(runtime.ses.endpoint)).length).toBe(sent);
    expect((await reconcile()).mismatches).toEqual([]);
  });

  it('sweeps again on a repeated request: a wait parked by a continuation in flight during the erasure goes too', async () => {
    // Prepare: the race the first erasure cannot close, a flow step that checked its journey
    // before the erasure ended it and parks its wait after.
    const store = new DynamoDbStore(
      new DynamoDBClient({
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      runtime.names.tableName,
    );
    await store.putWait({
      customerId: 'c-1',
      flowId: 'review-request',
      journeyId: 'late',
      revision: 'r',
      stepId: 'settle',
      dueAt: new Date(START + 60 * DAY).toISOString(),
      targets: { elapsed: 'ask' },
      context: { trigger: { email: EMAIL, name: NAME }, steps: {} },
      status: 'waiting',
    });
    expect(JSON.stringify(await rawItems())).toContain(EMAIL);
    // Act
    await put('customer.erasure-requested', {
      version: 1,
      customerId: 'c-1',
      requestId: 'e-2',
      requestedAt: now(),
    });
    // Assess: the first receipt stays, with the late wait counted on it.
    const items = await rawItems();
    expect(JSON.stringify(items)).not.toContain(EMAIL);
    const receipts = items.filter((item) => item.type === 'erasure-receipt');
    expect(receipts).toEqual([
      expect.objectContaining({ requestId: 'e-1', erased: expect.objectContaining({ wait: 2 }) }),
    ]);
  });
});
