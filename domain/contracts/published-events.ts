import * as z from 'zod';
import {
  ACCEPTED_SOURCE,
  consentChangedV1,
  customerRegisteredV1,
  LOYALTY_SOURCE,
  orderCancelledV1,
  orderPlacedV1,
  orderRefundedV1,
  SWEEPER_SOURCE,
} from '../events.ts';

// Every event Rapport publishes, one schema per detail type: the publishers validate with them,
// and the compiler checks flows' `where` filters and templates' `event.*` reads against them.

/** Sources of the events Rapport itself publishes. */
export { SWEEPER_SOURCE };
export const FLOW_SOURCE = 'rapport.flow';

const text = z.string().min(1);
const instant = z.string().min(1);
/** Every published event names its fact: flows key journeys, sends and coupons by it. */
const meta = z.object({ eventId: text });
/** What ingest adds to a commerce event it re-publishes: the fact, its envelope, and its points. */
const ingestMeta = meta.extend({ envelopeId: text, source: text });

export const PUBLISHED_EVENTS = {
  'customer.registered': {
    source: ACCEPTED_SOURCE,
    detail: customerRegisteredV1.extend({ meta: ingestMeta }),
  },
  'order.placed': {
    source: ACCEPTED_SOURCE,
    detail: orderPlacedV1.safeExtend({
      /** `points`: what the order earned, as templates show it. */
      meta: ingestMeta.extend({ points: z.number().int().nonnegative().optional() }),
    }),
  },
  'order.refunded': {
    source: ACCEPTED_SOURCE,
    // Published with its customer, whether the refund named one or its order's record did.
    detail: orderRefundedV1.safeExtend({ customerId: text, meta: ingestMeta }),
  },
  'order.cancelled': {
    source: ACCEPTED_SOURCE,
    detail: orderCancelledV1.extend({ customerId: text, meta: ingestMeta }),
  },
  'customer.consent-changed': {
    source: ACCEPTED_SOURCE,
    detail: consentChangedV1.safeExtend({ meta: ingestMeta }),
  },
  'points.expiring': {
    source: LOYALTY_SOURCE,
    detail: z.object({
      customerId: text,
      points: z.number().int().positive(),
      expiresOn: z.iso.date(),
      balance: z.number().int(),
      meta,
    }),
  },
  'customer.tier-changed': {
    source: LOYALTY_SOURCE,
    detail: z.object({
      customerId: text,
      from: z.string(),
      to: text,
      direction: z.enum(['up', 'down']),
      reason: text,
      at: instant,
      meta,
    }),
  },
  'points.redeemed': {
    source: LOYALTY_SOURCE,
    detail: z.object({
      customerId: text,
      rewardId: text,
      rewardName: text,
      points: z.number().int().positive(),
      couponCode: text,
      balance: z.number().int(),
      meta,
    }),
  },
  'customer.inactive': {
    source: SWEEPER_SOURCE,
    detail: z.object({ customerId: text, days: z.number().int().positive(), lastOrderAt: instant, meta }),
  },
  'customer.date': {
    source: SWEEPER_SOURCE,
    detail: z.object({ customerId: text, field: text, at: text, occurredAt: instant, meta }),
  },
  'customer.scheduled': {
    source: SWEEPER_SOURCE,
    detail: z.object({ customerId: text, flowId: text, occurredAt: instant, meta }),
  },
} as const;

export type PublishedType = keyof typeof PUBLISHED_EVENTS;
export type PublishedDetail<T extends PublishedType> = z.input<(typeof PUBLISHED_EVENTS)[T]['detail']>;

/** What an `emit_event` step publishes, whatever detail type the flow names. */
export const flowEventSchema = z.object({
  customerId: text,
  journeyId: text,
  flowId: text,
  stepId: text,
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  meta,
});

const isPublishedType = (type: string): type is PublishedType => Object.hasOwn(PUBLISHED_EVENTS, type);

/** The schema of an event's detail, by its source and detail type; undefined if Rapport publishes no such event. */
export const detailSchemaOf = (source: string, detailType: string): z.ZodType | undefined => {
  if (source === FLOW_SOURCE) return flowEventSchema;
  if (!isPublishedType(detailType)) return undefined;
  const event = PUBLISHED_EVENTS[detailType];
  return event.source === source ? event.detail : undefined;
};

export class UnpublishableEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnpublishableEventError';
  }
}

/** Refuses an event that breaks its contract before it leaves, naming the field (`detail.points: ...`). */
export const checkPublished = <E extends { source: string; detailType: string; detail: unknown }>(
  event: E,
): E => {
  const schema = detailSchemaOf(event.source, event.detailType);
  if (!schema) throw new UnpublishableEventError(`${event.source} publishes no ${event.detailType} events`);
  const parsed = schema.safeParse(event.detail);
  if (!parsed.success)
    throw new UnpublishableEventError(
      `${event.detailType}: ${parsed.error.issues.map((i) => `${['detail', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ')}`,
    );
  return event;
};

// ---- fields, for the compiler ------------------------------------------------------------

/**
 * Whether a detail has the field at `path`; if not, the longest prefix that exists. Lists are
 * crossed as EventBridge does (a filter on `items.sku` looks into every item) and as Liquid does
 * (an index, `first`, `last`, `size`).
 */
export const findField = (
  schema: z.ZodType,
  path: readonly (string | number)[],
): { found: true } | { found: false; known: string[]; missing: number } => {
  let current: z.ZodType = schema;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    current = unwrap(current);
    if (current instanceof z.ZodArray) {
      if (typeof segment === 'number' || segment === 'first' || segment === 'last') {
        current = current.element as z.ZodType;
        continue;
      }
      if (segment === 'size')
        return i === path.length - 1 ? { found: true } : { found: false, known: [], missing: i + 1 };
      current = unwrap(current.element as z.ZodType);
    }
    if (current instanceof z.ZodObject) {
      const shape = current.shape as Record<string, z.ZodType>;
      const next = typeof segment === 'string' && Object.hasOwn(shape, segment) ? shape[segment] : undefined;
      if (!next) return { found: false, known: Object.keys(shape), missing: i };
      current = next;
      continue;
    }
    if (current instanceof z.ZodRecord || current instanceof z.ZodUnknown || current instanceof z.ZodAny)
      return { found: true };
    return { found: false, known: [], missing: i };
  }
  return { found: true };
};

const unwrap = (schema: z.ZodType): z.ZodType => {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault
    )
      current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
};
