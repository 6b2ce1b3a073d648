import middy from '@middy/core';
import * as z from 'zod';
import { checkPublished } from '#domain/contracts/published-events.ts';
import { recordEventInputSchema } from '#domain/contracts/tasks.ts';
import { ACCEPTED_SOURCE, factKey, parseCommerceEvent } from '#domain/events.ts';
import type { PendingEvent } from '#domain/ports.ts';
import { isShopifyEnvelope, mapShopifyEvent } from '#domain/shopify.ts';
import { resolveJourneys } from '#domain/use-cases/journeys.ts';
import { flushOutbox } from '#domain/use-cases/points.ts';
import { recordEvent } from '#domain/use-cases/record-event.ts';
import { redeemCoupon } from '#domain/use-cases/storefront.ts';
import { observeInvocation, parseInput, rejectInvalidEvents } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Ingest: validates a commerce event and records it on the customer. An invalid event is answered
// with { ok: false, reason } and the state machine keeps it in the dead-letter queue. The answer
// replaces the execution's state (the raw event stays in the execution input for the dead-letter
// queue): it is the parsed detail once, never the event twice, so an order near EventBridge's
// 256 KB stays under Step Functions' 256 KB.

const inputSchema = recordEventInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(
      observeInvocation(runtime, (input) => ({
        eventId: z.object({ event: z.object({ id: z.string() }) }).safeParse(input).data?.event.id,
      })),
    )
    .use(rejectInvalidEvents(runtime))
    .use(parseInput(inputSchema))
    .handler(async ({ event, program }) => {
      const deps = runtime();
      // Shopify's partner events become canonical envelopes first; a webhook that changes nothing
      // in Rapport (an unpaid order, a customer without email) is answered, never dead-lettered.
      let envelope: unknown = event;
      if (isShopifyEnvelope(event)) {
        const mapped = mapShopifyEvent(event);
        if ('ignored' in mapped)
          return { ok: true, outcome: 'ignored', publish: false, reason: mapped.ignored };
        envelope = mapped.envelope;
      }
      const parsed = parseCommerceEvent(envelope, { now: deps.clock.now(), limits: program.limits });
      const result = await recordEvent(parsed, { ...deps, program, privacy: { ...deps, program } });
      // Privacy requests are done once recorded: no flow hears of them.
      if (result.type === 'customer.erasure-requested' || result.type === 'customer.export-requested')
        return { ok: true, outcome: result.outcome, publish: false };
      // A refund or cancellation whose order is not recorded yet is kept; its order releases it.
      if (result.outcome === 'waiting')
        return { ok: true, outcome: result.outcome, publish: false, released: [] };
      const customerId =
        'customerId' in result && result.customerId ? result.customerId : parsed.detail.customerId;
      if (!customerId) throw new TypeError(`${parsed.type} recorded without a customer`);
      const fact = factKey(parsed);
      // Tier changes this event caused go out now; a crash leaves them in the outbox for the sweeper.
      if (result.outbox) await flushOutbox(customerId, { ...deps, program });
      // A Rapport coupon used at checkout is marked used by the order, once however often it comes.
      if (parsed.type === 'order.placed')
        for (const code of parsed.detail.discountCodes ?? [])
          await redeemCoupon(code, parsed.detail.orderId, parsed.detail.placedAt, deps);
      // Exits, goals and waits for this event, before any flow sees it.
      const journeys = await resolveJourneys(
        {
          eventId: fact,
          type: parsed.type,
          customerId,
          detail: parsed.detail,
        },
        deps,
      );
      // The state machine publishes it as it is: checked against its contract here.
      const { detailType, detail } = checkPublished({
        source: ACCEPTED_SOURCE,
        detailType: parsed.type,
        detail: {
          ...parsed.detail,
          customerId,
          meta: {
            eventId: fact,
            envelopeId: parsed.eventId,
            source: parsed.source,
            ...(result.type === 'order.placed' ? { points: result.points } : {}),
          },
        },
      });
      // Events that waited for this order go through ingest again once the order is published.
      const released = result.type === 'order.placed' ? result.released.map(releasedEntry) : [];
      return {
        ok: true,
        outcome: result.outcome,
        publish: result.publish,
        journeys,
        detailType,
        detail,
        released,
      };
    });

/**
 * A waiting event as the ingest machine puts it on the shop bus again. `aws.*` sources are AWS's
 * own (a partner's events): the copy keeps the rest of the name, since PutEvents refuses them.
 */
const releasedEntry = (envelope: PendingEvent['envelope']) => ({
  source: envelope.source.startsWith('aws.') ? envelope.source.slice('aws.'.length) : envelope.source,
  detailType: envelope['detail-type'],
  detail: envelope.detail,
});

export const handler = createHandler(lazy(() => createRuntime(process.env)));
