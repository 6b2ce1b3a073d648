import { createHash, randomUUID } from 'node:crypto';
import middy from '@middy/core';
import * as z from 'zod';
import { ingestApiEvents } from '#domain/use-cases/api-events.ts';
import type { Route, RouteRequest, RouteResponse } from './commons/http-route.ts';
import { observeInvocation } from './commons/middleware.ts';
import { countMetric } from './commons/observability.ts';
import {
  SIGNATURE_HEADER,
  signedContent,
  TOLERANCE_SECONDS,
  verifySignature,
} from './commons/request-signature.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';
import { storefrontRoutes } from './storefront-routes.ts';

// Rapport's signed HTTPS API behind a Lambda function URL (auth NONE: the signature is the
// credential). Every request is verified (request-signature.ts) and claimed once against replays
// before it is routed; the routes are POST /v1/events here and the storefront's. Answers are JSON,
// and an error never leaves with more than its name.

/** Far above a batch of 100 orders; a function URL would take 6 MB. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const requestSchema = z.object({
  rawPath: z.string().max(2048),
  rawQueryString: z.string().max(4096).default(''),
  requestContext: z.object({ http: z.object({ method: z.string() }), requestId: z.string().optional() }),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
});

const eventsRoute: Route<RuntimeDeps> = {
  method: 'POST',
  path: '/v1/events',
  handle: async (request, deps) => {
    const { api, program } = deps;
    if (!api || !program) throw new Error('the Api function needs API_KEY(_SECRET_ARN) and RAPPORT_PROGRAM');
    // Names the request in its dead letters; the log lines carry Lambda's own request id.
    const requestId = randomUUID();
    const answer = await ingestApiEvents(request.body, {
      ingest: api.ingest,
      rejections: api.rejections,
      context: { now: deps.clock.now(), limits: program.limits },
      program,
      requestId,
      onRunError: (error, event) =>
        deps.logger.error('ingest not started', {
          ...event,
          error: error instanceof Error ? error.name : 'Error',
          reason: error instanceof Error ? error.message : String(error),
        }),
    });
    if (answer.kind === 'bad-request')
      return { status: 400, body: { error: 'bad_request', reason: answer.reason } };
    const count = (status: string) => answer.results.filter((r) => r.status === status).length;
    const counts = {
      accepted: count('accepted'),
      duplicate: count('duplicate'),
      rejected: count('rejected'),
      not_applied: count('not_applied'),
      failed: count('failed'),
    };
    countMetric(deps.metrics, 'ApiEventsAccepted', counts.accepted);
    if (counts.rejected > 0) countMetric(deps.metrics, 'EventsRejected', counts.rejected);
    return { status: answer.status, body: { ...counts, results: answer.results } };
  },
};

export const routes: readonly Route<RuntimeDeps>[] = [eventsRoute, ...storefrontRoutes];

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}) => ({
  statusCode,
  headers: { ...HEADERS, ...headers },
  body: JSON.stringify(body),
});
const refusal = (statusCode: number, error: string, reason: string, headers?: Record<string, string>) =>
  json(statusCode, { error, reason }, headers);

/** `/v1/customers/:customerId/loyalty` against a path: its parameters, decoded, or undefined. */
const matchPath = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split('/');
  const have = path.split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const actual = have[i] ?? '';
    if (segment.startsWith(':')) {
      if (actual === '') return undefined;
      try {
        params[segment.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (segment !== actual) return undefined;
  }
  return params;
};

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; reason: string } => {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: `body: not JSON (${error instanceof Error ? error.message : 'unreadable'})` };
  }
};

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<unknown>()
    // Used first, so its onError runs last: observeInvocation logs the failure with its name and
    // reason, then the caller learns only that it failed.
    .use({
      onError: async (request) => {
        request.response = refusal(
          500,
          'internal',
          'internal: the request failed on our side; send it again',
        );
      },
    })
    .use(
      observeInvocation(runtime, (event) => {
        const request = requestSchema.safeParse(event).data;
        return { method: request?.requestContext.http.method, path: request?.rawPath.slice(0, 128) };
      }),
    )
    .handler(async (event) => {
      const deps = runtime();
      const parsed = requestSchema.safeParse(event);
      if (!parsed.success) return refusal(400, 'bad_request', 'request: not a function URL request');
      const request = parsed.data;
      const api = deps.api;
      if (!api) throw new Error('API_KEY_SECRET_ARN is not set for the Api function');
      const body = Buffer.from(request.body ?? '', request.isBase64Encoded ? 'base64' : 'utf8');
      if (body.length > MAX_BODY_BYTES)
        return refusal(413, 'too_large', `body: ${body.length} bytes is over the ${MAX_BODY_BYTES} we take`);

      const method = request.requestContext.http.method.toUpperCase();
      const target = `${request.rawPath}${request.rawQueryString ? `?${request.rawQueryString}` : ''}`;
      const verified = verifySignature({
        header: request.headers[SIGNATURE_HEADER],
        body: Buffer.from(signedContent(method, target, body)),
        keys: await api.keys(),
        now: api.wallClock(),
      });
      if (!verified.ok) {
        countMetric(deps.metrics, 'ApiUnauthorized', 1);
        deps.logger.warn('unauthorized', { reason: verified.reason });
        return refusal(401, 'unauthorized', verified.reason);
      }
      // A write is taken once: its signature claimed against replays. A read may come again (a
      // checkout checking a code twice in a second): its signature names its path, and it changes nothing.
      const digest = createHash('sha256')
        .update(`${method} ${request.rawPath}?${request.rawQueryString}\n${verified.requestDigest}`)
        .digest('hex');
      const expiresAt = new Date((verified.timestamp + 2 * TOLERANCE_SECONDS) * 1000);
      if (method !== 'GET' && !(await api.seen.claim(digest, api.wallClock(), expiresAt))) {
        deps.logger.warn('unauthorized', { reason: 'replay' });
        return refusal(
          401,
          'unauthorized',
          'signature: this signed request was already received (a replay); sign each request anew, with the current time',
        );
      }

      const matching = routes.flatMap((route) => {
        const params = matchPath(route.path, request.rawPath);
        return params ? [{ route, params }] : [];
      });
      if (matching.length === 0)
        return refusal(404, 'not_found', `path: no route ${request.rawPath.slice(0, 128)}`);
      const found = matching.find(({ route }) => route.method === method);
      if (!found) {
        const allow = [...new Set(matching.map(({ route }) => route.method))].join(', ');
        return refusal(405, 'method_not_allowed', `method: ${method} is not allowed here (${allow})`, {
          allow,
        });
      }
      const content = parseJson(body.toString('utf8'));
      if (!content.ok) return refusal(400, 'bad_request', content.reason);
      const routeRequest: RouteRequest = {
        params: found.params,
        query: Object.fromEntries(new URLSearchParams(request.rawQueryString)),
        body: content.value,
        headers: request.headers,
      };
      const answer: RouteResponse = await found.route.handle(routeRequest, deps);
      return json(answer.status, answer.body);
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
