import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-journey-store.ts';
import { fromRoot } from '../../infra/paths.ts';
import { type CapturedEmail, LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// Every shipped flow, driven by events on the local stack; waits resolve on the virtual clock,
// which jumps from one due wait to the next.

const DAY = 86_400_000;
const START = Date.parse('2026-01-05T08:00:00Z'); // a Monday

describe('the shipped flows on the local stack', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;
  let store: DynamoDbStore;

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-flows'),
      clock: new VirtualClock(START),
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
    // The deployed sweeper starts its cursors at deploy time.
    await runtime.sweep();
  });
  afterAll(async () => {
    server?.close();
    events?.destroy();
    await runtime?.stop();
  });

  const now = () => runtime.clock.now().toISOString();
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
  const register = (customerId: string, extra: Record<string, unknown> = {}) =>
    put('customer.registered', {
      version: 1,
      customerId,
      email: `${customerId}@example.com`,
      name: `Casey ${customerId}`,
      registeredAt: now(),
      marketingConsent: true,
      ...extra,
    });
  let orders = 0;
  const order = (customerId: string, total = 30) =>
    put('order.placed', {
      version: 1,
      orderId: `o-${++orders}`,
      customerId,
      email: `${customerId}@example.com`,
      name: `Casey ${customerId}`,
      currency: 'USD',
      total,
      items: [{ sku: 'CD-1', name: 'Kind of Blue', quantity: 1, unitPrice: total }],
      placedAt: now(),
      marketingConsent: true,
    });
  const advance = (days: number) => runtime.advanceTo(new Date(runtime.clock.now().getTime() + days * DAY));
  const mails = async (customerId: string): Promise<CapturedEmail[]> =>
    (await readInbox(runtime.ses.endpoint)).filter((m) =>
      m.destination.to.includes(`${customerId}@example.com`),
    );
  /** Subjects of one customer's emails from one flow, told apart by the flow's subject lines. */
  const subjects = async (customerId: string, pattern: RegExp) =>
    (await mails(customerId)).map((m) => m.subject).filter((subject) => pattern.test(subject));
  const WIN_BACK = /miss you|Last chance/;
  /** A journey is named by its trigger event: read it from the first execution of the flow. */
  const journeyOf = async (machine: string, flowId: string, customerId: string) => {
    const first = runtime.executions.find(
      (e) => e.machine.startsWith(machine) && JSON.stringify(e.input).includes(`"${customerId}"`),
    );
    const journeyId =
      (first?.input as { detail?: { meta?: { eventId?: string } } } | undefined)?.detail?.meta?.eventId ?? '';
    return store.getJourney(customerId, flowId, journeyId);
  };
  const paths = (flow: string, customerId: string) =>
    runtime.executions
      .filter((e) => e.machine.startsWith(flow) && JSON.stringify(e.input).includes(`"${customerId}"`))
      .map((e) => e.path);

  describe('welcome series', () => {
    it('welcomes at sign-up and sends a first-order coupon three days later to who has not ordered', async () => {
      await register('w-1');
      expect((await mails('w-1')).map((m) => m.subject)).toEqual(['Welcome to Rapport Rewards, Casey']);
      await advance(3.1);
      const sent = await mails('w-1');
      expect(sent.map((m) => m.subject)).toEqual([
        'Welcome to Rapport Rewards, Casey',
        'Casey, 10% off your first order',
      ]);
      expect(sent[1]?.body.text).toMatch(
        /10% off your first order with code WELCOME-[A-Z2-9]{5}-[A-Z2-9]{5}, valid until January 22, 2026/,
      );
      expect(paths('FlowWelcome', 'w-1').at(-1)).toEqual([
        'Start',
        'Resume',
        'Active?',
        'Dispatch',
        'ordered-yet',
        'first-order-coupon',
        'first-order-offer',
        'Complete',
        'Done',
      ]);
    });

    it("honours the shop's opt-out of one topic for a journey already waiting, and only that topic", async () => {
      await register('w-c');
      await advance(1);
      await put('customer.consent-changed', {
        version: 1,
        customerId: 'w-c',
        changedAt: now(),
        consent: { promotions: false },
      });
      await advance(2.1);
      // The welcome (loyalty) went; the first-order offer (promotions) waited three days and is skipped.
      expect(await subjects('w-c', /Welcome|first order/)).toEqual(['Welcome to Rapport Rewards, Casey']);
      const profile = await store.getProfile('w-c');
      expect(profile?.consent?.promotions).toMatchObject({ granted: false, source: 'shop' });
      expect(profile?.consent?.['*']).toMatchObject({ granted: true, source: 'registration' });
      const offer = runtime.executions
        .filter((e) => e.machine.startsWith('FlowWelcome') && JSON.stringify(e.input).includes('"w-c"'))
        .at(-1);
      expect(JSON.stringify(offer?.output)).toMatch(
        /"status":"skipped","reason":"opted out of promotions \(shop, /,
      );
    });

    it('sends no coupon to a customer who ordered in the meantime, tags them and records the goal', async () => {
      await register('w-2');
      await advance(1);
      await order('w-2');
      await advance(2.1);
      expect(await subjects('w-2', /Welcome|first order/)).toEqual(['Welcome to Rapport Rewards, Casey']);
      const profile = await store.getProfile('w-2');
      expect(profile?.tags).toEqual({ 'welcome-converted': true });
      const journey = await journeyOf('FlowWelcome', 'welcome', 'w-2');
      expect(journey).toMatchObject({ status: 'completed', convertedAt: expect.any(String) });
    });

    it('never welcomes the same customer twice', async () => {
      await register('w-3');
      await register('w-3');
      expect(await mails('w-3')).toHaveLength(1);
    });
  });

  describe('win-back', () => {
    it('sends a coupon after 113 days without an order and a last chance 7 days later', async () => {
      await order('b-1');
      await advance(112);
      expect(await subjects('b-1', WIN_BACK)).toEqual([]);
      await advance(1.5);
      const afterCoupon = (await mails('b-1')).filter((m) => WIN_BACK.test(m.subject));
      expect(afterCoupon.at(-1)?.subject).toBe('We miss you, Casey: 15% off to come back');
      const code = /COMEBACK-[A-Z2-9]{5}-[A-Z2-9]{5}/.exec(afterCoupon.at(-1)?.body.text ?? '')?.[0];
      expect(code).toBeDefined();
      await advance(7.5);
      const last = (await mails('b-1')).filter((m) => WIN_BACK.test(m.subject)).at(-1);
      expect(last?.subject).toBe('Last chance, Casey: your 15% code expires soon');
      expect(last?.body.text).toContain(code);
      expect(paths('FlowWinBack', 'b-1').at(-1)).toEqual([
        'Start',
        'Resume',
        'Active?',
        'Dispatch',
        'last-chance',
        'Complete',
        'Done',
      ]);
    });

    it('ends the wait early when the customer orders, and sends no last chance', async () => {
      await order('b-2');
      await advance(114);
      expect(await subjects('b-2', WIN_BACK)).toEqual(['We miss you, Casey: 15% off to come back']);
      await advance(2);
      await order('b-2');
      await advance(10);
      expect(await subjects('b-2', WIN_BACK)).toEqual(['We miss you, Casey: 15% off to come back']);
      expect((await store.getProfile('b-2'))?.tags).toEqual({ 'won-back': true });
      expect(paths('FlowWinBack', 'b-2').at(-1)).toEqual([
        'Start',
        'Resume',
        'Active?',
        'Dispatch',
        'won-back',
        'Complete',
        'Done',
      ]);
      expect(await journeyOf('FlowWinBack', 'win-back', 'b-2')).toMatchObject({
        status: 'completed',
        convertedAt: expect.any(String),
      });
    });

    it('leaves alone a customer who ordered again before 113 days', async () => {
      await order('b-3');
      await advance(100);
      await order('b-3');
      await advance(20);
      expect(await subjects('b-3', WIN_BACK)).toEqual([]);
      expect(await subjects('b-3', /Thank you/)).toHaveLength(2);
    });
  });

  describe('birthday reward', () => {
    it('gives 200 points and a card at 09:00 on the birthday in the customer own time zone', async () => {
      const today = runtime.clock.now();
      const birthday = new Date(today.getTime() + 10 * DAY).toISOString().slice(5, 10);
      await register('d-1', { birthday: `1990-${birthday}`, timeZone: 'Asia/Tokyo' });
      await advance(9);
      expect((await mails('d-1')).map((m) => m.subject)).not.toContain(
        'Happy birthday, Casey! 200 points for you',
      );
      await advance(2);
      const card = (await mails('d-1')).find(
        (m) => m.subject === 'Happy birthday, Casey! 200 points for you',
      );
      // 100 sign-up points (program.yaml awards.signup) and the 200 of the birthday.
      expect(card?.body.text).toContain('your balance is now 300');
      expect((await store.getProfile('d-1'))?.pointsBalance).toBe(300);
      expect((await store.ledger('d-1')).map((e) => [e.ruleId, e.points])).toEqual([
        ['signup-bonus', 100],
        ['birthday-gift', 200],
      ]);
      const flow = runtime.executions.find(
        (e) => e.machine.startsWith('FlowBirthday') && JSON.stringify(e.input).includes('d-1'),
      );
      // 09:00 in Tokyo is 00:00 UTC.
      expect((flow?.input as { time?: string } | undefined)?.time).toBe(
        `${new Date(today.getTime() + 10 * DAY).toISOString().slice(0, 10)}T00:00:00Z`,
      );
    });
  });

  describe('review request', () => {
    it('asks 14 days after an order, on the next weekday at 10:00 local time', async () => {
      await register('r-1', { timeZone: 'Europe/Paris' });
      await order('r-1');
      await advance(13);
      expect((await mails('r-1')).map((m) => m.subject)).not.toContain('How was your order, Casey?');
      await advance(4);
      const ask = (await mails('r-1')).find((m) => m.subject === 'How was your order, Casey?');
      expect(ask?.body.text).toContain('you ordered Kind of Blue');
      // Three segments: from the order, after 14 days, and from the weekday-morning wait, which was
      // due at 10:00 in Paris (09:00 UTC in winter).
      const segments = runtime.executions.filter(
        (e) => e.machine.startsWith('FlowReviewRequest') && JSON.stringify(e.input).includes('"r-1"'),
      );
      expect(segments.map((e) => e.path.at(-1)).sort()).toEqual([
        'Done',
        'settle:parked',
        'weekday-morning:parked',
      ]);
      const parked = segments.find((e) => e.path.at(-1) === 'weekday-morning:parked')?.output as {
        steps: Record<string, { dueAt: string }>;
      };
      const dueAt = new Date(parked.steps['weekday-morning']?.dueAt ?? 0);
      expect(dueAt.toISOString()).toMatch(/T09:00:00\.000Z$/);
      expect([1, 2, 3, 4, 5]).toContain(dueAt.getUTCDay());
    });

    it('does not ask when the order was refunded in the meantime', async () => {
      await order('r-2');
      const placed = orders;
      await advance(3);
      await put('order.refunded', {
        version: 1,
        refundId: 'rf-1',
        orderId: `o-${placed}`,
        customerId: 'r-2',
        currency: 'USD',
        amount: 30,
        refundedAt: now(),
      });
      await advance(15);
      expect((await mails('r-2')).map((m) => m.subject)).not.toContain('How was your order, Casey?');
      // The refund ended the journey and took its wait: it never resumed.
      expect(paths('FlowReviewRequest', 'r-2')).toEqual([
        ['Start', 'Normalize', 'LoadProfile', 'Enter', 'Entered?', 'settle', 'settle:parked'],
      ]);
    });
  });
});
