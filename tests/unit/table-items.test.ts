import { describe, expect, it } from 'vitest';
import { emptyAccount } from '../../domain/loyalty/account.ts';
import { keys } from '../../domain/table-design.ts';
import { ITEM_KINDS, type ItemKind, parseItem, storedAccount } from '../../functions/adapters/table-items.ts';

// Every item kind the stores write, as the document client returns it, and the one field each
// cannot do without: parseItem must read the first and name the second when it is wrong.

const customer = keys.customer('c-1');
const at = '2026-03-01T10:00:00.000Z';
const account = {
  ...emptyAccount(),
  pending: 40,
  earned: 40,
  lots: [
    {
      id: 'pending:2026-03-31',
      points: 40,
      remaining: 40,
      status: 'pending' as const,
      earnedAt: at,
      maturesAt: '2026-03-31T10:00:00.000Z',
    },
  ],
};

const samples: Record<ItemKind, { raw: Record<string, unknown>; field: string; broken: unknown }> = {
  profile: {
    raw: {
      pk: customer,
      sk: keys.profile,
      type: 'profile',
      customerId: 'c-1',
      email: 'ada@example.com',
      name: 'Ada',
      createdAt: at,
      version: 3,
      points: storedAccount(account),
    },
    field: 'version',
    broken: 'three',
  },
  order: {
    raw: {
      pk: customer,
      sk: keys.order('o-1'),
      type: 'order',
      customerId: 'c-1',
      orderId: 'o-1',
      eventId: 'e-1',
      currency: 'USD',
      totalMinor: 4050,
      refundedMinor: 0,
      placedAt: at,
      pointsAwarded: 40,
      pointsReversed: 0,
    },
    field: 'totalMinor',
    broken: '40.50',
  },
  'order-owner': {
    raw: {
      pk: keys.orderRef('o-1'),
      sk: keys.orderOwner,
      type: 'order-owner',
      orderId: 'o-1',
      customerId: 'c-1',
      waiting: true,
    },
    field: 'waiting',
    broken: 'yes',
  },
  'pending-event': {
    raw: {
      pk: keys.orderRef('o-1'),
      sk: keys.pendingEvent('order.refunded:r-1'),
      type: 'pending-event',
      orderId: 'o-1',
      factKey: 'order.refunded:r-1',
      envelope: { id: 'e-2', 'detail-type': 'order.refunded', source: 'shop', detail: { refundId: 'r-1' } },
      receivedAt: at,
    },
    field: 'receivedAt',
    broken: 7,
  },
  ledger: {
    raw: {
      pk: customer,
      sk: keys.ledger('earn:order:o-1'),
      type: 'ledger',
      entryId: 'earn:order:o-1',
      customerId: 'c-1',
      kind: 'earn',
      points: 40,
      pending: 40,
      available: 0,
      debt: 0,
      ruleId: 'base-earn',
      ruleVersion: 1,
      eventId: 'e-1',
      at,
    },
    field: 'kind',
    broken: 'gift',
  },
  send: {
    raw: {
      pk: customer,
      sk: keys.send('welcome#e-1#mail'),
      type: 'send',
      customerId: 'c-1',
      key: 'welcome#e-1#mail',
      templateId: 'welcome',
      at,
      status: 'sent',
      messageId: 'm-1',
    },
    field: 'status',
    broken: 'lost',
  },
  pacing: {
    raw: {
      pk: customer,
      sk: keys.pacing,
      type: 'pacing',
      version: 2,
      sends: [{ key: 'welcome#e-1#mail', at }],
      holds: [{ key: 'win-back#e-2#mail', priority: 1, since: at, until: at }],
    },
    field: 'version',
    broken: 'two',
  },
  coupon: {
    raw: {
      pk: customer,
      sk: keys.coupon('SAVE10'),
      type: 'coupon',
      customerId: 'c-1',
      code: 'SAVE10',
      rewardId: 'ten-off',
      requestId: 'r-1',
      kind: 'fixed_discount',
      amount: 10,
      cost: 500,
      issuedAt: at,
      expiresAt: '2026-06-01T00:00:00.000Z',
      ttl: 1_790_000_000,
    },
    field: 'cost',
    broken: 'five hundred',
  },
  'coupon-code': {
    raw: {
      pk: keys.couponCode('SAVE10'),
      sk: keys.couponCodeItem,
      type: 'coupon-code',
      code: 'SAVE10',
      customerId: 'c-1',
      owner: 'reward:r-1',
      ttl: 1_790_000_000,
    },
    field: 'owner',
    broken: 7,
  },
  date: {
    raw: {
      pk: customer,
      sk: keys.date('birthday'),
      type: 'date',
      customerId: 'c-1',
      timeZone: 'Europe/London',
      gsi1pk: keys.indexDate('birthday', '12-10'),
      gsi1sk: 'c-1',
    },
    field: 'customerId',
    broken: undefined,
  },
  'points-due': {
    raw: { pk: customer, sk: keys.pointsDue, type: 'points-due', customerId: 'c-1', dueAt: at, version: 4 },
    field: 'version',
    broken: undefined,
  },
  activity: {
    raw: { pk: customer, sk: keys.activity, type: 'activity', customerId: 'c-1', lastOrderAt: at },
    field: 'lastOrderAt',
    broken: 12,
  },
  'erasure-receipt': {
    raw: {
      pk: customer,
      sk: keys.erasureReceipt,
      type: 'erasure-receipt',
      customerId: 'c-1',
      requestId: 'r-1',
      requestedAt: at,
      startedAt: at,
      completedAt: at,
      erased: { profile: 1, wait: 1 },
      kept: ['order', 'ledger'],
      deadLetters: { removed: 2 },
    },
    field: 'erased',
    broken: 'everything',
  },

  journey: {
    raw: {
      pk: customer,
      sk: keys.journey('welcome', 'j-1'),
      type: 'journey',
      customerId: 'c-1',
      flowId: 'welcome',
      journeyId: 'j-1',
      revision: 'r1',
      status: 'active',
      enteredAt: at,
      triggerEventId: 'e-1',
      exitOn: [],
      buckets: {},
    },
    field: 'status',
    broken: 'paused',
  },
  wait: {
    raw: {
      pk: customer,
      sk: keys.wait('welcome', 'j-1'),
      type: 'wait',
      customerId: 'c-1',
      flowId: 'welcome',
      journeyId: 'j-1',
      revision: 'r1',
      stepId: 'wait-3-days',
      dueAt: at,
      targets: { elapsed: 'mail' },
      context: { trigger: {}, steps: {} },
      status: 'waiting',
    },
    field: 'dueAt',
    broken: undefined,
  },
  'flow-memory': {
    raw: {
      pk: customer,
      sk: keys.flowMemory('welcome'),
      type: 'flow-memory',
      entries: 2,
      lastEnteredAt: at,
    },
    field: 'entries',
    broken: 'two',
  },
  'flow-counter': {
    raw: { pk: keys.flowCounter('welcome'), sk: keys.flowCounterItem, type: 'flow-counter', active: 3 },
    field: 'active',
    broken: 'three',
  },
  cursor: {
    raw: { pk: keys.customer(keys.cursor), sk: 'schedule:weekly', type: 'cursor', value: at },
    field: 'value',
    broken: undefined,
  },
  'timer-index': {
    raw: {
      pk: keys.customer(keys.cursor),
      sk: keys.timerIndexState,
      type: 'timer-index',
      fingerprint: 'abc',
      recheck: { fingerprint: 'def', shard: 2 },
    },
    field: 'recheck.shard',
    broken: 'two',
  },
  'reputation-hour': {
    raw: {
      pk: keys.reputation('example.com'),
      sk: keys.reputationHour('2026-03-01T10'),
      type: 'reputation-hour',
      identity: 'example.com',
      hour: '2026-03-01T10',
      sends: 250,
      bounces: 3,
      ttl: 1_773_000_000,
    },
    field: 'sends',
    broken: 'many',
  },
  'ses-feedback': {
    raw: {
      pk: keys.reputation('example.com'),
      sk: keys.sesFeedback('Bounce#m-1'),
      type: 'ses-feedback',
      identity: 'example.com',
      eventKey: 'Bounce#m-1',
      at: '2026-03-01T10',
    },
    field: 'eventKey',
    broken: 7,
  },
  'sending-pause': {
    raw: {
      pk: keys.sending,
      sk: keys.sendingPause('example.com'),
      type: 'sending-pause',
      identity: 'example.com',
      status: 'paused',
      at,
      reason: 'bounce rate 5.00% (10 of 200) >= 4.00%',
    },
    field: 'status',
    broken: 'halted',
  },
  'request-seen': {
    raw: {
      pk: keys.request('9f86d081'),
      sk: keys.requestSeen,
      type: 'request-seen',
      seenAt: at,
      ttl: 1772360000,
    },
    field: 'ttl',
    broken: 'soon',
  },
};

const withField = (raw: Record<string, unknown>, path: string, value: unknown) => {
  const copy = structuredClone(raw);
  const names = path.split('.');
  const last = names.pop() ?? '';
  let target: Record<string, unknown> = copy;
  for (const name of names) target = target[name] as Record<string, unknown>;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
};

describe('the table items', () => {
  it('has a sample of every declared kind', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(ITEM_KINDS).sort());
  });

  it.each(Object.entries(samples))('reads a %s item as its kind, with its key parts', (kind, { raw }) => {
    const read = parseItem(raw);
    expect(read).toMatchObject({ kind, key: { pk: raw.pk, sk: raw.sk } });
  });

  it.each(Object.entries(samples))(
    'reports a malformed %s item with its kind and the field that is wrong',
    (kind, { raw, field, broken }) => {
      const read = parseItem(withField(raw, field, broken));
      expect(read.kind).toBe('invalid');
      if (read.kind !== 'invalid') return;
      expect(read.of).toBe(kind);
      expect(read.issues.map((i) => i.field)).toEqual([field]);
      expect(read.reason).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
    },
  );

  it('decodes the compact points account of a profile', () => {
    const read = parseItem(samples.profile.raw);
    if (read.kind !== 'profile') throw new Error(`read as ${read.kind}`);
    expect(read.item.points?.lots).toEqual(account.lots);
    expect(read.item.points?.pending).toBe(40);
  });

  it('names the parts of the key its pattern declares', () => {
    const wait = parseItem(samples.wait.raw);
    expect(wait.kind === 'wait' && wait.parts).toEqual({
      customerId: 'c-1',
      flowId: 'welcome',
      journeyId: 'j-1',
    });
    const send = parseItem(samples.send.raw);
    expect(send.kind === 'send' && send.parts).toEqual({ customerId: 'c-1', key: 'welcome#e-1#mail' });
  });

  it('reads a journey coupon as a coupon too, and names the field of the closest coupon shape', () => {
    const journeyCoupon = {
      pk: customer,
      sk: keys.coupon('WELCOME-X'),
      type: 'coupon',
      customerId: 'c-1',
      code: 'WELCOME-X',
      flowId: 'welcome',
      journeyId: 'j-1',
      stepId: 'coupon',
      discount: { percent: 10 },
      issuedAt: at,
      expiresAt: at,
    };
    expect(parseItem(journeyCoupon)).toMatchObject({ kind: 'coupon', item: { flowId: 'welcome' } });
    expect(parseItem({ ...journeyCoupon, stepId: 4 })).toMatchObject({
      kind: 'invalid',
      of: 'coupon',
      issues: [{ field: 'stepId' }],
    });
  });

  it('knows a flow counter written before counters had a type by its key', () => {
    const { type: _, ...untyped } = samples['flow-counter'].raw;
    expect(parseItem(untyped)).toMatchObject({ kind: 'flow-counter', item: { active: 3 } });
  });

  it('refuses an item whose key does not follow its kind, naming the key', () => {
    const read = parseItem({ ...samples.order.raw, sk: 'LEDGER#o-1' });
    expect(read).toMatchObject({ kind: 'invalid', of: 'order', issues: [{ field: 'sk' }] });
  });

  it('reports an item of no declared kind, or without keys, as unknown with the reason', () => {
    expect(parseItem({ pk: customer, sk: 'NEW#1', type: 'novelty' })).toMatchObject({
      kind: 'unknown',
      type: 'novelty',
      reason: 'no item kind "novelty"',
    });
    expect(parseItem({ pk: customer, sk: 'NEW#1' })).toMatchObject({ kind: 'unknown', reason: 'no type' });
    expect(parseItem({ sk: 'x', type: 'order' })).toMatchObject({
      kind: 'unknown',
      reason: 'no string pk and sk',
    });
  });
});
