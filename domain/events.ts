import * as z from 'zod';
import { InvalidEventError } from './errors.ts';

// Commerce events as the shop sends them: the EventBridge envelope's `detail`, keyed by `detail-type`.
// Every detail carries a schema `version` so a shop can move to v2 without breaking flows on v1.

const id = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const timestamp = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 date-time, e.g. 2026-05-01T12:00:00Z',
});
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code such as USD');
const money = z.number().finite().nonnegative('must not be negative');

export const customerRegisteredV1 = z.object({
  version: z.literal(1),
  customerId: id,
  email: z.email('must be an email address'),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  registeredAt: timestamp,
  timeZone: z.string().min(1).optional(),
  birthday: z
    .string()
    .regex(/^(\d{4}-)?\d{2}-\d{2}$/, 'must be YYYY-MM-DD or MM-DD')
    .optional(),
  marketingConsent: z.boolean().default(true),
});

export const orderItem = z.object({
  sku: id,
  name: z.string().max(300).optional(),
  category: z.string().max(100).optional(),
  quantity: z.number().int('must be a whole number').positive('must be at least 1'),
  unitPrice: money,
});

export const orderPlacedV1 = z.object({
  version: z.literal(1),
  orderId: id,
  customerId: id,
  email: z.email('must be an email address'),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  currency,
  total: money,
  items: z.array(orderItem).max(500),
  placedAt: timestamp,
});

export const orderRefundedV1 = z.object({
  version: z.literal(1),
  refundId: id,
  orderId: id,
  customerId: id,
  currency,
  amount: money.positive('must be more than zero'),
  refundedAt: timestamp,
  reason: z.string().max(500).optional(),
});

export const EVENT_SCHEMAS = {
  'customer.registered': customerRegisteredV1,
  'order.placed': orderPlacedV1,
  'order.refunded': orderRefundedV1,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

export type CustomerRegistered = z.infer<typeof customerRegisteredV1>;
export type OrderPlaced = z.infer<typeof orderPlacedV1>;
export type OrderRefunded = z.infer<typeof orderRefundedV1>;

/** The EventBridge envelope, as delivered to a rule target. */
export const envelopeSchema = z.object({
  id: id,
  'detail-type': z.string().min(1),
  // Rapport's own events travel on the system bus; one on the shop's bus claiming to be one is forged.
  source: z
    .string()
    .min(1)
    .refine((source) => !source.startsWith('rapport.'), 'rapport.* sources are reserved for Rapport itself'),
  time: z.string().optional(),
  detail: z.unknown(),
});

export type CommerceEvent =
  | { type: 'customer.registered'; eventId: string; source: string; detail: CustomerRegistered }
  | { type: 'order.placed'; eventId: string; source: string; detail: OrderPlaced }
  | { type: 'order.refunded'; eventId: string; source: string; detail: OrderRefunded };

const describeIssues = (issues: readonly z.core.$ZodIssue[], prefix: string): string =>
  issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path}: ${issue.message}`;
    })
    .join('; ');

// Own keys only: `__proto__` or `toString` is in every object, but no event type.
const isEventType = (value: string): value is EventType => Object.hasOwn(EVENT_SCHEMAS, value);

/**
 * Parses an EventBridge envelope into a typed commerce event.
 * Throws InvalidEventError whose message names every offending field (`detail.total: ...`).
 */
export const parseCommerceEvent = (input: unknown): CommerceEvent => {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) {
    throw new InvalidEventError(
      describeIssues(envelope.error.issues, ''),
      envelope.error.issues[0]?.path.join('.'),
    );
  }
  const type = envelope.data['detail-type'];
  if (!isEventType(type)) {
    throw new InvalidEventError(
      `detail-type: ${type} is not one of ${EVENT_TYPES.join(', ')}`,
      'detail-type',
    );
  }
  const base = { eventId: envelope.data.id, source: envelope.data.source };
  const fail = (error: z.ZodError): never => {
    throw new InvalidEventError(
      describeIssues(error.issues, 'detail'),
      ['detail', ...(error.issues[0]?.path ?? []).map(String)].join('.'),
    );
  };
  switch (type) {
    case 'customer.registered': {
      const parsed = customerRegisteredV1.safeParse(envelope.data.detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : fail(parsed.error);
    }
    case 'order.placed': {
      const parsed = orderPlacedV1.safeParse(envelope.data.detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : fail(parsed.error);
    }
    case 'order.refunded': {
      const parsed = orderRefundedV1.safeParse(envelope.data.detail);
      return parsed.success ? { ...base, type, detail: parsed.data } : fail(parsed.error);
    }
  }
};

/** Events the loyalty engine publishes (source rapport.loyalty); flows may be triggered by them. */
export const LOYALTY_EVENT_TYPES = ['points.expiring', 'customer.tier-changed', 'points.redeemed'] as const;
export const LOYALTY_SOURCE = 'rapport.loyalty';

/** Source of events that Rapport re-publishes after recording them; flows listen to this source only. */
export const ACCEPTED_SOURCE = 'rapport.ingest';

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
  }
};
