import middy from '@middy/core';
import * as z from 'zod';
import { sendEmail } from '#domain/use-cases/send-email.ts';
import { correlationOf, observeInvocation, parseInput } from './commons/middleware.ts';
import { countMetric } from './commons/observability.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `send_email`: renders the template for the customer and sends it at most once.

export const inputSchema = z.object({
  customerId: z.string().min(1),
  flowId: z.string().min(1),
  stepId: z.string().min(1),
  eventId: z.string().min(1),
  template: z.object({ id: z.string(), subject: z.string(), html: z.string() }),
  sender: z.object({ from: z.string(), replyTo: z.string().optional() }),
  currency: z.string().length(3),
  topic: z.object({ id: z.string(), transactional: z.boolean() }).optional(),
  context: z.object({ event: z.unknown(), steps: z.unknown() }),
});

const EMAIL_METRICS = {
  sent: 'EmailsSent',
  failed: 'EmailsRefused',
  skipped: 'EmailsSkipped',
  duplicate: 'EmailsDuplicate',
} as const;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(observeInvocation(runtime, correlationOf))
    .use(parseInput(inputSchema))
    .handler(async (input) => {
      const deps = runtime();
      const result = await sendEmail(input, deps);
      // `failed` is the provider refusing the address (a bounce list, a bad address): the rate to watch.
      countMetric(deps.metrics, EMAIL_METRICS[result.status], 1);
      return result;
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
