import middy from '@middy/core';
import * as z from 'zod';
import { storefrontInputSchema } from '#domain/contracts/storefront.ts';
import { observeInvocation, parseInput, rejectInvalidEvents } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';
import { answerStorefront, storefrontDeps } from './storefront-routes.ts';

// The storefront API by IAM (lambda:InvokeFunction), for a shop backend inside AWS: the same use
// cases and answers as the signed HTTP routes, one action per call. The answer is the route's body
// with `ok` and the HTTP status it would have had; an input that does not parse answers
// { ok: false, reason, field } naming the field.

export const inputSchema = storefrontInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(
      observeInvocation(runtime, (input) => ({
        action: z.object({ action: z.string() }).safeParse(input).data?.action,
        requestId: z.object({ requestId: z.string() }).safeParse(input).data?.requestId,
      })),
    )
    .use(rejectInvalidEvents(runtime))
    .use(parseInput(inputSchema))
    .handler(async (input) => {
      const { status, body } = await answerStorefront(input, storefrontDeps(runtime()));
      return { ok: status < 400, status, ...(typeof body === 'object' ? body : {}) };
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
