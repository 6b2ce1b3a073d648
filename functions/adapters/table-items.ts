import { type DynamoDBDocumentClient, paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { CONSENT_SOURCES, type ConsentMap, type ConsentSource } from '#domain/consent.ts';
import { couponDiscountSchema, rewardDiscountSchema } from '#domain/discounts.ts';
import type { PointsAccount } from '#domain/loyalty/account.ts';
import { keys, TABLE_DESIGN } from '#domain/table-design.ts';

// Every kind of item the table holds, declared once: its `type`, its key pattern (built from the
// table design's own key functions) and the zod schema it is read with. The adapters read and write
// through these schemas; the local replay, simulate, reconcile and `rapport customer` read the table
// through parseItem, scanItems and customerItems, so a new kind or field is added in one place.

const optionalString = z.string().optional();

// ---- the points account ------------------------------------------------------------------------

// The account is stored as one compact JSON string (decision 35): lots as tuples with times in
// base-36 epoch milliseconds, qualifying amounts as a map of day to amount. A third of the bytes of
// DynamoDB maps, which repeat every attribute name in every lot, so a typical profile stays under
// the 1 KB that one write unit buys.
const time36 = z
  .string()
  .regex(/^[0-9a-z]{1,10}$/)
  .transform((t) => new Date(Number.parseInt(t, 36)).toISOString());
const toTime36 = (iso: string) => Date.parse(iso).toString(36);
const lotSchema = z
  .tuple([
    z.string(),
    z.number(),
    z.number(),
    z.enum(['p', 'a']),
    time36,
    time36.nullable(),
    time36.nullable(),
    z.number(),
  ])
  .transform(([id, points, remaining, status, earnedAt, maturesAt, expiresAt, warned]) => ({
    id: id.replace(/^</, 'pending:').replace(/^>/, 'expires:'),
    points,
    remaining,
    status: status === 'p' ? ('pending' as const) : ('available' as const),
    earnedAt,
    ...(maturesAt ? { maturesAt } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(warned ? { warned: true } : {}),
  }));
const lotTuple = (lot: PointsAccount['lots'][number]) => [
  lot.id.replace(/^pending:/, '<').replace(/^expires:/, '>'),
  lot.points,
  lot.remaining,
  lot.status === 'pending' ? 'p' : 'a',
  toTime36(lot.earnedAt),
  lot.maturesAt ? toTime36(lot.maturesAt) : null,
  lot.expiresAt ? toTime36(lot.expiresAt) : null,
  lot.warned ? 1 : 0,
];
const count = z.number().default(0);
const day36 = z
  .string()
  .regex(/^[0-9a-z]{1,5}$/)
  .transform((d) => new Date(Number.parseInt(d, 36) * 86_400_000).toISOString().slice(0, 10));
const toDay36 = (day: string) => (Date.parse(`${day}T00:00:00Z`) / 86_400_000).toString(36);
/** The stored form: short keys, zero counters left out, times in base 36 (see the comment above). */
const accountObject = z
  .object({
    p: count,
    a: count,
    d: count,
    e: count,
    r: count,
    x: count,
    v: count,
    f: count,
    l: z.array(lotSchema).default([]),
    q: z.record(day36, z.number()).default({}),
    t: z.tuple([z.string(), time36, time36.nullable(), time36.nullable(), z.string().nullable()]).optional(),
    la: time36.optional(),
    iw: time36.optional(),
    dy: z.tuple([z.string(), z.number()]).optional(),
    n: z.number().optional(),
    o: z
      .array(
        z.object({
          detailType: z.enum(['points.expiring', 'customer.tier-changed', 'points.redeemed']),
          time: z.string(),
          detail: z.looseObject({ customerId: z.string(), meta: z.object({ eventId: z.string() }) }),
        }),
      )
      .default([]),
  })
  .transform(
    (s): PointsAccount => ({
      pending: s.p,
      available: s.a,
      debt: s.d,
      earned: s.e,
      redeemed: s.r,
      expired: s.x,
      reversed: s.v,
      forgiven: s.f,
      lots: s.l,
      qualifying: Object.entries(s.q)
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([id, amount]) => ({ id, amount })),
      ...(s.t && {
        tier: {
          id: s.t[0],
          since: s.t[1],
          ...(s.t[2] ? { reviewAt: s.t[2] } : {}),
          ...(s.t[3] ? { downgradeAt: s.t[3] } : {}),
          ...(s.t[4] ? { downgradeTo: s.t[4] } : {}),
        },
      }),
      ...(s.la ? { lastActivityAt: s.la } : {}),
      ...(s.iw ? { inactivityWarned: s.iw } : {}),
      ...(s.dy ? { day: { date: s.dy[0], points: s.dy[1] } } : {}),
      ...(s.n ? { settlements: s.n } : {}),
      outbox: s.o,
    }),
  );
export const accountSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'points: not JSON' });
      return z.NEVER;
    }
  })
  .pipe(accountObject);

/** The account as stored: the inverse of accountSchema. */
export const storedAccount = (account: PointsAccount): string => {
  const nonZero = (n: number) => (n === 0 ? undefined : n);
  const tier = account.tier;
  return JSON.stringify({
    p: nonZero(account.pending),
    a: nonZero(account.available),
    d: nonZero(account.debt),
    e: nonZero(account.earned),
    r: nonZero(account.redeemed),
    x: nonZero(account.expired),
    v: nonZero(account.reversed),
    f: nonZero(account.forgiven),
    l: account.lots.length > 0 ? account.lots.map(lotTuple) : undefined,
    q:
      account.qualifying.length > 0
        ? Object.fromEntries(account.qualifying.map((q) => [toDay36(q.id), q.amount]))
        : undefined,
    t: tier && [
      tier.id,
      toTime36(tier.since),
      tier.reviewAt ? toTime36(tier.reviewAt) : null,
      tier.downgradeAt ? toTime36(tier.downgradeAt) : null,
      tier.downgradeTo ?? null,
    ],
    la: account.lastActivityAt && toTime36(account.lastActivityAt),
    iw: account.inactivityWarned && toTime36(account.inactivityWarned),
    dy: account.day && [account.day.date, account.day.points],
    n: account.settlements,
    o: account.outbox.length > 0 ? account.outbox : undefined,
  });
};

/**
 * When each contact field was set, as one string `e<time>,n<time>,...` (a letter per field). A time
 * in canonical form (`toISOString`) is written in base 36, any other as `=` and its exact text, so
 * what reads back is the very text that was written and compares as it did (decision 35).
 */
const FIELD_LETTERS = {
  email: 'e',
  name: 'n',
  // Read only: profiles written before consent per topic kept the marketing flag's time here.
  marketingConsent: 'm',
  timeZone: 't',
  birthday: 'b',
} as const;
type TimedField = keyof typeof FIELD_LETTERS;
const TIMED_FIELDS = Object.keys(FIELD_LETTERS) as TimedField[];
const exactTime = (text: string): string => {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && new Date(ms).toISOString() === text ? ms.toString(36) : `=${text}`;
};
const fieldTimes = z.string().transform((text, ctx) => {
  const times: Partial<Record<TimedField, string>> = {};
  for (const part of text ? text.split(',') : []) {
    const field = TIMED_FIELDS.find((f) => FIELD_LETTERS[f] === part[0]);
    const value = part.slice(1);
    if (!field || (!value.startsWith('=') && !/^[0-9a-z]{1,10}$/.test(value))) {
      ctx.addIssue({ code: 'custom', message: `asOf: "${part}" is not a field and a time` });
      return z.NEVER;
    }
    times[field] = value.startsWith('=')
      ? value.slice(1)
      : new Date(Number.parseInt(value, 36)).toISOString();
  }
  return times;
});
export const storedTimes = (times: Partial<Record<TimedField, string | undefined>>): string =>
  TIMED_FIELDS.flatMap((field) => {
    const at = times[field];
    return at ? [`${FIELD_LETTERS[field]}${exactTime(at)}`] : [];
  }).join(',');

/**
 * Consent per topic as one string `topic:<1|0><source letter><time>,...`, times as in asOf: the map
 * of maps DynamoDB would store repeats three attribute names per topic.
 */
const SOURCE_LETTERS: Record<ConsentSource, string> = {
  registration: 'r',
  order: 'o',
  shop: 's',
  'preference-page': 'p',
  unsubscribe: 'u',
  complaint: 'c',
};
const sourceOfLetter = new Map(CONSENT_SOURCES.map((source) => [SOURCE_LETTERS[source], source]));
const consentString = z.string().transform((text, ctx) => {
  const consent: ConsentMap = {};
  for (const part of text ? text.split(',') : []) {
    const colon = part.indexOf(':');
    const topic = part.slice(0, colon);
    const [granted, letter] = [part[colon + 1], part[colon + 2]];
    const source = letter === undefined ? undefined : sourceOfLetter.get(letter);
    const at = part.slice(colon + 3);
    if (colon < 1 || (granted !== '1' && granted !== '0') || !source || at === '') {
      ctx.addIssue({ code: 'custom', message: `consent: "${part}" is not a topic, a consent and a time` });
      return z.NEVER;
    }
    consent[topic] = {
      granted: granted === '1',
      source,
      at: at.startsWith('=') ? at.slice(1) : new Date(Number.parseInt(at, 36)).toISOString(),
    };
  }
  return consent;
});
export const storedConsent = (consent: ConsentMap): string =>
  Object.entries(consent)
    .map(([topic, c]) => `${topic}:${c.granted ? 1 : 0}${SOURCE_LETTERS[c.source]}${exactTime(c.at)}`)
    .join(',');

/** Profile fields stored in a form of their own; every other field is stored as it is. */
export const storedProfileValue = (field: string, value: unknown): unknown => {
  if (field === 'asOf' && typeof value === 'object' && value !== null) return storedTimes(value);
  if (field === 'consent' && typeof value === 'object' && value !== null)
    return storedConsent(value as ConsentMap);
  return value;
};

export const profileItem = z
  .object({
    customerId: z.string(),
    email: z.string(),
    name: z.string(),
    createdAt: z.string(),
    registeredAt: optionalString,
    timeZone: optionalString,
    birthday: optionalString,
    // Profiles written before consent per topic had one flag for every marketing topic.
    marketingConsent: z.boolean().optional(),
    consent: z.string().pipe(consentString).optional(),
    suppression: z.object({ reason: z.enum(['hard-bounce', 'complaint']), at: z.string() }).optional(),
    erasedAt: optionalString,
    asOf: z.string().pipe(fieldTimes).optional(),
    orderCount: z.number().default(0),
    lifetimeSpendMinor: z.number().default(0),
    refundedMinor: z.number().default(0),
    firstOrderAt: optionalString,
    lastOrderAt: optionalString,
    pointsBalance: z.number().default(0),
    pointsPending: z.number().optional(),
    pointsDebt: z.number().optional(),
    lifetimePoints: z.number().default(0),
    tier: optionalString,
    points: accountSchema.optional(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    tags: z.record(z.string(), z.boolean()).optional(),
    version: z.number(),
  })
  .transform(({ marketingConsent, ...profile }) => ({
    ...profile,
    consent:
      profile.consent ??
      (marketingConsent === undefined
        ? undefined
        : {
            '*': {
              granted: marketingConsent,
              at: profile.asOf?.marketingConsent ?? profile.createdAt,
              source: 'registration' as const,
            },
          }),
  }))
  // The figures flows and templates read are the account's, not stored beside it (bytes: a
  // profile under 1 KB costs one write unit); a profile with no account shows none.
  .transform((profile) =>
    profile.points
      ? {
          ...profile,
          pointsBalance: profile.points.available,
          pointsPending: profile.points.pending,
          pointsDebt: profile.points.debt,
          lifetimePoints: profile.points.earned,
          tier: profile.points.tier?.id ?? profile.tier,
        }
      : profile,
  );
export const orderItem = z.object({
  customerId: z.string(),
  orderId: z.string(),
  eventId: z.string(),
  currency: z.string(),
  totalMinor: z.number(),
  refundedMinor: z.number(),
  placedAt: z.string(),
  pointsAwarded: z.number(),
  pointsReversed: z.number(),
  cancelledAt: z.string().optional(),
});
/** Who owns an order (by order id alone), and whether an event waits for it. */
export const orderOwnerItem = z.object({
  orderId: z.string(),
  customerId: z.string().optional(),
  waiting: z.boolean().optional(),
});
/** A refund or cancellation that outran its order: the envelope to ingest again when it lands. */
export const pendingEventItem = z.object({
  orderId: z.string(),
  factKey: z.string(),
  envelope: z.object({
    id: z.string(),
    'detail-type': z.string(),
    source: z.string(),
    detail: z.unknown(),
  }),
  receivedAt: z.string(),
});
export const ledgerItem = z.object({
  entryId: z.string(),
  customerId: z.string(),
  kind: z.enum(['earn', 'bonus', 'reverse', 'mature', 'redeem', 'expire', 'adjust']),
  points: z.number(),
  pending: z.number(),
  available: z.number(),
  debt: z.number(),
  forgiven: z.number().optional(),
  ruleId: z.string(),
  ruleVersion: z.number(),
  rules: z.array(z.object({ id: z.string(), version: z.number(), points: z.number() })).optional(),
  lotId: optionalString,
  lots: z.array(z.object({ id: z.string(), points: z.number() })).optional(),
  orderId: optionalString,
  refundId: optionalString,
  rewardId: optionalString,
  couponCode: optionalString,
  flowId: optionalString,
  // A customer-service adjustment (kind `adjust`): why, and who made it.
  reason: optionalString,
  actor: optionalString,
  eventId: z.string(),
  at: z.string(),
});
export const sendItem = z.object({
  customerId: z.string(),
  key: z.string(),
  templateId: z.string(),
  at: z.string(),
  status: z.enum(['sending', 'sent', 'failed', 'skipped', 'deferred', 'dropped']),
  messageId: optionalString,
  reason: optionalString,
  code: z
    .enum([
      'no-consent',
      'opted-out',
      'suppressed',
      'erased',
      'paused',
      'quiet-hours',
      'cap',
      'stale',
      'rejected',
    ])
    .optional(),
  until: optionalString,
  firstAt: optionalString,
  deferrals: z.number().int().nonnegative().optional(),
});
/** One customer's recent marketing sends and messages waiting for a frequency cap. */
export const pacingItem = z.object({
  version: z.number().int().nonnegative(),
  sends: z.array(z.object({ key: z.string(), at: z.string() })),
  holds: z.array(z.object({ key: z.string(), priority: z.number(), since: z.string(), until: z.string() })),
});
/** When a coupon was used, and by which order: set once, by the first order that names its code. */
const couponRedeemed = { redeemedAt: optionalString, redeemedOrderId: optionalString };
/** A coupon a reward redemption bought with points. */
export const rewardCouponItem = z.object({
  customerId: z.string(),
  code: z.string(),
  rewardId: z.string(),
  requestId: z.string(),
  ...rewardDiscountSchema.shape,
  cost: z.number(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  ...couponRedeemed,
});
/** A coupon a journey's coupon step issued. */
export const journeyCouponItem = z.object({
  customerId: z.string(),
  code: z.string(),
  flowId: z.string(),
  journeyId: z.string(),
  stepId: z.string(),
  discount: couponDiscountSchema,
  issuedAt: z.string(),
  expiresAt: z.string(),
  ...couponRedeemed,
});
const couponCodeItem = z.object({ code: z.string(), customerId: z.string(), owner: z.string() });
const dateItem = z.object({ customerId: z.string(), timeZone: optionalString });
export const dueItem = z.object({ customerId: z.string(), dueAt: z.string() });
const pointsDueItem = dueItem.extend({ version: z.number() });
const activityItem = z.object({ customerId: z.string(), lastOrderAt: z.string() });

export const erasureReceiptItem = z.object({
  customerId: z.string(),
  requestId: z.string(),
  requestedAt: z.string(),
  startedAt: z.string(),
  completedAt: optionalString,
  erased: z.record(z.string(), z.number()),
  kept: z.array(z.string()),
  deadLetters: z
    .union([z.object({ removed: z.number() }), z.object({ retainedUntil: z.string(), where: z.string() })])
    .optional(),
});

// ---- journeys, flows and the sweeper ------------------------------------------------------------

const listen = z.object({ event: z.string(), where: z.record(z.string(), z.unknown()).optional() });
export const journeyItem = z.object({
  customerId: z.string(),
  flowId: z.string(),
  journeyId: z.string(),
  revision: z.string(),
  status: z.enum(['active', 'completed', 'exited', 'holdout']),
  enteredAt: z.string(),
  triggerEventId: z.string(),
  endedAt: z.string().optional(),
  exitOn: z.array(listen),
  goal: listen.extend({ deadline: z.string() }).optional(),
  convertedAt: z.string().optional(),
  buckets: z.record(z.string(), z.number()),
  capped: z.boolean().default(false),
});
export const waitItem = z.object({
  customerId: z.string(),
  flowId: z.string(),
  journeyId: z.string(),
  revision: z.string(),
  stepId: z.string(),
  dueAt: z.string(),
  listen: listen.optional(),
  targets: z.object({
    elapsed: z.string().optional(),
    event: z.string().optional(),
    timeout: z.string().optional(),
  }),
  context: z.object({ trigger: z.unknown(), steps: z.unknown() }),
  status: z.enum(['waiting', 'resuming']),
  outcome: z.enum(['elapsed', 'event', 'timeout']).optional(),
  claimedAt: z.string().optional(),
});
export const memoryItem = z.object({
  entries: z.number(),
  lastEnteredAt: z.string().optional(),
  activeJourneyId: z.string().optional(),
});
const flowCounterItem = z.object({ active: z.number().default(0) });
export const cursorItem = z
  .object({
    value: z.string(),
    failing: z.object({ eventId: z.string(), attempts: z.number().int() }).optional(),
  })
  .transform(({ value, failing }) => ({ at: value, failing }));
export const timerIndexItem = z.object({
  fingerprint: optionalString,
  recheck: z
    .object({ fingerprint: z.string(), shard: z.number().int(), after: dueItem.optional() })
    .optional(),
});

// ---- sender reputation ----------------------------------------------------------------------------

export const reputationHourItem = z.object({
  identity: z.string(),
  hour: z.string(),
  sends: count,
  bounces: count,
  complaints: count,
});
export const sesFeedbackItem = z.object({ identity: z.string(), eventKey: z.string(), at: z.string() });
export const sendingPauseItem = z.object({
  identity: z.string(),
  status: z.enum(['paused', 'resumed']),
  at: z.string(),
  reason: z.string(),
  resumedAt: optionalString,
});

// ---- the signed API ------------------------------------------------------------------------------

/** A signed request the API took: a second one with the same signed content is a replay. */
export const requestSeenItem = z.object({ seenAt: z.string(), ttl: z.number().int() });

// ---- the kinds ----------------------------------------------------------------------------------

/** A key pattern: `{name}` marks a part (built by calling the table design's key function with it). */
const part = (name: string) => `{${name}}`;
const customerPk = keys.customer(part('customerId'));
const sweepPk = keys.customer(keys.cursor);

/**
 * Every item kind: the `type` attribute it is written with is its name. Its key pattern documents
 * the data model and is checked on read, so an item under the wrong key is reported, not trusted.
 */
export const ITEM_KINDS = {
  profile: { pk: customerPk, sk: keys.profile, schema: profileItem },
  order: { pk: customerPk, sk: keys.order(part('orderId')), schema: orderItem },
  ledger: { pk: customerPk, sk: keys.ledger(part('entryId')), schema: ledgerItem },
  send: { pk: customerPk, sk: keys.send(part('key')), schema: sendItem },
  pacing: { pk: customerPk, sk: keys.pacing, schema: pacingItem },
  // Both kinds of coupon are stored as `coupon`: a redemption's and a journey step's.
  coupon: {
    pk: customerPk,
    sk: keys.coupon(part('code')),
    schema: z.union([rewardCouponItem, journeyCouponItem]),
  },
  'coupon-code': { pk: keys.couponCode(part('code')), sk: keys.couponCodeItem, schema: couponCodeItem },
  'order-owner': { pk: keys.orderRef(part('orderId')), sk: keys.orderOwner, schema: orderOwnerItem },
  'pending-event': {
    pk: keys.orderRef(part('orderId')),
    sk: keys.pendingEvent(part('factKey')),
    schema: pendingEventItem,
  },
  date: { pk: customerPk, sk: keys.date(part('field')), schema: dateItem },
  'points-due': { pk: customerPk, sk: keys.pointsDue, schema: pointsDueItem },
  activity: { pk: customerPk, sk: keys.activity, schema: activityItem },
  'erasure-receipt': { pk: customerPk, sk: keys.erasureReceipt, schema: erasureReceiptItem },
  journey: { pk: customerPk, sk: keys.journey(part('flowId'), part('journeyId')), schema: journeyItem },
  wait: { pk: customerPk, sk: keys.wait(part('flowId'), part('journeyId')), schema: waitItem },
  'flow-memory': { pk: customerPk, sk: keys.flowMemory(part('flowId')), schema: memoryItem },
  // Counters written before they had a `type` are known by their key (untyped: true).
  'flow-counter': {
    pk: keys.flowCounter(part('flowId')),
    sk: keys.flowCounterItem,
    schema: flowCounterItem,
    untyped: true,
  },
  cursor: { pk: sweepPk, sk: part('name'), schema: cursorItem },
  'timer-index': { pk: sweepPk, sk: keys.timerIndexState, schema: timerIndexItem },
  'reputation-hour': {
    pk: keys.reputation(part('identity')),
    sk: keys.reputationHour(part('hour')),
    schema: reputationHourItem,
  },
  'ses-feedback': {
    pk: keys.reputation(part('identity')),
    sk: keys.sesFeedback(part('eventKey')),
    schema: sesFeedbackItem,
  },
  'sending-pause': { pk: keys.sending, sk: keys.sendingPause(part('identity')), schema: sendingPauseItem },
  'request-seen': { pk: keys.request(part('digest')), sk: keys.requestSeen, schema: requestSeenItem },
} as const;

export type ItemKind = keyof typeof ITEM_KINDS;
export type ItemOf<K extends ItemKind> = z.output<(typeof ITEM_KINDS)[K]['schema']>;
export interface ItemKey {
  pk: string;
  sk: string;
}

/** An item read as its kind, with its key and the parts its key pattern names. */
export type TableItem = {
  [K in ItemKind]: { kind: K; item: ItemOf<K>; key: ItemKey; parts: Record<string, string> };
}[ItemKind];
/** An item of no declared kind, or with no key at all. */
export interface UnknownItem {
  kind: 'unknown';
  key: ItemKey;
  type: string | undefined;
  reason: string;
}
/** An item of a declared kind that does not parse as it: `reason` names the fields. */
export interface InvalidItem {
  kind: 'invalid';
  of: ItemKind;
  key: ItemKey;
  issues: { field: string; message: string }[];
  reason: string;
}
export type ParsedItem = TableItem | UnknownItem | InvalidItem;

const literal = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
/** Parts before the last are ids without '#'; the last may hold one (a send key does). */
const patternOf = (template: string): RegExp => {
  const pieces = template.split(/(\{\w+\})/).filter((piece) => piece !== '');
  const last = pieces.findLastIndex((piece) => piece.startsWith('{'));
  const source = pieces
    .map((piece, i) => {
      const name = /^\{(\w+)\}$/.exec(piece)?.[1];
      if (name === undefined) return literal(piece);
      return i === last ? `(?<${name}>.+)` : `(?<${name}>[^#]+)`;
    })
    .join('');
  return new RegExp(`^${source}$`);
};
const KINDS = Object.entries(ITEM_KINDS).map(([kind, entry]) => ({
  kind: kind as ItemKind, // Object.entries widens the keys of a literal it was given
  entry,
  pk: patternOf(entry.pk),
  sk: patternOf(entry.sk),
}));
const byType = new Map(KINDS.map((k) => [k.kind as string, k]));

const itemHead = z.object({
  [TABLE_DESIGN.partitionKey]: z.string(),
  [TABLE_DESIGN.sortKey]: z.string(),
  type: z.string().optional(),
});

/** The issues of a zod error as fields; of a union, those of the branch that came closest. */
export const issuesOf = (issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []) =>
  issues.flatMap((issue): { field: string; message: string }[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      return issuesOf(closest, path);
    }
    return [{ field: path.map(String).join('.') || '(item)', message: issue.message }];
  });

/** One raw item (as the document client returns it) read as its kind, or why it cannot be. */
export const parseItem = (raw: Record<string, unknown>): ParsedItem => {
  const head = itemHead.safeParse(raw);
  const key = {
    pk: typeof raw[TABLE_DESIGN.partitionKey] === 'string' ? String(raw[TABLE_DESIGN.partitionKey]) : '',
    sk: typeof raw[TABLE_DESIGN.sortKey] === 'string' ? String(raw[TABLE_DESIGN.sortKey]) : '',
  };
  if (!head.success) return { kind: 'unknown', key, type: undefined, reason: 'no string pk and sk' };
  const { type } = head.data;
  const match =
    type === undefined
      ? KINDS.find((k) => 'untyped' in k.entry && k.pk.test(key.pk) && k.sk.test(key.sk))
      : byType.get(type);
  if (!match)
    return {
      kind: 'unknown',
      key,
      type,
      reason: type === undefined ? 'no type' : `no item kind "${type}"`,
    };
  const invalid = (issues: { field: string; message: string }[]): InvalidItem => ({
    kind: 'invalid',
    of: match.kind,
    key,
    issues,
    reason: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
  });
  const pk = match.pk.exec(key.pk);
  const sk = match.sk.exec(key.sk);
  if (!pk || !sk)
    return invalid([
      {
        field: pk ? TABLE_DESIGN.sortKey : TABLE_DESIGN.partitionKey,
        message: `a ${match.kind} is keyed ${match.entry.pk} / ${match.entry.sk}`,
      },
    ]);
  const parsed = match.entry.schema.safeParse(raw);
  if (!parsed.success) return invalid(issuesOf(parsed.error.issues));
  // The kind and its schema's output belong together by construction of KINDS.
  return { kind: match.kind, item: parsed.data, key, parts: { ...pk.groups, ...sk.groups } } as TableItem;
};

/** An item the store needed that does not parse: corrupt data, not worth a retry. */
export class UnreadableItemError extends Error {
  override readonly name = 'UnreadableItemError';
  constructor(readonly item: UnknownItem | InvalidItem) {
    super(describeUnreadable(item));
  }
}

/** A message for an item that could not be read: its kind (if known), its key and the reason. */
export const describeUnreadable = (item: UnknownItem | InvalidItem): string =>
  `${item.kind === 'invalid' ? item.of : 'item'} ${item.key.pk} ${item.key.sk}: ${item.reason}`;

// ---- reading the table ---------------------------------------------------------------------------

export interface ScanOptions {
  /** Parallel scan segments (DynamoDB's TotalSegments); pages arrive as each segment yields them. */
  segments?: number;
  consistentRead?: boolean;
  pageSize?: number;
}

async function* scanSegment(
  doc: DynamoDBDocumentClient,
  tableName: string,
  segment: number,
  options: ScanOptions,
): AsyncGenerator<ParsedItem[]> {
  const segments = options.segments ?? 1;
  for await (const page of paginateScan(
    { client: doc, ...(options.pageSize ? { pageSize: options.pageSize } : {}) },
    {
      TableName: tableName,
      ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}),
      ...(options.consistentRead ? { ConsistentRead: true } : {}),
    },
  ))
    yield (page.Items ?? []).map(parseItem);
}

/** The whole table, page by page, every item parsed; segments are read in parallel. */
export async function* scanItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: ScanOptions = {},
): AsyncGenerator<ParsedItem[]> {
  const segments = Array.from({ length: options.segments ?? 1 }, (_, segment) =>
    scanSegment(doc, tableName, segment, options),
  );
  const next = (i: number) => segments[i]!.next().then((result) => ({ i, result }));
  const pending = new Map(segments.map((_, i) => [i, next(i)]));
  try {
    while (pending.size > 0) {
      const { i, result } = await Promise.race(pending.values());
      if (result.done) pending.delete(i);
      else {
        pending.set(i, next(i));
        yield result.value;
      }
    }
  } finally {
    // Stopped early or failed: the other segments' pages in flight are no longer wanted.
    for (const page of pending.values()) page.catch(() => undefined);
    await Promise.allSettled(segments.map((segment) => segment.return(undefined)));
  }
}

/** Every item of one customer's partition, page by page, every item parsed. */
export async function* customerItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  customerId: string,
  options: { consistentRead?: boolean; pageSize?: number | undefined } = {},
): AsyncGenerator<ParsedItem[]> {
  for await (const page of paginateQuery(
    { client: doc, ...(options.pageSize ? { pageSize: options.pageSize } : {}) },
    {
      TableName: tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE_DESIGN.partitionKey },
      ExpressionAttributeValues: { ':pk': keys.customer(customerId) },
      ConsistentRead: options.consistentRead ?? true,
    },
  ))
    yield (page.Items ?? []).map(parseItem);
}
