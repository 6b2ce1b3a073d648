import middy from '@middy/core';
import type * as z from 'zod';
import { sesEventSchema } from '#domain/contracts/ses-event.ts';
import { recordSesEvent } from '#domain/use-cases/reputation.ts';
import { observeInvocation, parseInput } from './commons/middleware.ts';
import { countMetric } from './commons/observability.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// What SES reports after a send (the configuration set publishes to the default bus, a rule there
// invokes this): hard bounces and complaints suppress the customer, and every identity's rates
// pause its marketing mail when they cross the limits (domain/reputation.ts).

export const inputSchema = sesEventSchema;

const correlate = (event: unknown): Record<string, unknown> => {
  const parsed = sesEventSchema.safeParse(event);
  if (!parsed.success) return { task: 'ses-event' };
  return {
    task: 'ses-event',
    eventType: parsed.data.detail.eventType,
    messageId: parsed.data.detail.mail.messageId,
  };
};

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(observeInvocation(runtime, correlate))
    .use(parseInput(inputSchema))
    .handler(async (event) => {
      const { logger, metrics, ...deps } = runtime();
      const result = await recordSesEvent(event, deps);
      if (result.counted === 'applied')
        countMetric(metrics, result.eventType === 'Complaint' ? 'EmailComplaints' : 'EmailsBounced', 1);
      // The stack's alarm watches this: marketing from an identity stopped itself.
      if (result.paused === 'applied') {
        countMetric(metrics, 'SendingPaused', 1);
        logger.warn('marketing sending paused', { task: 'ses-event', identity: result.identity });
      }
      return result;
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
