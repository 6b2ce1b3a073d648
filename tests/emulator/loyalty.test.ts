import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileAsOf } from '../../domain/customer.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-journey-store.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { reconcileTable } from '../../local/reconcile.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// The shipped loyalty program on the local stack: pending points mature on the virtual clock,
// rewards are redeemed through the deployed Storefront function, tiers change and their flows mail,
// points expire after a warning, and reconcile finds every balance equal to its ledger.

const DAY = 86_400_000;
const START = Date.parse('2026-02-02T15:00:00Z');

describe('the loyalty program on the local stack', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;
  let store: DynamoDbStore;
  const program = compileProject(readWorkflowSources()).program;

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-loyalty'),
      clock: new VirtualClock(START),
      onlyFlows: ['tier-upgrade', 'points-expiring'],
    });
    const endpoint = await startEventsEndpoint(runtime);
    server = endpoint.server;
    events = new EventBridgeClient({
      endpoint: endpoint.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    store = new DynamoDbStore(
      new DynamoDBClient({
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      runtime.names.tableName,
    );
  });
  afterAll(async () => {
    server?.close();
    events?.destroy();
    await runtime?.stop();
  });

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
  let orders = 0;
  const order = (customerId: string, total: number) =>
    put('order.placed', {
      version: 1,
      orderId: `o-${++orders}`,
      customerId,
      email: `${customerId}@example.com`,
      name: `Robin ${customerId}`,
      currency: 'USD',
      total,
      items: [{ sku: 'CD-1', quantity: 1, unitPrice: total }],
      placedAt: runtime.clock.now().toISOString(),
      marketingConsent: true,
    });
  const advance = (days: number) => runtime.advanceTo(new Date(runtime.clock.now().getTime() + days * DAY));
  const redeem = (customerId: string, rewardId: string, requestId: string) =>
    runtime.invoke('Storefront', { action: 'redeem', customerId, rewardId, requestId }) as Promise<
      | { ok: true; coupon: { code: string }; balance: number; duplicate: boolean }
      | { ok: false; error: string; reason: string }
    >;
  /** The profile as flows and templates see it now: maturity and expiry derived on read. */
  const shown = async (customerId: string) => {
    const profile = await store.getProfile(customerId);
    return profile && profileAsOf(profile, runtime.clock.now());
  };
  const subjects = async (customerId: string) =>
    (await readInbox(runtime.ses.endpoint))
      .filter((m) => m.destination.to.includes(`${customerId}@example.com`))
      .map((m) => m.subject);

  it('keeps an order’s points pending for the return window, then makes them spendable', async () => {
    await order('l-1', 120.5);
    expect(await store.getProfile('l-1')).toMatchObject({ pointsBalance: 0, pointsPending: 120 });
    expect(await redeem('l-1', 'five-off', 'req-early')).toMatchObject({
      ok: false,
      error: 'InsufficientPointsError',
      reason: 'reward five-off costs 500 points and customer l-1 has 0 available',
    });
    await advance(31);
    expect(await shown('l-1')).toMatchObject({ pointsBalance: 120, pointsPending: 0 });
    // No sweep came for the maturity: a read derives it, and the next settlement writes it down.
    expect((await store.ledger('l-1')).map((e) => e.kind)).toEqual(['earn']);
  });

  it('upgrades to silver the moment spend crosses 250, mails the welcome, and earns 1.25x from then on', async () => {
    await order('l-2', 200);
    expect((await store.getProfile('l-2'))?.tier).toBeUndefined();
    await order('l-2', 60);
    expect((await store.getProfile('l-2'))?.tier).toBe('silver');
    expect(await subjects('l-2')).toEqual(['Welcome to Silver, Robin!']);
    await order('l-2', 100);
    const earn = (await store.ledger('l-2')).filter((e) => e.kind === 'earn').at(-1);
    expect(earn?.rules).toEqual([
      { id: 'base-earn', version: 1, points: 100 },
      { id: 'tier-silver', version: 1, points: 25 },
    ]);
  });

  it('redeems a reward once per request through the Storefront function, with a unique coupon', async () => {
    await order('l-3', 640);
    await advance(31);
    const first = await redeem('l-3', 'five-off', 'req-1');
    const again = await redeem('l-3', 'five-off', 'req-1');
    const second = await redeem('l-3', 'free-shipping', 'req-2');
    expect(first).toMatchObject({ ok: true, status: 201, balance: 140, duplicate: false });
    expect(again).toMatchObject({ ok: true, status: 200, duplicate: true });
    expect(first.ok && again.ok && first.coupon.code === again.coupon.code).toBe(true);
    expect(second).toMatchObject({ ok: false, error: 'InsufficientPointsError' });
    expect((await shown('l-3'))?.pointsBalance).toBe(140);
    expect(await redeem('l-3', 'gold-tote', 'req-3')).toMatchObject({
      ok: false,
      error: 'RewardNotAllowedError',
    });
  });

  it('warns 30 days before points expire, mails the reminder once, and expires them a year after they matured', async () => {
    await order('l-4', 80);
    await advance(31 + 365 - 30 + 1);
    expect(await subjects('l-4')).toEqual([`Robin, 80 of your points expire on ${await expiresOn('l-4')}`]);
    expect((await shown('l-4'))?.pointsBalance).toBe(80);
    // The warning's visit wrote the account alone (its lot marked warned), no entry; the
    // maturity and the expiry bring no sweep: the next write of the account settles them.
    expect((await store.ledger('l-4')).map((e) => e.kind)).toEqual(['earn']);
    await advance(30);
    expect((await shown('l-4'))?.pointsBalance).toBe(0);
    expect(await subjects('l-4')).toHaveLength(1);
  });

  it('finds every balance equal to its ledger over the whole table', async () => {
    const report = await reconcileTable(
      {
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        tableName: runtime.names.tableName,
        asOf: runtime.clock.now().toISOString(),
      },
      program,
    );
    expect(report.mismatches).toEqual([]);
    // By now every lot has expired: l-1 120, l-2 200 + 60 + 125, l-3 640 − 500 redeemed, l-4 80.
    expect(report.points).toMatchObject({ redeemed: 500, expired: 120 + 385 + 140 + 80, available: 0 });
    expect(report.redemptions).toBe(1);
  });

  const expiresOn = async (customerId: string) =>
    (await store.getProfile(customerId))?.points?.lots[0]?.expiresAt?.slice(0, 10);
});
