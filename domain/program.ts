import * as z from 'zod';
import { REWARD_KINDS, rewardDiscountSchema } from './discounts.ts';

// The loyalty program a marketer edits in workflows/program.yaml.

export const roundingSchema = z.enum(['floor', 'round', 'ceil']);

export const earnRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    version: z.number().int().positive(),
    description: z.string().optional(),
    pointsPerCurrencyUnit: z.number().positive('must be more than zero').max(1000),
    rounding: roundingSchema.default('floor'),
    /** At most this many points from one order, and from all orders of one local day. */
    caps: z
      .object({
        perOrder: z.number().int().positive().optional(),
        perDay: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes');
const ruleHeader = { id: slug, version: z.number().int().positive(), description: z.string().optional() };
const localDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date such as 2026-12-05');
const monthDayText = z.string().regex(/^\d{2}-\d{2}$/, "must be a month and day such as '01-01'");
const days = z.number().int('must be a whole number of days').nonnegative();

/** Extra points for items of some categories or SKUs: a multiple of their base points, or per unit. */
export const bonusRuleSchema = z
  .object({
    ...ruleHeader,
    categories: z.array(z.string().min(1)).optional(),
    skus: z.array(z.string().min(1)).optional(),
    /** 2 means the items earn twice their base points (one extra base). */
    multiplier: z.number().min(1).max(100).optional(),
    pointsPerUnit: z.number().int().positive().optional(),
  })
  .strict()
  .refine((rule) => (rule.categories?.length ?? 0) + (rule.skus?.length ?? 0) > 0, {
    message: 'name the categories or skus the bonus is for',
  })
  .refine((rule) => (rule.multiplier === undefined) !== (rule.pointsPerUnit === undefined), {
    message: 'give exactly one of multiplier or pointsPerUnit',
  });

/** A campaign multiplies an order's base points on local dates from `starts` to `ends`, both included. */
export const campaignSchema = z
  .object({
    ...ruleHeader,
    name: z.string().min(1),
    starts: localDate,
    ends: localDate,
    multiplier: z.number().min(1).max(100),
  })
  .strict()
  .refine((c) => c.starts <= c.ends, { message: 'ends must not be before starts', path: ['ends'] });

export const fixedAwardSchema = z.object({ ...ruleHeader, points: z.number().int().positive() }).strict();

export const rewardSchema = z
  .object({
    id: slug,
    name: z.string().min(1),
    cost: z.number().int().positive('must be a positive number of points'),
    ...rewardDiscountSchema.shape,
    /** Only members of these tiers may redeem it; absent: everyone. */
    tiers: z.array(slug).optional(),
    validDays: z.number().int().positive().default(90),
  })
  .strict()
  .superRefine((reward, ctx) => {
    const need = REWARD_KINDS[reward.kind];
    if (need && reward[need] === undefined)
      ctx.addIssue({ code: 'custom', message: `a ${reward.kind} reward needs ${need}`, path: [need] });
  });

export const tierLevelSchema = z
  .object({
    id: slug,
    name: z.string().min(1),
    /** Qualifying spend (currency units) or points that reach this level. */
    entry: z.number().nonnegative(),
    /** What keeps the level at a review; defaults to `entry`. */
    retain: z.number().nonnegative().optional(),
    /** Multiplies the base points of every order while the customer holds this level. */
    multiplier: z.number().min(1).max(100).default(1),
  })
  .strict();

export const tiersSchema = z
  .object({
    /** spend: net order totals count at once; points: points count once they are available. */
    basis: z.enum(['spend', 'points']),
    window: z.union([
      z.object({ rollingDays: z.number().int().positive() }).strict(),
      z.object({ calendarYear: z.literal(true) }).strict(),
    ]),
    /** Downgrades happen only at a review: every year on this local date. */
    reviewOn: monthDayText,
    graceDays: days.default(0),
    levels: z.array(tierLevelSchema).min(1),
  })
  .strict()
  .superRefine((tiers, ctx) => {
    tiers.levels.forEach((level, i) => {
      const previous = tiers.levels[i - 1];
      if (i === 0 && level.entry !== 0)
        ctx.addIssue({
          code: 'custom',
          message: 'the first level is where everyone starts: entry must be 0',
          path: ['levels', 0, 'entry'],
        });
      if (previous && level.entry <= previous.entry)
        ctx.addIssue({
          code: 'custom',
          message: `must be above ${previous.id}'s entry ${previous.entry}`,
          path: ['levels', i, 'entry'],
        });
      if ((level.retain ?? level.entry) > level.entry)
        ctx.addIssue({
          code: 'custom',
          message: 'retain must not be above entry',
          path: ['levels', i, 'retain'],
        });
    });
    const ids = tiers.levels.map((l) => l.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i)
        ctx.addIssue({ code: 'custom', message: `tier ${id} is defined twice`, path: ['levels', i, 'id'] });
    });
  });

export const pointsPolicySchema = z
  .object({
    /** Points of an order stay pending (not spendable, not counted for tiers) until its return window closes. */
    pendingDays: z.number().int().nonnegative().default(0),
    expiry: z
      .object({
        /** Each lot of points expires this long after it was earned. */
        afterDays: z.number().int().positive().optional(),
        /** Every available point expires after this long without an order. */
        inactiveDays: z.number().int().positive().optional(),
        /** `points.expiring` fires this many days before points expire. */
        warnDaysBefore: z.number().int().nonnegative().default(0),
      })
      .strict()
      .default({ warnDaysBefore: 0 }),
    /** When a refund takes back points already spent: allow a negative balance, forgive, or owe them. */
    negativeBalance: z.enum(['allow', 'floor', 'debt']).default('debt'),
    /** What one point is worth in the program currency, for the liability report. */
    valuePerPoint: z.number().positive().default(0.01),
  })
  .strict();

/** What ingest refuses as implausible; a refused event waits in the dead-letter queue with its reason. */
export const limitsSchema = z
  .object({
    /** The largest order total, line price or refund, in currency units (rejected above). */
    maxOrderTotal: z.number().positive().max(1e12, 'must be at most 1e12').default(100_000),
    /**
     * How far an event's time may run ahead of the clock: shops' clocks drift, and a replay sends a
     * batch of a few days' orders at the clock of its first.
     */
    maxFutureDays: z.number().positive().max(366).default(7),
  })
  .strict();

export const programSchema = z
  .object({
    version: z.literal(1),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    name: z.string().min(1),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code such as USD'),
    /** The time zone for customers who have none and for scheduled flows. */
    timeZone: z.string().min(1).default('UTC'),
    /** Subscription topics emails belong to; transactional ones go even without marketing consent. */
    topics: z
      .array(
        z
          .object({
            id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
            name: z.string().min(1),
            transactional: z.boolean().default(false),
          })
          .strict(),
      )
      .default([]),
    sender: z
      .object({
        from: z.string().min(3, 'must be an address such as "Shop <hello@example.com>"'),
        replyTo: z.email().optional(),
        /**
         * Printed in the footer of every marketing email: CAN-SPAM wants a valid physical postal
         * address of the sender in each one. Lines break where the text does.
         */
        postalAddress: z
          .string()
          .trim()
          .min(10, 'must be the postal address printed in every marketing email (street, city, country)')
          .max(300),
      })
      .strict(),
    earn: earnRuleSchema,
    bonuses: z.array(bonusRuleSchema).default([]),
    campaigns: z.array(campaignSchema).default([]),
    /** One-off awards by name (signup, birthday, review, referral); signup is given at registration. */
    awards: z.record(slug, fixedAwardSchema).default({}),
    points: pointsPolicySchema.default({
      pendingDays: 0,
      expiry: { warnDaysBefore: 0 },
      negativeBalance: 'debt',
      valuePerPoint: 0.01,
    }),
    rewards: z.array(rewardSchema).default([]),
    tiers: tiersSchema.optional(),
    limits: limitsSchema.default({ maxOrderTotal: 100_000, maxFutureDays: 7 }),
  })
  .strict()
  .superRefine((program, ctx) => {
    const levels = new Set(program.tiers?.levels.map((l) => l.id) ?? []);
    program.rewards.forEach((reward, i) => {
      reward.tiers?.forEach((tier, j) => {
        if (!levels.has(tier))
          ctx.addIssue({
            code: 'custom',
            message: `tier ${tier} is not defined under tiers.levels`,
            path: ['rewards', i, 'tiers', j],
          });
      });
    });
    const ids = [program.earn.id, ...program.bonuses.map((b) => b.id), ...program.campaigns.map((c) => c.id)];
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i)
        ctx.addIssue({ code: 'custom', message: `rule id ${id} is used twice`, path: [] });
    });
  });

export type Program = z.infer<typeof programSchema>;
export type EarnRule = z.infer<typeof earnRuleSchema>;
export type BonusRule = z.infer<typeof bonusRuleSchema>;
export type Campaign = z.infer<typeof campaignSchema>;
export type Reward = z.infer<typeof rewardSchema>;
export type Tiers = z.infer<typeof tiersSchema>;
export type TierLevel = z.infer<typeof tierLevelSchema>;
export type PointsPolicy = z.infer<typeof pointsPolicySchema>;
export type Limits = z.infer<typeof limitsSchema>;

/** The email address inside `Shop <hello@example.com>`. */
export const senderAddress = (from: string): string => /<([^>]+)>/.exec(from)?.[1] ?? from.trim();
export const senderDomain = (from: string): string => senderAddress(from).split('@')[1] ?? '';
