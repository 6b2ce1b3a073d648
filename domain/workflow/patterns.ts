import { SWEEPER_SOURCE } from '../contracts/published-events.ts';
import { ACCEPTED_SOURCE, LOYALTY_EVENT_TYPES, LOYALTY_SOURCE } from '../events.ts';
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
