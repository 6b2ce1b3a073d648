import { SWEEPER_SOURCE } from '../contracts/published-events.ts';
import { ACCEPTED_SOURCE, LOYALTY_EVENT_TYPES, LOYALTY_SOURCE } from '../events.ts';
import { EXACT_FIELD, SHOPIFY_DETAIL_TYPE } from '../shopify.ts';
import type { JsonObject } from './asl.ts';
import type { Flow } from './flow-schema.ts';

// The EventBridge rules: which events start the ingest machine and each flow.

/**
 * Everything on the shop bus: Rapport's own events travel on the system bus, so the shop cannot speak
 * for it; what the shop sends that is not a commerce event is dead-lettered with its reason.
 */
export const ingestPattern = (): JsonObject => ({ source: [{ exists: true }] });

export const flowPattern = (flow: Flow): JsonObject => {
  const trigger = flow.trigger;
  if ('inactivity' in trigger) {
    return {
      source: [SWEEPER_SOURCE],
      'detail-type': ['customer.inactive'],
      detail: { days: [trigger.inactivity.days] },
    };
  }
  if ('date' in trigger) {
    return {
      source: [SWEEPER_SOURCE],
      'detail-type': ['customer.date'],
      detail: { field: [trigger.date.field], at: [trigger.date.at] },
    };
  }
  if ('schedule' in trigger) {
    return { source: [SWEEPER_SOURCE], 'detail-type': ['customer.scheduled'], detail: { flowId: [flow.id] } };
  }
  const loyalty = (LOYALTY_EVENT_TYPES as readonly string[]).includes(trigger.event);
  return {
    source: [loyalty ? LOYALTY_SOURCE : ACCEPTED_SOURCE],
    'detail-type': [trigger.event],
    ...(trigger.where ? { detail: trigger.where as JsonObject } : {}),
  };
};

/**
 * The rules on Shopify's partner bus (the source name is deploy configuration), both starting the
 * ingest machine. A refund names its order only by a JSON number, which Shopify's ids outgrow
 * (2^53): its rule's input transformer adds the number's digits as text (EventBridge substitutes the
 * value as it is in the event, and a quoted placeholder makes it a string), so no JSON parser on
 * the way to the handler can round it. The other topics name everything by gid strings.
 */
export const shopifyIngestRules = (
  source: string,
): { id: string; pattern: JsonObject; inputTransformer?: JsonObject }[] => {
  const partner = (orderId: boolean): JsonObject => ({
    source: [source],
    'detail-type': [SHOPIFY_DETAIL_TYPE],
    detail: { payload: { order_id: [{ exists: orderId }] } },
  });
  const paths: Record<string, string> = {
    id: '$.id',
    detailType: '$.detail-type',
    source: '$.source',
    account: '$.account',
    time: '$.time',
    region: '$.region',
    resources: '$.resources',
    detail: '$.detail',
    orderId: '$.detail.payload.order_id',
  };
  return [
    { id: 'Shopify', pattern: partner(false) },
    {
      id: 'ShopifyRefunds',
      pattern: partner(true),
      inputTransformer: {
        InputPathsMap: paths,
        InputTemplate: `{"version":"0","id":"<id>","detail-type":"<detailType>","source":"<source>","account":"<account>","time":"<time>","region":"<region>","resources":<resources>,"detail":<detail>,"${EXACT_FIELD}":{"order_id":"<orderId>"}}`,
      },
    },
  ];
};
