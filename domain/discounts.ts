import * as z from 'zod';

// What a coupon takes off, declared once. Two spellings use it: a flow's `issue_coupon` names the
// value (`{ percent: 10 }`), a program reward names its kind (`kind: percentage, percent: 10`);
// both, the stored coupons and the ports take their shapes from here.

/** The value each discount carries. */
export const discountValue = {
  amount: z.number().positive(),
  percent: z.number().positive().max(100),
  sku: z.string().min(1),
} as const;

/** A reward's kind and the value it needs (free shipping needs none). */
export const REWARD_KINDS = {
  fixed_discount: 'amount',
  percentage: 'percent',
  free_shipping: undefined,
  free_product: 'sku',
} as const satisfies Record<string, keyof typeof discountValue | undefined>;
export type RewardKind = keyof typeof REWARD_KINDS;

/** A reward's discount, as program.yaml, reward coupons and their items spell it. */
export const rewardDiscountSchema = z.object({
  kind: z.enum(Object.keys(REWARD_KINDS) as [RewardKind, ...RewardKind[]]),
  amount: discountValue.amount.optional(),
  percent: discountValue.percent.optional(),
  sku: discountValue.sku.optional(),
});
export type RewardDiscount = z.infer<typeof rewardDiscountSchema>;

/** A flow coupon's discount, as `issue_coupon` spells it: one of these, exactly. */
export const couponDiscountSchema = z.union([
  z.object({ percent: discountValue.percent }).strict(),
  z.object({ amount: discountValue.amount }).strict(),
  z.object({ free_shipping: z.literal(true) }).strict(),
]);
export type CouponDiscount = z.infer<typeof couponDiscountSchema>;
