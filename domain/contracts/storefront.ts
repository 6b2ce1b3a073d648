import * as z from 'zod';
import { redeemInputSchema } from './tasks.ts';

// What the shop's backend sends the storefront API, declared once: the signed HTTP routes parse
// their bodies with these, and the Storefront function (invoked with IAM) its input.

const id = z.string().min(1).max(128);

/** The most points one adjustment may add or take: a typo of a few zeros is refused, not posted. */
export const MAX_ADJUSTMENT = 100_000;

export const redemptionRequestSchema = z.object({
  rewardId: id,
  /** The shop's id for this request: a retry with the same id returns the same coupon, debited once. */
  requestId: id,
});

export const adjustmentRequestSchema = z.object({
  points: z
    .number()
    .int('must be a whole number of points')
    .min(-MAX_ADJUSTMENT, `must be at least -${MAX_ADJUSTMENT}`)
    .max(MAX_ADJUSTMENT, `must be at most ${MAX_ADJUSTMENT}`)
    .refine((points) => points !== 0, 'must not be zero'),
  /** Why: shown in the ledger and `rapport customer`, for the audit. */
  reason: z.string().trim().min(1, 'say why the points change').max(500),
  /** Who: the agent or system making the change. */
  actor: z.string().trim().min(1, 'name who makes the change').max(128),
  requestId: id,
});
export type AdjustmentRequest = z.infer<typeof adjustmentRequestSchema>;

/** A coupon code as typed at checkout: codes are issued in capitals, so case does not matter. */
export const couponCodeSchema = z
  .string()
  .trim()
  .min(1, 'must be a coupon code')
  .max(64)
  .transform((code) => code.toUpperCase());

/** The Storefront function's input: one action per call. */
export const storefrontInputSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('status'), customerId: id }),
  redeemInputSchema.extend({ action: z.literal('redeem') }),
  z.object({ action: z.literal('check-coupon'), code: couponCodeSchema }),
  adjustmentRequestSchema.extend({ action: z.literal('adjust'), customerId: id }),
]);
export type StorefrontInput = z.infer<typeof storefrontInputSchema>;
