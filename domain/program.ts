import * as z from 'zod';

// The loyalty program a marketer edits in workflows/program.yaml.

export const roundingSchema = z.enum(['floor', 'round', 'ceil']);

export const earnRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    version: z.number().int().positive(),
    description: z.string().optional(),
    pointsPerCurrencyUnit: z.number().positive('must be more than zero').max(1000),
    rounding: roundingSchema.default('floor'),
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
      })
      .strict(),
    earn: earnRuleSchema,
  })
  .strict();

export type Program = z.infer<typeof programSchema>;
export type EarnRule = z.infer<typeof earnRuleSchema>;

/** The email address inside `Shop <hello@example.com>`. */
export const senderAddress = (from: string): string => /<([^>]+)>/.exec(from)?.[1] ?? from.trim();
export const senderDomain = (from: string): string => senderAddress(from).split('@')[1] ?? '';
