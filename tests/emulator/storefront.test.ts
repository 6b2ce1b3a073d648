import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import type { Clock, PublishedEvent } from '../../domain/ports.ts';
import { TABLE_DESIGN } from '../../domain/table-design.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import type { RouteResponse } from '../../functions/commons/http-route.ts';
import { createRuntime, type RuntimeDeps } from '../../functions/commons/runtime.ts';
import { storefrontRoutes } from '../../functions/storefront-routes.ts';
import { fromRoot } from '../../infra/paths.ts';
import { RapportFunction } from '../../infra/rapport-function.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { formatCustomer, readCustomer } from '../../local/customer-report.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningEmulator,
  startDynamoDbLocal,
} from '../../local/emulators.ts';
import { formatReconcile, reconcileTable } from '../../local/reconcile.ts';
import { eventFixture } from '../support/fixtures.ts';
import { LARGE_CATALOG_SIZE, workflowsWithLargeCatalog } from '../support/large-catalog.ts';
import { eventContext } from '../support/parse.ts';

// The storefront's routes called as the signed router calls them, with the real ports on DynamoDB
// Local and the shipped program; and the Storefront bundle, built as CDK builds it with a catalog
// of 60 rewards, run in a Node of its own: it parses the program it carries at cold start.

const DAY = 86_400_000;
const project = compileProject(readWorkflowSources());

const createStorefrontTable = (endpoint: string, tableName: string) =>
  createTable(endpoint, {
    TableName: tableName,
    KeySchema: [
      { AttributeName: TABLE_DESIGN.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_DESIGN.sortKey, KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: TABLE_DESIGN.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_DESIGN.sortKey, AttributeType: 'S' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  });

describe('the storefront routes on DynamoDB Local', () => {
  let dynamo: RunningEmulator;
  let deps: RuntimeDeps;
  let now = new Date('2026-03-10T15:00:00Z');
  const clock: Clock = { now: () => new Date(now), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  const published: PublishedEvent[] = [];
  const tableName = 'storefront';

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    await createStorefrontTable(dynamo.endpoint, tableName);
    deps = createRuntime(
      {
        TABLE_NAME: tableName,
        COUPON_KEY: 'a local coupon key that is long enough to sign with',
        RAPPORT_PROGRAM: JSON.stringify(project.program),
      },
      {
        dynamoDbEndpoint: dynamo.endpoint,
        clock,
        publisher: { publish: async (events) => void published.push(...events) },
      },
    );
  }, 60_000);
  afterAll(async () => dynamo?.stop());

  const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<RouteResponse> => {
    for (const route of storefrontRoutes) {
      if (route.method !== method) continue;
      const names: string[] = [];
      const pattern = new RegExp(
        `^${route.path.replace(/:(\w+)/g, (_, name: string) => {
          names.push(name);
          return '([^/]+)';
        })}$`,
      );
      const match = pattern.exec(path);
      if (!match) continue;
      const params = Object.fromEntries(
        names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]),
      );
      return route.handle({ params, query: {}, body, headers: {} }, deps);
    }
    throw new Error(`no storefront route for ${method} ${path}`);
  };
  const order = async (customerId: string, orderId: string, total: number) => {
    const event = eventFixture('order-placed');
    event.id = `event-${orderId}`;
    Object.assign(event.detail, { orderId, customerId, total, items: [], placedAt: now.toISOString() });
    await recordEvent(parseCommerceEvent(event, eventContext(now, project.program)), {
      ...deps,
      program: project.program,
    });
  };
  const advance = (days: number) => {
    now = new Date(now.getTime() + days * DAY);
  };
  const redeemWith = (customerId: string, rewardId: string, requestId: string) =>
    call('POST', `/v1/customers/${customerId}/redemptions`, { rewardId, requestId });

  it('shows a customer after two orders: matured points, silver, the way to gold and what they can buy', async () => {
    await order('s-1', 'so-1', 300);
    now = new Date(now.getTime() + 3_600_000);
    // Silver since the first order: the second earns 1.25 points a dollar.
    await order('s-1', 'so-2', 200);
    advance(31);

    const answer = await call('GET', '/v1/customers/s-1/loyalty');

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      customerId: 's-1',
      points: { available: 550, pending: 0, debt: 0 },
      tier: { id: 'silver', name: 'Silver' },
      nextTier: { id: 'gold', basis: 'spend', counted: 500, needed: 750, remaining: 250, currency: 'USD' },
      rewards: {
        redeemable: [{ id: 'five-off' }, { id: 'free-shipping' }],
        notYet: [
          { id: 'ten-percent', pointsShort: 450 },
          { id: 'gold-tote', pointsShort: 1950, tiers: ['gold'] },
        ],
      },
    });
  });

  it('answers 404 for a customer it does not know', async () => {
    const answer = await call('GET', '/v1/customers/nobody/loyalty');
    expect(answer).toEqual({
      status: 404,
      body: { error: 'NotFound', reason: 'customer nobody is not known' },
    });
  });

  it('redeems once for two requests with the same requestId: one coupon, one debit', async () => {
    const first = await redeemWith('s-1', 'five-off', 'rq-1');
    const again = await redeemWith('s-1', 'five-off', 'rq-1');

    expect(first).toMatchObject({ status: 201, body: { balance: 50, duplicate: false } });
    expect(again).toMatchObject({ status: 200, body: { balance: 50, duplicate: true } });
    const code = (first.body as { coupon: { code: string } }).coupon.code;
    expect((again.body as { coupon: { code: string } }).coupon.code).toBe(code);
    const redemptions = (await deps.store.ledger('s-1')).filter((e) => e.kind === 'redeem');
    expect(redemptions).toMatchObject([{ points: -500, couponCode: code }]);
    expect(published.filter((e) => e.detailType === 'points.redeemed')).toHaveLength(1);
  });

  it('refuses a redemption the customer is short for, with a reason, and writes nothing', async () => {
    const ledgerBefore = await deps.store.ledger('s-1');
    const couponsBefore = (await deps.store.customerData('s-1')).coupons.length;

    const answer = await redeemWith('s-1', 'free-shipping', 'rq-2');

    expect(answer).toEqual({
      status: 422,
      body: {
        error: 'InsufficientPointsError',
        reason: 'reward free-shipping costs 300 points and customer s-1 has 50 available',
        pointsShort: 250,
      },
    });
    expect(await deps.store.ledger('s-1')).toEqual(ledgerBefore);
    expect((await deps.store.customerData('s-1')).coupons).toHaveLength(couponsBefore);
  });

  it('refuses a body without its fields, naming the field', async () => {
    expect(await call('POST', '/v1/customers/s-1/redemptions', { rewardId: 'five-off' })).toMatchObject({
      status: 400,
      body: { field: 'body.requestId' },
    });
  });

  it('checks a coupon the redemption issued, as typed at checkout, and says 404 for an unknown one', async () => {
    const code = (await deps.store.ledger('s-1')).find((e) => e.kind === 'redeem')?.couponCode ?? '';

    const answer = await call('GET', `/v1/coupons/${encodeURIComponent(code.toLowerCase())}`);

    expect(answer).toMatchObject({
      status: 200,
      body: {
        code,
        valid: true,
        customerId: 's-1',
        discount: { kind: 'fixed_discount', amount: 5, currency: 'USD' },
        source: { rewardId: 'five-off' },
      },
    });
    expect(await call('GET', '/v1/coupons/RWD-NOSUCHCODE')).toEqual({
      status: 404,
      body: { code: 'RWD-NOSUCHCODE', valid: false, reason: 'unknown' },
    });
  });

  it('adjusts points once per requestId in an audited ledger row that `rapport customer` prints', async () => {
    const body = { points: 120, reason: 'Damaged parcel', actor: 'agent:kim', requestId: 'cs-1' };

    const first = await call('POST', '/v1/customers/s-1/adjustments', body);
    const again = await call('POST', '/v1/customers/s-1/adjustments', body);

    expect(first).toMatchObject({
      status: 201,
      body: {
        adjustment: { points: 120, reason: 'Damaged parcel', actor: 'agent:kim' },
        points: { available: 170 },
      },
    });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, points: { available: 170 } } });
    expect((await deps.store.ledger('s-1')).filter((e) => e.kind === 'adjust')).toMatchObject([
      { entryId: 'adjust:cs-1', points: 120, available: 120, reason: 'Damaged parcel', actor: 'agent:kim' },
    ]);
    const report = await readCustomer(
      { tableName, endpoint: dynamo.endpoint, region: LOCAL_REGION },
      's-1',
      project,
    );
    if (!report) throw new Error('rapport customer found no s-1');
    expect(formatCustomer(report).join('\n')).toMatch(/adjust\s+\+120 .*"Damaged parcel" by agent:kim/);
    // The books count it apart: balances still reconcile, and the report says what service gave.
    const books = await reconcileTable(
      {
        endpoint: dynamo.endpoint,
        tableName,
        credentials: LOCAL_CREDENTIALS,
        asOf: deps.clock.now().toISOString(),
      },
      project.program,
    );
    expect(books.mismatches).toEqual([]);
    expect(books.adjustments).toEqual({ count: 1, net: 120 });
    expect(formatReconcile(books)).toContain(
      '  points adjusted    +120 net in 1 customer-service adjustments',
    );
    expect(await call('POST', '/v1/customers/s-1/adjustments', { ...body, points: 0 })).toMatchObject({
      status: 400,
      body: { field: 'body.points', reason: 'body.points: must not be zero' },
    });
  });
});

describe('the Storefront bundle with a catalog of 60 rewards', () => {
  let dynamo: RunningEmulator;
  const scratch = fromRoot('.rapport');

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  }, 60_000);
  afterAll(async () => dynamo?.stop());

  it('parses the program it carries at cold start and answers with every reward', async () => {
    mkdirSync(scratch, { recursive: true });
    // Under the project, so the bundle finds the AWS SDK the Lambda runtime would provide.
    const dir = mkdtempSync(join(scratch, 'storefront-bundle-'));
    try {
      const program = compileProject(readWorkflowSources(workflowsWithLargeCatalog(dir))).program;
      const app = new App({ outdir: join(dir, 'cdk.out') });
      new RapportFunction(new Stack(app, 'Bundle'), 'Storefront', {
        entry: 'functions/storefront.ts',
        environment: { TABLE_NAME: 'bundle' },
        program,
      });
      app.synth();
      const asset = readdirSync(join(dir, 'cdk.out')).find((name) => name.startsWith('asset.'));
      await createStorefrontTable(dynamo.endpoint, 'bundle');
      const deps = createRuntime(
        { TABLE_NAME: 'bundle', RAPPORT_PROGRAM: JSON.stringify(program) },
        { dynamoDbEndpoint: dynamo.endpoint },
      );
      const event = eventFixture('order-placed');
      await recordEvent(parseCommerceEvent(event, eventContext(new Date(), program)), { ...deps, program });

      const script = `
        const { handler } = await import(process.env.BUNDLE);
        const context = { awsRequestId: 'r-1', functionName: 'Storefront', getRemainingTimeInMillis: () => 10000 };
        const answer = await handler({ action: 'status', customerId: 'c-42' }, context);
        process.stdout.write('\\nANSWER ' + JSON.stringify(answer) + '\\n');`;
      const out = execFileSync(fromRoot('node_modules/.bin/node'), ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          BUNDLE: join(dir, 'cdk.out', asset ?? '', 'index.mjs'),
          TABLE_NAME: 'bundle',
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        },
      });
      const answer = JSON.parse(out.split('\nANSWER ')[1] ?? 'null') as {
        ok: boolean;
        rewards: { redeemable: unknown[]; notYet: unknown[] };
      };

      expect(answer.ok).toBe(true);
      expect(answer.rewards.redeemable.length + answer.rewards.notYet.length).toBe(LARGE_CATALOG_SIZE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
