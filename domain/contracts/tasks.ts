import * as z from 'zod';
import { couponDiscountSchema } from '../discounts.ts';
import { WEEKDAYS } from '../local-time.ts';
import { programSchema } from '../program.ts';
import { conditionSchema } from './conditions.ts';
import { sweepInputSchema } from './sweep-input.ts';

// The input of every Lambda a state machine calls, declared once. The compiler emits each task's
// `Parameters` from these schemas' keys (workflow/task-parameters.ts: a field without a source
// fails the build), the handler parses its input with them, and the use cases take their types.

const id = z.string().min(1);

/** The ingest machine's first task: the event as EventBridge delivered it, and the program. */
export const recordEventInputSchema = z.object({ event: z.unknown(), program: programSchema });

/** Flow step `award_points`: a named program award or fixed points, once per journey and step. */
export const awardPointsInputSchema = z.object({
  customerId: id,
  journeyId: id,
  flowId: id,
  revision: z.string().optional(),
  stepId: id,
  eventId: id,
  points: z.number().int().positive(),
  rule: z.object({ id, version: z.number().int().positive() }),
  program: programSchema,
});
export type AwardPointsInput = z.infer<typeof awardPointsInputSchema>;

/** Flow step `send_email`: the template, the sender and what the template may read. */
export const sendEmailInputSchema = z.object({
  customerId: id,
  flowId: id,
  stepId: id,
  eventId: id,
  template: z.object({ id: z.string(), subject: z.string(), html: z.string(), text: z.string().optional() }),
  /** The subscription topic; customers without marketing consent get only transactional ones. */
  topic: z.object({ id: z.string(), transactional: z.boolean() }).optional(),
  sender: z.object({ from: z.string(), replyTo: z.string().optional(), postalAddress: z.string() }),
  currency: z.string().length(3),
  /** What the template may use besides the customer: the trigger event and earlier steps' results. */
  context: z.object({ event: z.unknown(), steps: z.unknown() }),
});
export type SendEmailInput = z.infer<typeof sendEmailInputSchema>;

// ---- the journey function: one action per call --------------------------------------------

const journeyRef = { customerId: id, journeyId: id, flowId: id, revision: z.string() };
const listen = z.object({ event: z.string(), where: z.record(z.string(), z.unknown()).optional() });
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const duration = z.object({
  days: z.number().optional(),
  hours: z.number().optional(),
  minutes: z.number().optional(),
});

export const journeyActionSchemas = {
  profile: z.object({
    action: z.literal('profile'),
    customerId: id,
    flowId: z.string(),
    revision: z.string(),
  }),
  enter: z.object({
    action: z.literal('enter'),
    customerId: id,
    journeyId: id,
    profile: z.record(z.string(), z.unknown()),
    flowId: id,
    revision: z.string(),
    reentry: z.union([z.enum(['once', 'always']), z.object({ after: duration })]),
    cap: z.number().int().positive().optional(),
    exitOn: z.array(listen),
    goal: listen.extend({ withinMinutes: z.number() }).optional(),
    splits: z.array(z.string()),
  }),
  resume: z.object({ action: z.literal('resume'), ...journeyRef }),
  wait: z.object({
    action: z.literal('wait'),
    ...journeyRef,
    stepId: z.string(),
    targets: z.object({
      elapsed: z.string().optional(),
      event: z.string().optional(),
      timeout: z.string().optional(),
    }),
    due: z.union([
      z.object({ minutes: z.number().positive() }),
      z.object({ until: z.object({ time: z.string(), weekdays: z.array(z.enum(WEEKDAYS)).optional() }) }),
    ]),
    listen: listen.optional(),
    context: z.object({ trigger: z.unknown(), steps: z.unknown() }),
  }),
  end: z.object({
    action: z.literal('end'),
    ...journeyRef,
    status: z.enum(['completed', 'exited', 'holdout']),
  }),
  update_profile: z.object({
    action: z.literal('update_profile'),
    ...journeyRef,
    stepId: z.string(),
    set: z.record(z.string(), scalar).optional(),
    addTags: z.array(z.string()).optional(),
    removeTags: z.array(z.string()).optional(),
  }),
  issue_coupon: z.object({
    action: z.literal('issue_coupon'),
    ...journeyRef,
    stepId: z.string(),
    discount: couponDiscountSchema,
    validMinutes: z.number().positive(),
    prefix: z.string(),
  }),
} as const;

export const journeyInputSchema = z.discriminatedUnion('action', [
  journeyActionSchemas.profile,
  journeyActionSchemas.enter,
  journeyActionSchemas.resume,
  journeyActionSchemas.wait,
  journeyActionSchemas.end,
  journeyActionSchemas.update_profile,
  journeyActionSchemas.issue_coupon,
]);
export type JourneyAction = keyof typeof journeyActionSchemas;
export type JourneyInput<A extends JourneyAction = JourneyAction> = z.infer<(typeof journeyActionSchemas)[A]>;

/** Redeem a reward: called by the shop's backend, not by a state machine. */
export const redeemInputSchema = z.object({
  customerId: id,
  rewardId: id,
  /** The shop's id for this request: a retry with the same id returns the same coupon. */
  requestId: id.max(128),
});
export type RedeemInput = z.infer<typeof redeemInputSchema>;

// ---- the Broadcast machine and the sweep fan-out --------------------------------------------

/** One occurrence of one scheduled flow: the Broadcast execution's input. */
export const broadcastSchema = z.object({
  flowId: id,
  /** The occurrence's instant, ISO 8601 in UTC. */
  occurrence: z.iso.datetime(),
  /** The flow's entry conditions: customers who cannot enter are not sent a trigger at all. */
  when: z.array(conditionSchema).optional(),
});

/** A Scan's LastEvaluatedKey: the table's key attributes, small strings. */
export const scanKeySchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** What a segment has done so far: it lives in the execution's state, so a retry resumes from it. */
export const segmentCursorSchema = z.object({
  /** Where the next page starts; null before the first page. */
  after: scanKeySchema.nullable(),
  done: z.boolean(),
  /** Items the segment's Scan pages evaluated (every item type: the table is shared). */
  scanned: z.number().int().nonnegative(),
  /** Profiles whose customer matched the flow's entry conditions. */
  matched: z.number().int().nonnegative(),
  pages: z.number().int().nonnegative(),
  readUnits: z.number().nonnegative(),
  invocations: z.number().int().nonnegative(),
});

/** The Broadcast machine's ScanPage task: one iteration of a segment's scan loop. */
export const scanPageInputSchema = z.object({
  broadcast: broadcastSchema,
  segment: z.number().int().nonnegative(),
  totalSegments: z.number().int().positive(),
  /** Scan pages this call takes at most (the machine's shape). */
  pagesPerCall: z.number().int().positive(),
  cursor: segmentCursorSchema,
});

/** The SweepShards machine's SweepShard task: the sweep's configuration and the shards it is handed. */
export const sweepShardInputSchema = z.object({
  config: sweepInputSchema,
  shards: z.array(z.number().int().nonnegative()).min(1),
});
export type SweepShardInput = z.infer<typeof sweepShardInputSchema>;
