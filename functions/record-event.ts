import middy from '@middy/core';
import * as z from 'zod';
import { checkPublished } from '#domain/contracts/published-events.ts';
import { recordEventInputSchema } from '#domain/contracts/tasks.ts';
import { ACCEPTED_SOURCE, factKey, parseCommerceEvent } from '#domain/events.ts';
import { isShopifyEnvelope, mapShopifyEvent } from '#domain/shopify.ts';
import { resolveJourneys } from '#domain/use-cases/journeys.ts';
import { flushOutbox } from '#domain/use-cases/points.ts';
import { recordEvent } from '#domain/use-cases/record-event.ts';
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
      const fact = factKey(parsed);
      // Tier changes this event caused go out now; a crash leaves them in the outbox for the sweeper.
      if (result.outbox) await flushOutbox(parsed.detail.customerId, { ...deps, program });
      // Exits, goals and waits for this event, before any flow sees it.
      const journeys = await resolveJourneys(
        {
          eventId: fact,
          type: parsed.type,
          customerId: parsed.detail.customerId,
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
          meta: {
            eventId: fact,
            envelopeId: parsed.eventId,
            source: parsed.source,
            ...(result.type === 'order.placed' ? { points: result.points } : {}),
          },
        },
      });
      return { ok: true, outcome: result.outcome, publish: result.publish, journeys, detailType, detail };
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
