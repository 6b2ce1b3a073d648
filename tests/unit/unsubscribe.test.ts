import { beforeEach, describe, expect, it } from 'vitest';
import { ALL_MARKETING } from '../../domain/consent.ts';
import { newProfile } from '../../domain/customer.ts';
import { renderPreferencePage } from '../../domain/preference-page.ts';
import { type Program, programSchema } from '../../domain/program.ts';
import { issueUnsubscribeToken } from '../../domain/unsubscribe.ts';
import {
  maskEmail,
  preferencesFor,
  setPreference,
  type UnsubscribeDeps,
  unsubscribeOneClick,
} from '../../domain/use-cases/unsubscribe.ts';
import { createRuntime } from '../../functions/commons/runtime.ts';
import { createHandler } from '../../functions/unsubscribe.ts';
import { fixedClock, InMemoryCustomerStore, testSigner } from '../support/in-memory-customer-store.ts';
import { testProgram } from '../support/program.ts';

const program: Program = programSchema.parse({
  ...testProgram,
  name: 'Shop <b>&</b> Co',
  topics: [
    { id: 'orders', name: 'Order updates', transactional: true },
    { id: 'news', name: 'News <script>alert(1)</script>' },
  ],
});
const KEY = 'the unsubscribe key of a test deployment, long';
const signer = testSigner(KEY);
const AT = '2026-11-24T12:00:00.000Z';

describe('the unsubscribe use cases', () => {
  let store: InMemoryCustomerStore;
  let deps: UnsubscribeDeps;
  const tokenFor = (customerId: string, topic: string) =>
    issueUnsubscribeToken(signer, { customerId, topic, issuedAt: '2025-01-01T00:00:00.000Z' });

  beforeEach(async () => {
    store = new InMemoryCustomerStore();
    deps = { store, clock: fixedClock(AT), signer, program };
    await store.saveProfile('c-1', newProfile('c-1', 'ada@example.com', 'Ada', AT), undefined, AT);
  });

  it('changes nothing and says so for a validly signed token of a customer the table does not hold', async () => {
    expect(await unsubscribeOneClick(await tokenFor('c-404', 'news'), deps)).toEqual({
      status: 'no-customer',
    });
    expect(await preferencesFor(await tokenFor('c-404', 'news'), deps)).toEqual({ status: 'no-customer' });
    expect(store.profiles.has('c-404')).toBe(false);
  });

  it('opts out of every marketing topic when the link is for a topic the program no longer has', async () => {
    expect(await unsubscribeOneClick(await tokenFor('c-1', 'retired-topic'), deps)).toEqual({
      status: 'ok',
      topic: ALL_MARKETING,
      outcome: 'applied',
    });
    expect(store.profiles.get('c-1')?.consent?.[ALL_MARKETING]).toEqual({
      granted: false,
      at: AT,
      source: 'unsubscribe',
    });
  });

  it('refuses to set a transactional or unknown topic from the page', async () => {
    const token = await tokenFor('c-1', 'news');
    const before = store.profiles.get('c-1');
    for (const topic of ['orders', 'nope']) {
      expect(await setPreference(token, { topic, granted: false }, deps)).toEqual({
        status: 'unknown-topic',
      });
    }
    expect(store.profiles.get('c-1')).toEqual(before);
  });

  it('hides most of the address', () => {
    expect(maskEmail('ada.lovelace@example.co.uk')).toBe('a***@e***.uk');
    expect(maskEmail('not-an-address')).toBe('n***@***');
  });

  it('escapes every printed value on the preference page', async () => {
    const found = await preferencesFor(await tokenFor('c-1', 'news'), deps);
    if (found.status !== 'ok') throw new Error(found.status);
    const page = renderPreferencePage(found.preferences, '/u/"><x');
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('News &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('Shop &lt;b&gt;&amp;&lt;/b&gt; Co');
    expect(page).toContain('action="/u/&quot;&gt;&lt;x"');
  });
});

describe('the unsubscribe endpoint', () => {
  let store: InMemoryCustomerStore;
  let handler: ReturnType<typeof createHandler>;
  const context = { awsRequestId: 'r-1', functionName: 'Unsubscribe', getRemainingTimeInMillis: () => 5000 };
  const request = (method: string, path: string, body?: string, contentType?: string) =>
    handler(
      {
        rawPath: path,
        requestContext: { http: { method } },
        headers: contentType ? { 'content-type': contentType } : {},
        ...(body === undefined ? {} : { body: Buffer.from(body).toString('base64'), isBase64Encoded: true }),
      },
      context as never,
    );

  beforeEach(async () => {
    store = new InMemoryCustomerStore();
    await store.saveProfile('c-1', newProfile('c-1', 'ada@example.com', 'Ada', AT), undefined, AT);
    const base = createRuntime({
      TABLE_NAME: 'unused',
      UNSUBSCRIBE_KEY: KEY,
      RAPPORT_PROGRAM: JSON.stringify(program),
    });
    // The table's adapter with its profile reads and writes served by the in-memory store.
    const profiles = Object.assign(Object.create(base.store), {
      getProfile: store.getProfile.bind(store),
      saveProfile: store.saveProfile.bind(store),
    });
    handler = createHandler(() => ({ ...base, store: profiles, clock: fixedClock(AT) }));
  });

  it('takes the one-click POST as RFC 8058 spells it, in multipart/form-data', async () => {
    const token = await issueUnsubscribeToken(signer, { customerId: 'c-1', topic: 'news', issuedAt: AT });
    const boundary = '---FormBoundaryjWmhtjORrn';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const response = await request('POST', `/u/${token}`, body, `multipart/form-data; boundary=${boundary}`);
    expect(response).toMatchObject({ statusCode: 200 });
    expect(store.profiles.get('c-1')?.consent?.news).toEqual({
      granted: false,
      at: AT,
      source: 'unsubscribe',
    });
  });

  it('refuses an oversized body, another method and another path without writing', async () => {
    const token = await issueUnsubscribeToken(signer, { customerId: 'c-1', topic: 'news', issuedAt: AT });
    const before = store.profiles.get('c-1');
    expect(
      await request('POST', `/u/${token}`, `List-Unsubscribe=One-Click&${'x'.repeat(5000)}`),
    ).toMatchObject({
      statusCode: 413,
    });
    expect(await request('DELETE', `/u/${token}`)).toMatchObject({ statusCode: 405 });
    expect(await request('POST', `/x/${token}`, 'List-Unsubscribe=One-Click')).toMatchObject({
      statusCode: 404,
    });
    expect(await request('POST', `/u/${token}`, 'topic=news&granted=maybe')).toMatchObject({
      statusCode: 400,
    });
    expect(store.profiles.get('c-1')).toEqual(before);
  });
});
