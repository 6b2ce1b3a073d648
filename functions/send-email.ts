import middy from '@middy/core';
import type * as z from 'zod';
import { sendEmailInputSchema } from '#domain/contracts/tasks.ts';
import { sendEmail } from '#domain/use-cases/send-email.ts';
import { correlationOf, observeInvocation, parseInput } from './commons/middleware.ts';
import { countMetric } from './commons/observability.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `send_email`: renders the template for the customer and sends it at most once.

export const inputSchema = sendEmailInputSchema;

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
      const { baseUrl, signer } = deps.unsubscribe;
      // Marketing email never goes without its unsubscribe link: a function missing it is misdeployed.
      if (!baseUrl) throw new Error('UNSUBSCRIBE_URL is not set for the SendEmail function');
      const result = await sendEmail(input, { ...deps, unsubscribe: { baseUrl, signer } });
      // `failed` is the provider refusing the address (a bounce list, a bad address): the rate to watch.
      countMetric(deps.metrics, EMAIL_METRICS[result.status], 1);
      return result;
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
