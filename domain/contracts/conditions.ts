import * as z from 'zod';

// A flow's entry condition, declared here rather than with the rest of the flow language
// (workflow/flow-schema.ts) because the sweeper's input and the Broadcast's carry them to Lambdas,
// whose bundles must not hold the compiler's modules.

const fieldPath = z
  .string()
  .regex(
    /^(profile|event)\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/,
    'must start with profile. or event. and name a field, e.g. profile.orderCount',
  );

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One condition on the customer profile or the trigger event. */
export const conditionSchema = z.union([
  z.object({ field: fieldPath, equals: scalar }).strict(),
  z.object({ field: fieldPath, not_equals: scalar }).strict(),
  z.object({ field: fieldPath, gt: z.number() }).strict(),
  z.object({ field: fieldPath, gte: z.number() }).strict(),
  z.object({ field: fieldPath, lt: z.number() }).strict(),
  z.object({ field: fieldPath, lte: z.number() }).strict(),
  z.object({ field: fieldPath, exists: z.boolean() }).strict(),
  z.object({ field: fieldPath, starts_with: z.string() }).strict(),
  z
    .object({ tag: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, - and _') })
    .strict(),
  z
    .object({ not_tag: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, - and _') })
    .strict(),
]);
export type Condition = z.infer<typeof conditionSchema>;
