import * as z from 'zod';
import { type Condition, conditionSchema } from '../contracts/conditions.ts';
import { couponDiscountSchema } from '../discounts.ts';
import { EVENT_TYPES, LOYALTY_EVENT_TYPES } from '../events.ts';
import { WEEKDAYS } from '../local-time.ts';

// Version 1 of the flow language that marketers write in workflows/flows/*.yaml.
//
// A flow has a header, one trigger, optional entry rules, exit conditions and a goal, and a list
// of steps. Steps are a discriminated union on `type`; every step has an `id` that names its state
// in the compiled state machine and keys its side effects (one email per journey and step).
// Branching steps (branch, split, wait for an event) hold nested step lists; when a nested list
// ends, the journey goes on with the step after the branching step, unless it ran an `exit`.

export const stepIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,47}$/, 'use lower-case letters, digits, - and _ (starting with a letter)');

const kebab = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes');

/** A duration as marketers say it: `{ days: 7 }`, `{ hours: 2, minutes: 30 }`. */
export const durationSchema = z
  .object({
    days: z.number().int().nonnegative().optional(),
    hours: z.number().int().nonnegative().optional(),
    minutes: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((d) => (d.days ?? 0) + (d.hours ?? 0) + (d.minutes ?? 0) > 0, 'must be longer than zero');
export type Duration = z.infer<typeof durationSchema>;

export const durationMinutes = (d: Duration): number =>
  (d.days ?? 0) * 1440 + (d.hours ?? 0) * 60 + (d.minutes ?? 0);

/** An EventBridge-style filter on the event's detail: `{ total: [{ numeric: [">=", 100] }] }`. */
const whereSchema = z.record(z.string(), z.unknown());

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One condition on the customer profile or the trigger event (declared with the contracts). */
export { type Condition, conditionSchema };

/** All of the conditions must hold. */
const conditionsSchema = z.array(conditionSchema).min(1, 'list at least one condition');

const weekday = z.enum(WEEKDAYS);
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time such as 09:30');

// ---- triggers ------------------------------------------------------------------------------

export const eventTriggerSchema = z
  .object({
    event: z.enum([...EVENT_TYPES, ...LOYALTY_EVENT_TYPES] as string[] as [string, ...string[]]),
    where: whereSchema.optional(),
  })
  .strict();

export const inactivityTriggerSchema = z
  .object({
    inactivity: z
      .object({
        event: z.literal('order.placed'),
        days: z.number().int().positive().max(3650),
      })
      .strict(),
  })
  .strict();

export const dateTriggerSchema = z
  .object({
    date: z
      .object({
        field: z.enum(['birthday', 'registration_anniversary']),
        at: timeOfDay.default('09:00'),
      })
      .strict(),
  })
  .strict();

export const scheduleTriggerSchema = z
  .object({
    schedule: z
      .object({
        every: z.enum(['day', 'week', 'month']),
        at: timeOfDay.default('10:00'),
        weekday: weekday.optional(),
        day_of_month: z.number().int().min(1).max(28).optional(),
      })
      .strict(),
  })
  .strict();

export const triggerSchema = z.union([
  eventTriggerSchema,
  inactivityTriggerSchema,
  dateTriggerSchema,
  scheduleTriggerSchema,
]);
export type Trigger = z.infer<typeof triggerSchema>;

// ---- steps ---------------------------------------------------------------------------------

export const awardPointsStep = z
  .object({
    id: stepIdSchema,
    type: z.literal('award_points'),
    /** A one-off award defined in program.yaml under `awards` (birthday, review, referral). */
    award: kebab.optional(),
    /** A fixed number of points (a gift no program rule describes). */
    points: z.number().int().positive().max(1_000_000).optional(),
    reason: z.string().max(200).optional(),
  })
  .strict()
  .refine((s) => (s.award === undefined) !== (s.points === undefined), {
    message:
      'give either "award: <name from program.yaml awards>" or a number of "points", not both (orders earn their points through program.yaml)',
  });

export const sendEmailStep = z
  .object({
    id: stepIdSchema,
    type: z.literal('send_email'),
    template: kebab,
    /**
     * A subscription topic from the program, always: a transactional one (receipts) or a marketing
     * one, which goes only with consent and carries the unsubscribe footer.
     */
    topic: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'name the topic of this email from program.yaml topics: a transactional one for receipts, else a marketing one (it needs consent and an unsubscribe link)'
            : undefined,
      })
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
  })
  .strict();

const waitDuration = z
  .object({ id: stepIdSchema, type: z.literal('wait'), duration: durationSchema })
  .strict();
const waitUntilTime = z
  .object({
    id: stepIdSchema,
    type: z.literal('wait'),
    until: z.object({ time: timeOfDay, weekdays: z.array(weekday).min(1).optional() }).strict(),
  })
  .strict();

export const updateProfileStep = z
  .object({
    id: stepIdSchema,
    type: z.literal('update_profile'),
    set: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'name an attribute in letters, digits and _'),
        scalar,
      )
      .optional(),
    add_tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/)).optional(),
    remove_tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/)).optional(),
  })
  .strict()
  .refine((s) => s.set || s.add_tags || s.remove_tags, 'set attributes or add or remove tags');

export const issueCouponStep = z
  .object({
    id: stepIdSchema,
    type: z.literal('issue_coupon'),
    discount: couponDiscountSchema,
    valid: durationSchema,
    prefix: z
      .string()
      .regex(/^[A-Z0-9]{0,12}$/, 'use up to 12 capital letters and digits')
      .default('RAP'),
  })
  .strict();

export const emitEventStep = z
  .object({
    id: stepIdSchema,
    type: z.literal('emit_event'),
    event: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'name it like journey.converted'),
    data: z.record(z.string(), scalar).optional(),
  })
  .strict();

export const exitStep = z.object({ id: stepIdSchema, type: z.literal('exit') }).strict();

// Recursive steps: declared through interfaces so z.lazy has a type to hold on to.
export type Step =
  | z.infer<typeof awardPointsStep>
  | z.infer<typeof sendEmailStep>
  | z.infer<typeof waitDuration>
  | z.infer<typeof waitUntilTime>
  | WaitForEventStep
  | BranchStep
  | SplitStep
  | z.infer<typeof updateProfileStep>
  | z.infer<typeof issueCouponStep>
  | z.infer<typeof emitEventStep>
  | z.infer<typeof exitStep>;

export interface WaitForEventStep {
  id: string;
  type: 'wait';
  for_event: { event: string; where?: Record<string, unknown> | undefined };
  timeout: Duration;
  on_event?: Step[] | undefined;
  on_timeout?: Step[] | undefined;
}

export interface BranchStep {
  id: string;
  type: 'branch';
  if: { when: Condition[]; steps: Step[] }[];
  else?: Step[] | undefined;
}

export interface SplitStep {
  id: string;
  type: 'split';
  paths: { name: string; percent: number; holdout?: boolean | undefined; steps?: Step[] | undefined }[];
}

const steps: z.ZodType<Step[]> = z.lazy(() => z.array(stepSchema));

const waitForEvent: z.ZodType<WaitForEventStep> = z
  .object({
    id: stepIdSchema,
    type: z.literal('wait'),
    for_event: z
      .object({ event: z.enum(EVENT_TYPES as [string, ...string[]]), where: whereSchema.optional() })
      .strict(),
    timeout: durationSchema,
    on_event: steps.optional(),
    on_timeout: steps.optional(),
  })
  .strict();

const branch: z.ZodType<BranchStep> = z
  .object({
    id: stepIdSchema,
    type: z.literal('branch'),
    if: z
      .array(z.object({ when: conditionsSchema, steps }).strict())
      .min(1, 'a branch needs at least one if'),
    else: steps.optional(),
  })
  .strict();

const split: z.ZodType<SplitStep> = z
  .object({
    id: stepIdSchema,
    type: z.literal('split'),
    paths: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'use lower-case letters, digits, - and _'),
            percent: z.number().int().min(1).max(100),
            holdout: z.boolean().optional(),
            steps: steps.optional(),
          })
          .strict(),
      )
      .min(2, 'a split needs at least two paths')
      .refine(
        (paths) => paths.reduce((sum, p) => sum + p.percent, 0) === 100,
        'the percentages must add up to 100',
      ),
  })
  .strict();

/** `type: wait` has three forms; the keys tell them apart, so the error names the one meant. */
const waitStep: z.ZodType<Step> = z.union([waitDuration, waitUntilTime, waitForEvent]);

export const stepSchema: z.ZodType<Step> = z.lazy(() =>
  z.union([
    awardPointsStep,
    sendEmailStep,
    waitStep,
    branch,
    split,
    updateProfileStep,
    issueCouponStep,
    emitEventStep,
    exitStep,
  ]),
);

// ---- the flow --------------------------------------------------------------------------------

export const entrySchema = z
  .object({
    /** Conditions on the profile (and trigger event) a customer must meet to enter. */
    when: conditionsSchema.optional(),
    /** once: never again; always: whenever triggered (never twice at once); or again after N days. */
    reentry: z
      .union([z.enum(['once', 'always']), z.object({ after: durationSchema }).strict()])
      .default('always'),
    /** At most this many customers in the flow at once. */
    cap: z.number().int().positive().optional(),
  })
  .strict();

export const flowSchema = z
  .object({
    version: z.literal(1),
    id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'use lower-case letters, digits and dashes (at most 40)'),
    name: z.string().min(1),
    description: z.string().optional(),
    status: z.enum(['active', 'paused']).default('active'),
    trigger: triggerSchema,
    entry: entrySchema.default({ reentry: 'always' }),
    /** Events that end the journey wherever it is. */
    exit_on: z
      .array(
        z
          .object({ event: z.enum(EVENT_TYPES as [string, ...string[]]), where: whereSchema.optional() })
          .strict(),
      )
      .optional(),
    /** A conversion: this event within the window after entering is recorded on the journey. */
    goal: z
      .object({
        event: z.enum(EVENT_TYPES as [string, ...string[]]),
        where: whereSchema.optional(),
        within: durationSchema,
      })
      .strict()
      .optional(),
    steps: steps.refine((list) => list.length > 0, 'a flow needs at least one step'),
  })
  .strict();

export type Flow = z.infer<typeof flowSchema>;
export type EventTrigger = z.infer<typeof eventTriggerSchema>;

export const isWaitForEvent = (step: Step): step is WaitForEventStep =>
  step.type === 'wait' && 'for_event' in step;

/** Every step in the flow, nested ones included, depth first in file order. */
export const allSteps = (list: readonly Step[]): Step[] =>
  list.flatMap((step) => {
    switch (step.type) {
      case 'branch':
        return [step, ...step.if.flatMap((c) => allSteps(c.steps)), ...allSteps(step.else ?? [])];
      case 'split':
        return [step, ...step.paths.flatMap((p) => allSteps(p.steps ?? []))];
      case 'wait':
        return isWaitForEvent(step)
          ? [step, ...allSteps(step.on_event ?? []), ...allSteps(step.on_timeout ?? [])]
          : [step];
      default:
        return [step];
    }
  });
