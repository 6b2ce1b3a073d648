import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matchesEventPattern } from '../../domain/event-pattern.ts';
import { factKey, parseCommerceEvent } from '../../domain/events.ts';
import {
  EXACT_FIELD,
  isShopifyEnvelope,
  mapShopifyEvent,
  type ShopifyMapping,
} from '../../domain/shopify.ts';
import { shopifyIngestRules } from '../../domain/workflow/patterns.ts';
import { eventContext } from '../support/parse.ts';

// Shopify's webhooks as the partner integration delivers them (tests/fixtures/shopify, modelled on
// Shopify's documented payloads: a shop in USD selling in EUR, ids above 2^53), mapped to canonical
// envelopes and parsed as every other event is.

const context = eventContext('2026-04-10T12:00:00Z');

/** A fixture as the Lambda runtime hands it over: JSON.parse, so numbers above 2^53 are already rounded. */
const webhook = (
  name: string,
): Record<string, unknown> & {
  detail: { payload: Record<string, unknown>; metadata: Record<string, string> };
} => JSON.parse(readFileSync(new URL(`../fixtures/shopify/${name}.json`, import.meta.url), 'utf8'));

/** As the refunds rule's input transformer delivers it: the order_id's digits beside the event. */
const transformed = (name: string) => {
  const text = readFileSync(new URL(`../fixtures/shopify/${name}.json`, import.meta.url), 'utf8');
  const digits = /"order_id": (\d+)/.exec(text)?.[1];
  return { ...webhook(name), [EXACT_FIELD]: { order_id: digits } };
};

const envelopeOf = (mapping: ShopifyMapping) => {
  if ('ignored' in mapping) throw new Error(`expected a canonical envelope, got ignored: ${mapping.ignored}`);
  return mapping.envelope;
};
const reasonOf = (mapping: ShopifyMapping) => ('ignored' in mapping ? mapping.ignored : undefined);

describe('Shopify orders', () => {
  it('maps a paid multi-currency order to order.placed in the shop currency, as placed, with exact ids', () => {
    const envelope = envelopeOf(mapShopifyEvent(webhook('orders-paid-multi-currency')));
    expect(envelope.id).toBe('b54557e4-bdd9-4b37-8a5f-bf7d70bcd043');
    expect(envelope['detail-type']).toBe('order.placed');
    expect(envelope.detail).toEqual({
      version: 1,
      orderId: '820982911946154508',
      customerId: '115310627314723954',
      email: 'jane.doe@example.com',
      name: 'Jane Doe',
      // total_price_set.shop_money: not the EUR presentment amount (225.26).
      currency: 'USD',
      total: 243.1,
      items: [
        { sku: 'IPOD2008BLACK', name: 'IPod Nano - 8gb - black', quantity: 1, unitPrice: 199 },
        { sku: 'CASE-RED', name: 'Leather case - red', quantity: 2, unitPrice: 30 },
      ],
      placedAt: '2026-03-12T10:15:44-04:00',
      discountCodes: ['RAPPORT-7K2Q-WELCOME'],
    });
    const parsed = parseCommerceEvent(envelope, context);
    expect(parsed.type === 'order.placed' && parsed.detail.discountCodes).toEqual(['RAPPORT-7K2Q-WELCOME']);
  });

  it('takes the total as placed, not current_total_price, which refunds and edits lower', () => {
    const event = webhook('orders-paid-multi-currency');
    event.detail.payload.current_total_price_set = {
      shop_money: { amount: '100.00', currency_code: 'USD' },
      presentment_money: { amount: '92.66', currency_code: 'EUR' },
    };
    expect(envelopeOf(mapShopifyEvent(event)).detail.total).toBe(243.1);
  });

  it('makes orders/create of a paid order and its orders/paid one fact: the same order.placed', () => {
    const created = parseCommerceEvent(envelopeOf(mapShopifyEvent(webhook('orders-create-paid'))), context);
    const paid = parseCommerceEvent(
      envelopeOf(mapShopifyEvent(webhook('orders-paid-multi-currency'))),
      context,
    );
    expect(created.eventId).not.toBe(paid.eventId);
    expect(factKey(created)).toBe(factKey(paid));
    expect(factKey(paid)).toBe('order.placed:820982911946154508');
  });

  it('lets an unpaid orders/create wait for orders/paid', () => {
    expect(reasonOf(mapShopifyEvent(webhook('orders-create-pending')))).toMatch(
      /not paid yet \(financial_status pending\): waits for orders\/paid/,
    );
  });

  it('ignores a test order: a checkout with the test gateway moves no money', () => {
    const event = webhook('orders-paid-multi-currency');
    event.detail.payload.test = true;
    expect(reasonOf(mapShopifyEvent(event))).toMatch(/is a test order/);
  });

  it('ignores an order without a customer: nobody to award points to', () => {
    expect(reasonOf(mapShopifyEvent(webhook('orders-paid-no-customer')))).toMatch(/no customer/);
  });

  it('ignores an order without any email address, and otherwise takes the customer’s', () => {
    const event = webhook('orders-paid-multi-currency');
    const payload = event.detail.payload as Record<string, unknown> & { customer: Record<string, unknown> };
    payload.email = null;
    payload.contact_email = '';
    expect(envelopeOf(mapShopifyEvent(event)).detail.email).toBe('jane.doe@example.com');
    payload.customer.email = null;
    expect(reasonOf(mapShopifyEvent(event))).toMatch(/no email address/);
  });

  it('names a line without a SKU by its variant', () => {
    const event = webhook('orders-paid-multi-currency');
    (event.detail.payload.line_items as Record<string, unknown>[])[1]!.sku = '';
    const items = envelopeOf(mapShopifyEvent(event)).detail.items as { sku: string }[];
    expect(items.map((item) => item.sku)).toEqual(['IPOD2008BLACK', 'variant-49148385']);
  });

  it('rejects an order without its shop-currency total, naming the field', () => {
    const event = webhook('orders-paid-multi-currency');
    delete event.detail.payload.total_price_set;
    expect(() => mapShopifyEvent(event)).toThrow(/^detail\.payload\.total_price_set: /);
    const wrong = webhook('orders-paid-multi-currency');
    wrong.detail.payload.total_price_set = { shop_money: { amount: 243.1, currency_code: 'USD' } };
    expect(() => mapShopifyEvent(wrong)).toThrow(/detail\.payload\.total_price_set\.shop_money\.amount: /);
  });

  it('refuses an order id that is not a gid string (a JSON number would have lost digits)', () => {
    const event = webhook('orders-paid-multi-currency');
    event.detail.payload.admin_graphql_api_id = Number('820982911946154508');
    expect(() => mapShopifyEvent(event)).toThrow(/detail\.payload\.admin_graphql_api_id: /);
  });
});

describe('Shopify cancellations', () => {
  it('maps the cancellation of a paid order to order.cancelled', () => {
    const envelope = envelopeOf(mapShopifyEvent(webhook('orders-cancelled-paid')));
    expect(envelope['detail-type']).toBe('order.cancelled');
    expect(envelope.detail).toEqual({
      version: 1,
      orderId: '820982911946154508',
      customerId: '115310627314723954',
      cancelledAt: '2026-03-13T08:02:11-04:00',
      reason: 'customer',
    });
    expect(parseCommerceEvent(envelope, context)).toMatchObject({ type: 'order.cancelled' });
  });

  it('ignores the cancellation of an order that was never paid: nothing was recorded', () => {
    expect(reasonOf(mapShopifyEvent(webhook('orders-cancelled-unpaid')))).toMatch(/never paid.*voided/);
  });
});

describe('Shopify refunds', () => {
  it('converts a multi-currency refund’s successful transactions to the shop currency, without a customer', () => {
    const envelope = envelopeOf(mapShopifyEvent(transformed('refunds-create-partial-multi-currency')));
    expect(envelope.detail).toEqual({
      version: 1,
      refundId: '509562969',
      orderId: '820982911946154508',
      // 23.35 EUR (the failed attempt not counted) at this refund's own rate: 28.80 USD for 26.69 EUR.
      currency: 'USD',
      amount: 25.2,
      refundedAt: '2026-03-14T09:24:45-04:00',
      reason: 'One case arrived scratched',
    });
    // The canonical schema takes it without a customer: the order's record names one.
    const parsed = parseCommerceEvent(envelope, context);
    expect(parsed).toMatchObject({ type: 'order.refunded', detail: { orderId: '820982911946154508' } });
    expect(parsed.detail.customerId).toBeUndefined();
  });

  it('refuses a refund whose order_id above 2^53 came without its exact digits, naming the field', () => {
    expect(() => mapShopifyEvent(webhook('refunds-create-partial-multi-currency'))).toThrow(
      /^detail\.payload\.order_id: 820982911946154500 is above 2\^53/,
    );
  });

  it('takes a refund’s order_id that is a safe integer as it is', () => {
    const envelope = envelopeOf(mapShopifyEvent(webhook('refunds-create-shipping-only')));
    expect(envelope.detail).toMatchObject({ orderId: '5678901234567', currency: 'USD', amount: 10 });
    expect(envelope.detail).not.toHaveProperty('reason');
  });

  it('refuses exact digits that contradict the safe number they stand for', () => {
    const event = {
      ...webhook('refunds-create-shipping-only'),
      [EXACT_FIELD]: { order_id: '5678901234568' },
    };
    expect(() => mapShopifyEvent(event)).toThrow(/^detail\.payload\.order_id: 5678901234567 differs/);
  });

  it('ignores a refund that returned no money (a restock)', () => {
    expect(reasonOf(mapShopifyEvent(webhook('refunds-create-restock-only')))).toMatch(/returned no money/);
  });

  it('refuses a refund in another currency with nothing to convert it by', () => {
    const event = webhook('refunds-create-shipping-only');
    const payload = event.detail.payload as { transactions: { currency: string }[] };
    payload.transactions[0]!.currency = 'EUR';
    expect(() => mapShopifyEvent(event)).toThrow(/^detail\.payload\.transactions: refunded in EUR/);
  });
});

describe('Shopify customers', () => {
  it('maps customers/create with its consent and the time it was given', () => {
    const envelope = envelopeOf(mapShopifyEvent(webhook('customers-create-subscribed')));
    expect(envelope['detail-type']).toBe('customer.registered');
    expect(envelope.detail).toEqual({
      version: 1,
      customerId: '115310627314723954',
      email: 'jane.doe@example.com',
      name: 'Jane Doe',
      registeredAt: '2026-01-05T09:12:03-05:00',
      updatedAt: '2026-01-05T09:12:04-05:00',
      marketingConsent: true,
      consentAt: '2026-01-05T09:12:03-05:00',
    });
    expect(parseCommerceEvent(envelope, context).type).toBe('customer.registered');
  });

  it('maps an unsubscribe in customers/update to a withdrawn consent as of consent_updated_at', () => {
    const detail = envelopeOf(mapShopifyEvent(webhook('customers-update-unsubscribed'))).detail;
    expect(detail).toMatchObject({
      marketingConsent: false,
      consentAt: '2026-04-02T18:40:00-04:00',
      updatedAt: '2026-04-02T18:40:01-04:00',
    });
  });

  it('reads not_subscribed and a missing consent as unknown, never as subscribed', () => {
    const notSubscribed = envelopeOf(mapShopifyEvent(webhook('customers-create-not-subscribed'))).detail;
    expect(notSubscribed).not.toHaveProperty('marketingConsent');
    expect(notSubscribed).not.toHaveProperty('consentAt');
    const event = webhook('customers-create-subscribed');
    delete event.detail.payload.email_marketing_consent;
    expect(envelopeOf(mapShopifyEvent(event)).detail).not.toHaveProperty('marketingConsent');
  });

  it('ignores a customer without an email address', () => {
    expect(reasonOf(mapShopifyEvent(webhook('customers-create-no-email')))).toMatch(/no email address/);
  });
});

describe('the Shopify envelope', () => {
  it('reads the webhook headers whatever their case', () => {
    const event = webhook('customers-create-subscribed');
    event.detail.metadata = Object.fromEntries(
      Object.entries(event.detail.metadata).map(([key, value]) => [key.toLowerCase(), value]),
    );
    expect(envelopeOf(mapShopifyEvent(event)).id).toBe('6e5f4a3b-2c1d-4e0f-d9a8-b7c6d5e4f091');
  });

  it('refuses a webhook without X-Shopify-Webhook-Id, the idempotency key of its deliveries', () => {
    const event = webhook('customers-create-subscribed');
    delete event.detail.metadata['X-Shopify-Webhook-Id'];
    expect(() => mapShopifyEvent(event)).toThrow(/^detail\.metadata\.X-Shopify-Webhook-Id: must be given/);
  });

  it('ignores topics Rapport does not listen to', () => {
    const event = webhook('customers-create-subscribed');
    event.detail.metadata['X-Shopify-Topic'] = 'products/update';
    expect(reasonOf(mapShopifyEvent(event))).toMatch(/"products\/update" is not one Rapport listens to/);
  });

  it('recognises only Shopify partner events', () => {
    expect(isShopifyEnvelope(webhook('orders-paid-multi-currency'))).toBe(true);
    expect(isShopifyEnvelope({ ...webhook('orders-paid-multi-currency'), source: 'my.shop' })).toBe(false);
  });

  it('sends refunds through the rule that keeps order_id exact, everything else through the other', () => {
    const rules = shopifyIngestRules('aws.partner/shopify.com/4938271/rapport');
    const matching = (name: string) =>
      rules.filter((rule) => matchesEventPattern(rule.pattern, webhook(name))).map((rule) => rule.id);
    expect(matching('refunds-create-shipping-only')).toEqual(['ShopifyRefunds']);
    expect(matching('orders-paid-multi-currency')).toEqual(['Shopify']);
    expect(matching('customers-create-subscribed')).toEqual(['Shopify']);
    const other = shopifyIngestRules('aws.partner/shopify.com/4938271/other');
    expect(other.filter((rule) => matchesEventPattern(rule.pattern, webhook('orders-create-paid')))).toEqual(
      [],
    );
  });
});
