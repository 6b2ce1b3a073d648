import * as z from 'zod';
import { ALL_MARKETING } from './consent.ts';
import { InvalidEventError } from './errors.ts';
import { decimalPlaces, fractionDigits } from './money.ts';

// Commerce events as the shop sends them: the EventBridge envelope's `detail`, keyed by `detail-type`.
// Every detail carries a schema `version` so a shop can move to v2 without breaking flows on v1.
//
// The schemas are the only gate before DynamoDB, templates and logs, so they refuse everything those
// would choke on or misrender, naming the field: numbers DynamoDB cannot store or that lose cents,
// dates no calendar has, text with control or direction-changing characters or unpaired surrogates
// (which the SDK would silently turn into U+FFFD, so a key read back would not be the key written).

/** The outer bounds no program may widen: minor units stay safe integers, dates stay on a calendar. */
export const EVENT_BOUNDS = {
  /** Larger than any order, small enough that a total times 10^3 (BHD) is a safe integer. */
  maxAmount: 1e12,
  earliest: '1970-01-01T00:00:00Z',
  latest: '2200-01-01T00:00:00Z',
} as const;

/** What the program and the clock add to the schemas: its money limit, and what "the future" is. */
export interface EventContext {
  now: Date;
  limits: { maxOrderTotal: number; maxFutureDays: number };
}

// C0 and C1 controls, bidi embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
// Free text (a refund reason) may have line breaks and tabs; nothing else from the set above.
const UNSAFE_IN_TEXT = /(?![\t\n\r])[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const safeText = (max: number, unsafe = UNSAFE) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !LONE_SURROGATE.test(s), 'must not contain unpaired surrogates')
    .refine((s) => !unsafe.test(s), 'must not contain control or bidirectional-override characters');

const id = safeText(128)
  .trim()
  .refine((s) => s.length > 0, 'must not be empty');
const personName = safeText(200)
  .trim()
  .refine((s) => s.length > 0, 'must not be empty');
const email = z.email('must be an email address').max(254, 'must be at most 254 characters');

// The format check knows the calendar (no 30 February); the window keeps year 0001 and 9999 out.
const timestamp = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-05-01T12:00:00Z' })
  .refine(
    (s) =>
      Date.parse(s) >= Date.parse(EVENT_BOUNDS.earliest) && Date.parse(s) < Date.parse(EVENT_BOUNDS.latest),
    `must be between ${EVENT_BOUNDS.earliest.slice(0, 4)} and ${EVENT_BOUNDS.latest.slice(0, 4)}`,
  );

const CURRENCY = /^[A-Z]{3}$/;
const currency = z.string().regex(CURRENCY, 'must be a three-letter ISO 4217 code such as USD');
const money = z
  .number()
  .finite('must be a finite number')
  .nonnegative('must not be negative')
  .max(EVENT_BOUNDS.maxAmount, `must be at most ${EVENT_BOUNDS.maxAmount}`);

// Intl knows the IANA names (and their legacy aliases); it also takes offsets such as +05:00,
// which are not zones and would not follow daylight saving, hence the shape check first.
const zoneNames = new Map<string, string>();
const ianaZone = (name: string): string | undefined => {
  const known = zoneNames.get(name);
  if (known) return known;
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    zoneNames.set(name, resolved);
    return resolved;
  } catch {
    return undefined;
  }
};
const timeZone = z
  .string()
  .max(64, 'must be at most 64 characters')
  .transform((name, ctx) => {
    const zone = ianaZone(name);
    if (zone) return zone;
    ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone such as Europe/London' });
    return z.NEVER;
  });

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const birthday = z
  .string()
  .regex(/^(\d{4}-)?\d{2}-\d{2}$/, 'must be YYYY-MM-DD or MM-DD')
  .refine((text) => {
    const [month, day, year] =
      text.length === 5
        ? [Number(text.slice(0, 2)), Number(text.slice(3)), undefined]
        : [Number(text.slice(5, 7)), Number(text.slice(8)), Number(text.slice(0, 4))];
    if (year !== undefined && (year < 1900 || year > 2100)) return false;
    const days = month === 2 && year !== undefined && !isLeap(year) ? 28 : DAYS_IN_MONTH[month - 1];
    return days !== undefined && day >= 1 && day <= days;
  }, 'must be a real date (02-29 only in a leap year)');

/** Refuses amounts with more decimals than their currency has, naming the amount's own path. */
const checkDecimals = (ctx: z.RefinementCtx, amount: number, code: string, path: (string | number)[]) => {
  // Refinements run even when a field failed its format; a bad currency is reported on its own.
  if (typeof amount !== 'number' || !CURRENCY.test(code)) return;
  const allowed = fractionDigits(code);
  if (decimalPlaces(amount) > allowed)
    ctx.addIssue({
      code: 'custom',
      message: `${amount} has more decimals than ${code} allows (${allowed})`,
      path,
    });
};

/**
 * Consent per marketing topic as the shop states it: topic ids of the program (checked against it
 * when recorded), each true or false; a handful at most.
 */
const TOPIC_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const topicConsents = z.record(z.string(), z.boolean()).superRefine((topics, ctx) => {
  const ids = Object.keys(topics);
  if (ids.length > 50) ctx.addIssue({ code: 'custom', message: 'must name at most 50 topics' });
  for (const topic of ids.slice(0, 50))
    if (!TOPIC_ID.test(topic))
      ctx.addIssue({
        code: 'custom',
        // A key quoted back is bounded like any other text from outside.
        path: [topic.slice(0, 64)],
        message: 'must be a topic id (up to 64 lower-case letters, digits and dashes)',
      });
});

export const customerRegisteredV1 = z.object({
  version: z.literal(1),
  customerId: id,
  email,
  name: personName,
  registeredAt: timestamp,
  timeZone: timeZone.optional(),
  birthday: birthday.optional(),
  /**
   * Opt-in to every marketing topic, as of registeredAt. A registration that does not say gives no
   * consent (and takes none back).
   */
  marketingConsent: z.boolean().optional(),
  /** Opt-in or out of single topics, as of consentAt; a topic named here outranks marketingConsent. */
  consent: topicConsents.optional(),
  /**
   * When the contact details stated here were true (a shop's customer update); default registeredAt.
   * A newer fact about each field wins, so an update older than what is known changes nothing.
   */
  updatedAt: timestamp.optional(),
  /** When the consent stated here was given; default updatedAt, then registeredAt. */
  consentAt: timestamp.optional(),
});

/** The customer changed their consent in the shop (its preference centre, a checkout box, support). */
export const consentChangedV1 = z
  .object({
    version: z.literal(1),
    customerId: id,
    changedAt: timestamp,
    /** Every marketing topic at once. */
    marketingConsent: z.boolean().optional(),
    consent: topicConsents.optional(),
  })
  .refine((change) => change.marketingConsent !== undefined || Object.keys(change.consent ?? {}).length > 0, {
    message: 'must give marketingConsent or consent for at least one topic',
    path: ['consent'],
  });

export const orderItem = z.object({
  sku: id,
  name: safeText(300).optional(),
  category: safeText(100).optional(),
  quantity: z
    .number()
    .int('must be a whole number')
    .positive('must be at least 1')
    .max(1_000_000, 'must be at most 1000000'),
  unitPrice: money,
});

export const orderPlacedV1 = z
  .object({
    version: z.literal(1),
    orderId: id,
    customerId: id,
    email,
    name: personName,
    currency,
    total: money,
    items: z.array(orderItem).max(500),
    placedAt: timestamp,
    /** A checkout's opt-in box: true or false is a fact as of placedAt; absent says nothing. */
    marketingConsent: z.boolean().optional(),
    /** The discount codes used at checkout (a Rapport coupon among them is then redeemed). */
    discountCodes: z.array(id).max(50, 'must name at most 50 codes').optional(),
  })
  .superRefine((order, ctx) => {
    checkDecimals(ctx, order.total, order.currency, ['total']);
    if (!Array.isArray(order.items)) return;
    order.items.forEach((item, i) => {
      if (item) checkDecimals(ctx, item.unitPrice, order.currency, ['items', i, 'unitPrice']);
    });
  });

export const orderRefundedV1 = z
  .object({
    version: z.literal(1),
    refundId: id,
    orderId: id,
    /** Optional: a platform's refund may not name its customer (Shopify's); the order's record does. */
    customerId: id.optional(),
    currency,
    amount: money.positive('must be more than zero'),
    refundedAt: timestamp,
    reason: safeText(500, UNSAFE_IN_TEXT).optional(),
  })
  .superRefine((refund, ctx) => checkDecimals(ctx, refund.amount, refund.currency, ['amount']));

/**
 * The order was cancelled: what is left of it (after any refunds) no longer counts, and refunds
 * after it take back nothing more. An order not recorded yet is waited for.
 */
export const orderCancelledV1 = z.object({
  version: z.literal(1),
  orderId: id,
  customerId: id.optional(),
  cancelledAt: timestamp,
  reason: safeText(500, UNSAFE_IN_TEXT).optional(),
});

/** A privacy request the shop forwards: the customer asked to be forgotten, or for their data. */
const privacyRequestV1 = z.object({
  version: z.literal(1),
  customerId: id,
  requestId: id,
  requestedAt: timestamp,
});
export const erasureRequestedV1 = privacyRequestV1;
export const exportRequestedV1 = privacyRequestV1;

export const EVENT_SCHEMAS = {
  'customer.registered': customerRegisteredV1,
  'order.placed': orderPlacedV1,
  'order.refunded': orderRefundedV1,
  'order.cancelled': orderCancelledV1,
  'customer.erasure-requested': erasureRequestedV1,
  'customer.export-requested': exportRequestedV1,
  'customer.consent-changed': consentChangedV1,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
/** Privacy requests are recorded and answered, never published: no flow may listen to them. */
export const PRIVACY_EVENT_TYPES = ['customer.erasure-requested', 'customer.export-requested'] as const;
/** The commerce events flows hear (ingest publishes them). */
export const EVENT_TYPES = (Object.keys(EVENT_SCHEMAS) as EventType[]).filter(
  (type) => !(PRIVACY_EVENT_TYPES as readonly string[]).includes(type),
);

export type CustomerRegistered = z.infer<typeof customerRegisteredV1>;
export type OrderPlaced = z.infer<typeof orderPlacedV1>;
export type OrderRefunded = z.infer<typeof orderRefundedV1>;
export type OrderCancelled = z.infer<typeof orderCancelledV1>;
export type PrivacyRequest = z.infer<typeof privacyRequestV1>;
export type ConsentChanged = z.infer<typeof consentChangedV1>;

/** The EventBridge envelope, as delivered to a rule target (EventBridge's own limits on its fields). */
export const envelopeSchema = z.object({
  id,
  'detail-type': safeText(128).min(1, 'must not be empty'),
  // Rapport's own events travel on the system bus; one on the shop's bus claiming to be one is forged.
  source: safeText(256)
    .min(1, 'must not be empty')
    .refine((source) => !source.startsWith('rapport.'), 'rapport.* sources are reserved for Rapport itself'),
  time: z.string().max(64).optional(),
  detail: z.unknown(),
});

export type CommerceEvent =
  | { type: 'customer.registered'; eventId: string; source: string; detail: CustomerRegistered }
  | { type: 'order.placed'; eventId: string; source: string; detail: OrderPlaced }
  | { type: 'order.refunded'; eventId: string; source: string; detail: OrderRefunded }
  | { type: 'order.cancelled'; eventId: string; source: string; detail: OrderCancelled }
  | {
      type: 'customer.erasure-requested' | 'customer.export-requested';
      eventId: string;
      source: string;
      detail: PrivacyRequest;
    }
  | { type: 'customer.consent-changed'; eventId: string; source: string; detail: ConsentChanged };

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/** The path of an issue as the reason names it; `event` when the whole input is wrong. */
const fieldOf = (issue: Issue | undefined, prefix: string): string =>
  [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.') || 'event';

const reject = (issues: readonly Issue[], prefix: string): never => {
  throw new InvalidEventError(
    issues.map((issue) => `${fieldOf(issue, prefix)}: ${issue.message}`).join('; '),
    fieldOf(issues[0], prefix),
  );
};

// `in` would find __proto__, constructor and toString on every object.
const isEventType = (value: string): value is EventType => Object.hasOwn(EVENT_SCHEMAS, value);

/** A detail-type as it may be quoted back: short, and printable whatever the sender put in it. */
const quote = (text: string): string => JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);

/** The bounds that depend on the program and the clock, which a static schema cannot know. */
const contextIssues = (event: CommerceEvent, { now, limits }: EventContext): Issue[] => {
  const issues: Issue[] = [];
  const latest = now.getTime() + limits.maxFutureDays * 86_400_000;
  const notAfter = (path: string, at: string) => {
    if (Date.parse(at) > latest)
      issues.push({
        path: [path],
        message: `must not be more than ${limits.maxFutureDays} days after now (${now.toISOString()})`,
      });
  };
  const atMost = (path: readonly PropertyKey[], amount: number) => {
    if (amount > limits.maxOrderTotal)
      issues.push({
        path,
        message: `must be at most ${limits.maxOrderTotal} (the program's limits.maxOrderTotal)`,
      });
  };
  switch (event.type) {
    case 'customer.registered':
      notAfter('registeredAt', event.detail.registeredAt);
      if (event.detail.updatedAt) notAfter('updatedAt', event.detail.updatedAt);
      if (event.detail.consentAt) notAfter('consentAt', event.detail.consentAt);
      break;
    case 'order.placed':
      atMost(['total'], event.detail.total);
      event.detail.items.forEach((item, i) => {
        atMost(['items', i, 'unitPrice'], item.unitPrice);
      });
      notAfter('placedAt', event.detail.placedAt);
      break;
    case 'order.refunded':
      atMost(['amount'], event.detail.amount);
      notAfter('refundedAt', event.detail.refundedAt);
      break;
    case 'order.cancelled':
      notAfter('cancelledAt', event.detail.cancelledAt);
      break;
    case 'customer.erasure-requested':
    case 'customer.export-requested':
      notAfter('requestedAt', event.detail.requestedAt);
      break;
    case 'customer.consent-changed':
      notAfter('changedAt', event.detail.changedAt);
      break;
  }
  return issues;
};

const parseDetail = (type: EventType, detail: unknown, base: { eventId: string; source: string }) => {
  switch (type) {
    case 'customer.registered': {
      const parsed = customerRegisteredV1.safeParse(detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : reject(parsed.error.issues, 'detail');
    }
    case 'order.placed': {
      const parsed = orderPlacedV1.safeParse(detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : reject(parsed.error.issues, 'detail');
    }
    case 'order.refunded': {
      const parsed = orderRefundedV1.safeParse(detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : reject(parsed.error.issues, 'detail');
    }
    case 'order.cancelled': {
      const parsed = orderCancelledV1.safeParse(detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : reject(parsed.error.issues, 'detail');
    }
    case 'customer.erasure-requested':
    case 'customer.export-requested': {
      const parsed = privacyRequestV1.safeParse(detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : reject(parsed.error.issues, 'detail');
    }
    case 'customer.consent-changed': {
      const parsed = consentChangedV1.safeParse(detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : reject(parsed.error.issues, 'detail');
    }
  }
};

/**
 * Parses an EventBridge envelope into a typed commerce event, within the program's limits and no
 * further ahead of `now` (the injected clock: a replay runs in 1997) than `limits.maxFutureDays`.
 * Throws InvalidEventError whose message names every offending field (`detail.total: ...`).
 */
export const parseCommerceEvent = (input: unknown, context: EventContext): CommerceEvent => {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) return reject(envelope.error.issues, '');
  const type = envelope.data['detail-type'];
  if (!isEventType(type)) {
    throw new InvalidEventError(
      `detail-type: ${quote(type)} is not one of ${Object.keys(EVENT_SCHEMAS).join(', ')}`,
      'detail-type',
    );
  }
  const event = parseDetail(type, envelope.data.detail, {
    eventId: envelope.data.id,
    source: envelope.data.source,
  });
  const issues = contextIssues(event, context);
  return issues.length > 0 ? reject(issues, 'detail') : event;
};

/** Events the loyalty engine publishes (source rapport.loyalty); flows may be triggered by them. */
export const LOYALTY_EVENT_TYPES = ['points.expiring', 'customer.tier-changed', 'points.redeemed'] as const;
export const LOYALTY_SOURCE = 'rapport.loyalty';

/** Source of events that Rapport re-publishes after recording them; flows listen to this source only. */
export const ACCEPTED_SOURCE = 'rapport.ingest';

/** Source of the triggers the sweeper publishes (inactivity, dates, schedules). */
export const SWEEPER_SOURCE = 'rapport.sweeper';

/** A short, stable digest of a text (FNV-1a, 32 bits), to keep a fact key bounded. */
const fnv1a = (text: string): string => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
};

/**
 * The business fact an event states, as an idempotency key: an order is placed once whatever
 * envelope carries it, so a shop that re-sends it under a new event id starts no second journey and
 * sends no second email. Published events carry it as `meta.eventId`, which flows key journeys,
 * sends and coupons by (the sweeper's triggers carry deterministic ids of the same kind).
 */
export const factKey = (event: CommerceEvent): string => {
  switch (event.type) {
    case 'customer.registered':
      return `customer.registered:${event.detail.customerId}`;
    case 'order.placed':
      return `order.placed:${event.detail.orderId}`;
    case 'order.refunded':
      return `order.refunded:${event.detail.refundId}`;
    case 'order.cancelled':
      return `order.cancelled:${event.detail.orderId}`;
    case 'customer.erasure-requested':
    case 'customer.export-requested':
      return `${event.type}:${event.detail.requestId}`;
    case 'customer.consent-changed': {
      // A change is its customer, its time and what it says: the same change re-sent is one fact.
      const { customerId, changedAt, marketingConsent, consent } = event.detail;
      const said = Object.entries({
        ...consent,
        ...(marketingConsent === undefined ? {} : { [ALL_MARKETING]: marketingConsent }),
      })
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([topic, granted]) => `${topic}=${granted ? 1 : 0}`)
        .join(',');
      return `customer.consent-changed:${customerId}:${changedAt}:${fnv1a(said)}`;
    }
  }
};
