import middy from '@middy/core';
import * as z from 'zod';
import { renderMessagePage, renderPreferencePage } from '#domain/preference-page.ts';
import { MAX_TOKEN_LENGTH } from '#domain/unsubscribe.ts';
import {
  preferencesFor,
  setPreference,
  type TokenRefusal,
  type UnsubscribeDeps,
  unsubscribeOneClick,
} from '#domain/use-cases/unsubscribe.ts';
import { observeInvocation } from './commons/middleware.ts';
import { countMetric } from './commons/observability.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// The unsubscribe endpoint behind a public Lambda function URL (RFC 8058): POST /u/TOKEN with
// `List-Unsubscribe=One-Click` opts out in one step; GET /u/TOKEN is the preference page, whose
// buttons POST one topic each. The token is the only credential, so it is never logged.

/** A form post is a few dozen bytes; anything far larger is not one of ours. */
export const MAX_BODY_BYTES = 4096;

export const requestSchema = z.object({
  rawPath: z.string().max(MAX_TOKEN_LENGTH + 16),
  requestContext: z.object({ http: z.object({ method: z.string() }) }),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
});

const formSchema = z.object({
  topic: z.string().max(64),
  granted: z.enum(['true', 'false']).transform((v) => v === 'true'),
});

/**
 * RFC 8058's POST: `List-Unsubscribe=One-Click`, form-encoded or (as the RFC's own example sends it)
 * multipart/form-data.
 */
const isOneClick = (body: string, contentType: string): boolean =>
  /^multipart\/form-data/i.test(contentType)
    ? /name="?List-Unsubscribe"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/i.test(body)
    : new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click';

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The token is in the URL: no page this one links to may learn it through Referer.
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
};

const html = (statusCode: number, body: string) => ({ statusCode, headers: HEADERS, body });

const refused = (refusal: TokenRefusal) =>
  refusal.status === 'invalid-token'
    ? html(
        400,
        renderMessagePage(
          'This link is not valid',
          'It may have been cut short or changed. Nothing was changed. Please use the link in the latest email you received from us.',
        ),
      )
    : html(
        404,
        renderMessagePage(
          'No subscription found',
          'We have nothing on file for this link. Nothing was changed.',
        ),
      );

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<unknown>()
    .use(
      observeInvocation(runtime, (event) => ({
        method: requestSchema.pick({ requestContext: true }).safeParse(event).data?.requestContext.http
          .method,
      })),
    )
    .handler(async (event) => {
      const base = runtime();
      if (!base.program) throw new Error('RAPPORT_PROGRAM is not set for the Unsubscribe function');
      const deps: UnsubscribeDeps = { ...base, signer: base.unsubscribe.signer, program: base.program };
      const request = requestSchema.safeParse(event);
      if (!request.success)
        return html(400, renderMessagePage('Bad request', 'This request is not one we serve.'));
      const token = /^\/u\/([A-Za-z0-9_.-]+)$/.exec(request.data.rawPath)?.[1];
      if (!token) return html(404, renderMessagePage('Not found', 'There is no page here.'));
      const action = `/u/${token}`;
      const method = request.data.requestContext.http.method.toUpperCase();

      if (method === 'GET' || method === 'HEAD') {
        const found = await preferencesFor(token, deps);
        return found.status === 'ok'
          ? html(200, renderPreferencePage(found.preferences, action))
          : refused(found);
      }
      if (method !== 'POST')
        return {
          ...html(405, renderMessagePage('Not allowed', 'Use GET or POST.')),
          headers: { ...HEADERS, allow: 'GET, POST' },
        };

      const raw = request.data.body ?? '';
      const body = request.data.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      if (Buffer.byteLength(body) > MAX_BODY_BYTES)
        return html(413, renderMessagePage('Too large', 'This request is larger than any form of ours.'));
      const fields = new URLSearchParams(body);

      if (isOneClick(body, request.data.headers['content-type'] ?? '')) {
        const done = await unsubscribeOneClick(token, deps);
        if (done.status !== 'ok') return refused(done);
        countMetric(base.metrics, 'Unsubscribes', 1);
        return html(200, renderMessagePage('You are unsubscribed', 'You will get no more of these emails.'));
      }
      const form = formSchema.safeParse(Object.fromEntries(fields));
      if (!form.success) {
        const field = form.error.issues[0]?.path.join('.') ?? 'form';
        return html(
          400,
          renderMessagePage('Bad request', `${field}: ${form.error.issues[0]?.message ?? 'invalid'}`),
        );
      }
      const set = await setPreference(token, form.data, deps);
      if (set.status === 'unknown-topic')
        return html(
          400,
          renderMessagePage('Unknown topic', 'This topic is not one we send. Nothing was changed.'),
        );
      if (set.status !== 'ok') return refused(set);
      const found = await preferencesFor(token, deps);
      return found.status === 'ok'
        ? html(200, renderPreferencePage(found.preferences, action, 'Saved.'))
        : refused(found);
    });

export const handler = createHandler(lazy(() => createRuntime(process.env)));
