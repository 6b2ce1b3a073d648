import * as z from 'zod';
import { InvalidEventError } from './errors.ts';
import { fractionDigits } from './money.ts';

// Shopify's webhooks as EventBridge's partner integration delivers them, mapped to the canonical
// envelope that parseCommerceEvent parses like any other. The partner event is
// `{ source: 'aws.partner/shopify.com/<app id>/<name>', 'detail-type': 'shopifyWebhook',
//    detail: { payload: <the webhook body unchanged>, metadata: <the webhook headers> } }`.
// Which Shopify field wins, and why, is in docs/shopify.md; the rules in short: ids come from the
// `admin_graphql_api_id` gid strings (Shopify ids exceed 2^53 and must never pass through a JS
// number), money from `*_set.shop_money` (the shop's currency, not the customer's), the order total
// as placed (refunds come as their own events), and the webhook id as the envelope id (Shopify
// retries a delivery under the same id).

export const SHOPIFY_DETAIL_TYPE = 'shopifyWebhook';
export const SHOPIFY_SOURCE_PREFIX = 'aws.partner/shopify.com/';

/**
 * Where the partner rule's input transformer puts the digits of numeric ids that a JSON number
 * cannot carry exactly (a refund's `order_id`): EventBridge substitutes them as text, in quotes.
 */
export const EXACT_FIELD = 'exact';

/**
 * A partner event from Shopify. Only AWS may publish `aws.*` sources (PutEvents refuses them with
 * NotAuthorizedForSourceException), so such an envelope came from Shopify through the partner bus.
 */
export const isShopifyEnvelope = (input: unknown): boolean => {
  const envelope = z.object({ source: z.string(), 'detail-type': z.string() }).safeParse(input);
  return (
    envelope.success &&
    envelope.data.source.startsWith(SHOPIFY_SOURCE_PREFIX) &&
    envelope.data['detail-type'] === SHOPIFY_DETAIL_TYPE
  );
};

/** A canonical envelope for parseCommerceEvent, or why the webhook changes nothing in Rapport. */
export type ShopifyMapping =
  | { envelope: { id: string; 'detail-type': string; source: string; detail: Record<string, unknown> } }
  | { ignored: string };

export const SHOPIFY_TOPICS = [
  'orders/create',
  'orders/paid',
  'orders/cancelled',
  'refunds/create',
  'customers/create',
  'customers/update',
] as const;

// ---- the payload's parts -------------------------------------------------------------------------

const gid = (kind: string) =>
  z
    .string()
    .regex(new RegExp(`^gid://shopify/${kind}/[1-9][0-9]{0,19}$`), `must be a gid://shopify/${kind}/<id>`)
    .transform((text) => text.slice(`gid://shopify/${kind}/`.length));

/** Shopify's decimal strings ("199.00"); kept as text until they become minor units. */
const decimal = z.string().regex(/^-?\d{1,13}(\.\d{1,6})?$/, 'must be a decimal amount such as "19.99"');
const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code');
const moneyBag = z.object({
  shop_money: z.object({ amount: decimal, currency_code: currencyCode }),
  presentment_money: z.object({ amount: decimal, currency_code: currencyCode }).optional(),
});
const time = z.string().min(1, 'must not be empty');
const optionalText = z.string().nullish();

const consentSchema = z
  .object({
    state: z.string(),
    consent_updated_at: z.string().nullish(),
  })
  .nullish();

const customerSchema = z.object({
  admin_graphql_api_id: gid('Customer'),
  email: optionalText,
  first_name: optionalText,
  last_name: optionalText,
  created_at: time,
  updated_at: time.nullish(),
  email_marketing_consent: consentSchema,
  default_address: z.object({ name: optionalText }).nullish(),
});

const orderSchema = z.object({
  admin_graphql_api_id: gid('Order'),
  email: optionalText,
  contact_email: optionalText,
  created_at: time,
  processed_at: time.nullish(),
  cancelled_at: time.nullish(),
  cancel_reason: optionalText,
  financial_status: z.string().nullish(),
  /** An order placed with Shopify's test gateway (Bogus Gateway, a development store). */
  test: z.boolean().nullish(),
  total_price_set: moneyBag,
  discount_codes: z
    .array(z.object({ code: z.string() }))
    .max(100)
    .default([]),
  line_items: z
    .array(
      z.object({
        admin_graphql_api_id: gid('LineItem'),
        sku: optionalText,
        variant_id: z.number().nullish(),
        name: optionalText,
        title: optionalText,
        quantity: z.number(),
        price_set: moneyBag,
      }),
    )
    .max(500),
  billing_address: z.object({ name: optionalText }).nullish(),
  // The order's copy of its customer may leave out the customer's own times.
  customer: customerSchema.extend({ created_at: time.nullish() }).nullish(),
});

const refundSchema = z.object({
  admin_graphql_api_id: gid('Refund'),
  created_at: time,
  processed_at: time.nullish(),
  note: optionalText,
  transactions: z
    .array(
      z.object({
        kind: z.string(),
        status: z.string(),
        amount: decimal,
        currency: currencyCode,
      }),
    )
    .default([]),
  refund_line_items: z
    .array(z.object({ subtotal_set: moneyBag.optional(), total_tax_set: moneyBag.optional() }))
    .default([]),
  refund_shipping_lines: z.array(z.object({ subtotal_amount_set: moneyBag.optional() })).default([]),
  order_adjustments: z
    .array(z.object({ amount_set: moneyBag.optional(), tax_amount_set: moneyBag.optional() }))
    .default([]),
});

// ---- helpers -------------------------------------------------------------------------------------

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}
const reject = (issues: readonly Issue[], prefix: string): never => {
  const field = (issue: Issue | undefined) => [prefix, ...(issue?.path ?? []).map(String)].join('.');
  throw new InvalidEventError(
    issues.map((issue) => `${field(issue)}: ${issue.message}`).join('; '),
    field(issues[0]),
  );
};
const parseWith = <T>(schema: z.ZodType<T>, value: unknown, prefix: string): T => {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : reject(parsed.error.issues, prefix);
};

/** A Shopify decimal string in minor units of its currency, without a float on the way. */
const toMinor = (amount: string, currency: string, field: string): bigint => {
  const digits = fractionDigits(currency);
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.');
  if (fraction.slice(digits).replace(/0/g, '') !== '')
    throw new InvalidEventError(
      `${field}: ${amount} has more decimals than ${currency} allows (${digits})`,
      field,
    );
  const minor = BigInt(whole + fraction.slice(0, digits).padEnd(digits, '0'));
  return amount.startsWith('-') ? -minor : minor;
};
/** Minor units back to the canonical number (exact: amounts stay far below 2^53 minor units). */
const fromMinor = (minor: bigint, currency: string): number => Number(minor) / 10 ** fractionDigits(currency);

const text = (value: string | null | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
};

const fullName = (first?: string | null, last?: string | null): string | undefined =>
  text([first, last].map((part) => part?.trim() ?? '').join(' '));

/**
 * Email marketing consent as Shopify states it: `subscribed` is a yes and `unsubscribed` a no, as of
 * `consent_updated_at`. `not_subscribed` (never asked or never answered), `pending` (double opt-in
 * not confirmed), `invalid`, `redacted` or no consent object say nothing Rapport may act on: a
 * "no" nobody said would withdraw a consent the customer gave Rapport elsewhere.
 */
const consentOf = (
  consent: z.infer<typeof consentSchema>,
): { marketingConsent?: boolean; consentAt?: string } => {
  const granted =
    consent?.state === 'subscribed' ? true : consent?.state === 'unsubscribed' ? false : undefined;
  if (granted === undefined) return {};
  return {
    marketingConsent: granted,
    ...(consent?.consent_updated_at ? { consentAt: consent.consent_updated_at } : {}),
  };
};

/** The headers Shopify sent, found whatever their case (and with or without the `X-` prefix). */
const header = (metadata: Record<string, unknown>, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(metadata)) {
    const lower = key.toLowerCase();
    if ((lower === wanted || lower === wanted.replace(/^x-/, '')) && typeof value === 'string') return value;
  }
  return undefined;
};

const partnerEnvelope = z.object({
  id: z.string(),
  source: z.string().startsWith(SHOPIFY_SOURCE_PREFIX, `must start with ${SHOPIFY_SOURCE_PREFIX}`),
  'detail-type': z.literal(SHOPIFY_DETAIL_TYPE),
  detail: z.object({
    payload: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
  }),
  [EXACT_FIELD]: z
    .object({ order_id: z.string().regex(/^[1-9][0-9]{0,19}$/, 'must be the digits of an id') })
    .optional(),
});

// Shopify's financial statuses once the money is taken (or was, and went back since).
const PAID = new Set(['paid', 'partially_refunded', 'refunded']);
// Never paid: an authorization voided, or nothing captured yet.
const NEVER_PAID = new Set(['pending', 'authorized', 'voided', 'expired']);

// ---- the mapping ---------------------------------------------------------------------------------

/**
 * Maps a Shopify partner event to the canonical envelope, or says why it changes nothing. Throws
 * InvalidEventError naming the field (`detail.payload.total_price_set.shop_money.amount: ...`) when
 * the payload is not what Shopify documents.
 */
export const mapShopifyEvent = (input: unknown): ShopifyMapping => {
  const event = parseWith(partnerEnvelope, input, '');
  const { payload, metadata } = event.detail;
  const topic = header(metadata, 'X-Shopify-Topic');
  if (topic === undefined)
    throw new InvalidEventError(
      'detail.metadata.X-Shopify-Topic: must be given (the webhook topic header)',
      'detail.metadata.X-Shopify-Topic',
    );
  if (!(SHOPIFY_TOPICS as readonly string[]).includes(topic))
    return { ignored: `topic ${JSON.stringify(topic.slice(0, 64))} is not one Rapport listens to` };
  const webhookId = text(header(metadata, 'X-Shopify-Webhook-Id'));
  if (webhookId === undefined)
    throw new InvalidEventError(
      'detail.metadata.X-Shopify-Webhook-Id: must be given (the idempotency key of the delivery)',
      'detail.metadata.X-Shopify-Webhook-Id',
    );
  const canonical = (type: string, detail: Record<string, unknown>): ShopifyMapping => ({
    envelope: { id: webhookId, 'detail-type': type, source: event.source, detail },
  });
  const at = 'detail.payload';

  switch (topic) {
    case 'orders/create':
    case 'orders/paid':
    case 'orders/cancelled': {
      const order = parseWith(orderSchema, payload, at);
      const orderId = order.admin_graphql_api_id;
      const status = order.financial_status ?? '';
      // A test checkout moves no money: it must not earn points, count towards a tier or mail anyone.
      if (order.test === true) return { ignored: `order ${orderId} is a test order (test: true)` };
      if (topic === 'orders/cancelled') {
        if (NEVER_PAID.has(status) || !order.cancelled_at)
          return {
            ignored: order.cancelled_at
              ? `order ${orderId} was never paid (financial_status ${status}): Rapport recorded nothing to reverse`
              : `order ${orderId} carries no cancelled_at`,
          };
        return canonical('order.cancelled', {
          version: 1,
          orderId,
          ...(order.customer ? { customerId: order.customer.admin_graphql_api_id } : {}),
          cancelledAt: order.cancelled_at,
          ...(text(order.cancel_reason) ? { reason: text(order.cancel_reason) } : {}),
        });
      }
      if (topic === 'orders/create' && !PAID.has(status))
        return {
          ignored: `order ${orderId} is not paid yet (financial_status ${status}): waits for orders/paid`,
        };
      const customer = order.customer;
      if (!customer) return { ignored: `order ${orderId} has no customer: nobody to award points to` };
      const email = text(order.email) ?? text(order.contact_email) ?? text(customer.email);
      if (!email)
        return { ignored: `order ${orderId} has no email address: Rapport cannot tell whose it is` };
      const shop = order.total_price_set.shop_money;
      const money = (amount: string, field: string) =>
        fromMinor(toMinor(amount, shop.currency_code, field), shop.currency_code);
      const items = order.line_items.map((item, i) => {
        const field = `${at}.line_items.${i}.price_set.shop_money`;
        if (item.price_set.shop_money.currency_code !== shop.currency_code)
          throw new InvalidEventError(
            `${field}.currency_code: ${item.price_set.shop_money.currency_code} is not the order's shop currency ${shop.currency_code}`,
            `${field}.currency_code`,
          );
        return {
          // A line without a SKU is named by its variant, which is stable across orders.
          sku:
            text(item.sku) ??
            (item.variant_id != null && Number.isSafeInteger(item.variant_id)
              ? `variant-${item.variant_id}`
              : `line-item-${item.admin_graphql_api_id}`),
          ...(text(item.name ?? item.title) ? { name: text(item.name ?? item.title) } : {}),
          quantity: item.quantity,
          unitPrice: money(item.price_set.shop_money.amount, `${field}.amount`),
        };
      });
      const codes = order.discount_codes.map((d) => text(d.code)).filter((c): c is string => c !== undefined);
      return canonical('order.placed', {
        version: 1,
        orderId,
        customerId: customer.admin_graphql_api_id,
        email,
        name:
          fullName(customer.first_name, customer.last_name) ??
          text(customer.default_address?.name) ??
          text(order.billing_address?.name) ??
          email,
        currency: shop.currency_code,
        total: money(shop.amount, `${at}.total_price_set.shop_money.amount`),
        items,
        placedAt: order.processed_at ?? order.created_at,
        ...(codes.length > 0 ? { discountCodes: codes } : {}),
      });
    }
    case 'refunds/create': {
      const refund = parseWith(refundSchema, payload, at);
      const orderId = refundOrderId(payload.order_id, event[EXACT_FIELD]?.order_id);
      const amount = refundAmount(refund);
      if (amount.minor <= 0n)
        return {
          ignored: `refund ${refund.admin_graphql_api_id} returned no money (no successful refund transaction)`,
        };
      const reason = text(refund.note);
      return canonical('order.refunded', {
        version: 1,
        refundId: refund.admin_graphql_api_id,
        orderId,
        currency: amount.currency,
        amount: fromMinor(amount.minor, amount.currency),
        refundedAt: refund.processed_at ?? refund.created_at,
        ...(reason ? { reason } : {}),
      });
    }
    default: {
      const customer = parseWith(customerSchema, payload, at);
      const email = text(customer.email);
      if (!email)
        return {
          ignored: `customer ${customer.admin_graphql_api_id} has no email address: nobody to write to`,
        };
      return canonical('customer.registered', {
        version: 1,
        customerId: customer.admin_graphql_api_id,
        email,
        name:
          fullName(customer.first_name, customer.last_name) ?? text(customer.default_address?.name) ?? email,
        registeredAt: customer.created_at,
        ...(customer.updated_at ? { updatedAt: customer.updated_at } : {}),
        ...consentOf(customer.email_marketing_consent),
      });
    }
  }
};

/**
 * The refund payload names its order only by a JSON number. The partner rule's input transformer
 * carries its digits as text (`exact.order_id`); without them a number is taken only while it is a
 * safe integer, and refused otherwise: its digits were lost when the JSON was parsed.
 */
const refundOrderId = (raw: unknown, exact: string | undefined): string => {
  const field = 'detail.payload.order_id';
  if (exact !== undefined) {
    // Both are the same text of the same field; a mismatch within the safe range is a broken transformer.
    if (typeof raw === 'number' && Number.isSafeInteger(raw) && String(raw) !== exact)
      throw new InvalidEventError(
        `${field}: ${raw} differs from its exact digits ${exact} (exact.order_id)`,
        field,
      );
    return exact;
  }
  if (typeof raw === 'string' && /^[1-9][0-9]{0,19}$/.test(raw)) return raw;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw <= 0)
    throw new InvalidEventError(`${field}: must be the id of the refunded order`, field);
  if (!Number.isSafeInteger(raw))
    throw new InvalidEventError(
      `${field}: ${raw} is above 2^53 and its digits were lost in JSON parsing; deliver it through the partner rule, whose input transformer keeps them (exact.order_id)`,
      field,
    );
  return String(raw);
};

/**
 * What went back: the refund's successful refund transactions. Shopify states their amounts in the
 * order's presentment currency (the customer's) and gives no shop-currency amount for them; the
 * refund's own lines, shipping and adjustments carry both (`*_set`), so a transaction in another
 * currency is converted at the rate Shopify applied to this refund (their shop total over their
 * presentment total).
 */
const refundAmount = (refund: z.infer<typeof refundSchema>): { minor: bigint; currency: string } => {
  const at = 'detail.payload';
  const bags = [
    ...refund.refund_line_items.flatMap((line, i) => [
      [line.subtotal_set, `${at}.refund_line_items.${i}.subtotal_set`] as const,
      [line.total_tax_set, `${at}.refund_line_items.${i}.total_tax_set`] as const,
    ]),
    ...refund.refund_shipping_lines.map(
      (line, i) =>
        [line.subtotal_amount_set, `${at}.refund_shipping_lines.${i}.subtotal_amount_set`] as const,
    ),
    ...refund.order_adjustments.flatMap((adjustment, i) => [
      [adjustment.amount_set, `${at}.order_adjustments.${i}.amount_set`] as const,
      [adjustment.tax_amount_set, `${at}.order_adjustments.${i}.tax_amount_set`] as const,
    ]),
  ].flatMap(([bag, field]) => (bag ? [{ bag, field }] : []));
  const successful = refund.transactions
    .map((transaction, i) => ({ transaction, field: `${at}.transactions.${i}` }))
    .filter(({ transaction }) => transaction.kind === 'refund' && transaction.status === 'success');
  const [first] = successful;
  if (!first) return { minor: 0n, currency: bags[0]?.bag.shop_money.currency_code ?? 'USD' };
  const paidIn = first.transaction.currency;
  for (const { transaction, field } of successful)
    if (transaction.currency !== paidIn)
      throw new InvalidEventError(
        `${field}.currency: ${transaction.currency} differs from the refund's other transactions (${paidIn})`,
        `${field}.currency`,
      );
  const presented = successful.reduce(
    (sum, { transaction, field }) => sum + toMinor(transaction.amount, paidIn, `${field}.amount`),
    0n,
  );
  const shopCurrency = bags[0]?.bag.shop_money.currency_code ?? paidIn;
  if (shopCurrency === paidIn) return { minor: presented, currency: shopCurrency };
  let shopTotal = 0n;
  let presentmentTotal = 0n;
  for (const { bag, field } of bags) {
    const presentment = bag.presentment_money;
    if (bag.shop_money.currency_code !== shopCurrency || presentment?.currency_code !== paidIn) continue;
    const abs = (n: bigint) => (n < 0n ? -n : n);
    shopTotal += abs(toMinor(bag.shop_money.amount, shopCurrency, `${field}.shop_money.amount`));
    presentmentTotal += abs(toMinor(presentment.amount, paidIn, `${field}.presentment_money.amount`));
  }
  if (presentmentTotal === 0n)
    throw new InvalidEventError(
      `${at}.transactions: refunded in ${paidIn}, not the shop currency ${shopCurrency}, and no line, shipping line or adjustment of the refund gives both amounts to convert by`,
      `${at}.transactions`,
    );
  // Rounded half up to the shop currency's minor unit.
  const minor = (presented * shopTotal * 2n + presentmentTotal) / (presentmentTotal * 2n);
  return { minor, currency: shopCurrency };
};
