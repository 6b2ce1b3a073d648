import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths.ts';
import { type CapturedEmail, LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// One-click unsubscribe (RFC 8058) on the local stack: the flows send marketing email with its
// List-Unsubscribe headers to SES local, and the links in them are clicked over real HTTP against
// the Unsubscribe function served on localhost, as a mailbox provider or a recipient would.

const DAY = 86_400_000;
const START = Date.parse('2026-01-05T08:00:00Z');
const OUTPUT = fromRoot('.rapport/test-unsubscribe');

describe('one-click unsubscribe on the local stack', () => {
  let runtime: LocalRapport;
  let server: Server;
  let events: EventBridgeClient;

  beforeAll(async () => {
    runtime = await LocalRapport.start({ outputDir: OUTPUT, clock: new VirtualClock(START) });
    const endpoint = await startEventsEndpoint(runtime);
    server = endpoint.server;
    events = new EventBridgeClient({
      endpoint: endpoint.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    await runtime.sweep();
  }, 120_000);
  afterAll(async () => {
    server?.close();
    events?.destroy();
    await runtime?.stop();
  });

  const now = () => runtime.clock.now().toISOString();
  const put = async (type: string, detail: Record<string, unknown>) => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'my.shop',
            DetailType: type,
            Detail: JSON.stringify(detail),
            EventBusName: runtime.names.eventBusName,
          },
        ],
      }),
    );
    await runtime.drain();
  };
  const register = (customerId: string) =>
    put('customer.registered', {
      version: 1,
      customerId,
      email: `${customerId}@example.com`,
      name: `Casey ${customerId}`,
      registeredAt: now(),
      marketingConsent: true,
    });
  let orders = 0;
  const order = (customerId: string) =>
    put('order.placed', {
      version: 1,
      orderId: `o-${++orders}`,
      customerId,
      email: `${customerId}@example.com`,
      name: `Casey ${customerId}`,
      currency: 'USD',
      total: 30,
      items: [{ sku: 'CD-1', name: 'Kind of Blue', quantity: 1, unitPrice: 30 }],
      placedAt: now(),
      marketingConsent: true,
    });
  const advance = (days: number) => runtime.advanceTo(new Date(runtime.clock.now().getTime() + days * DAY));
  const mails = async (customerId: string): Promise<CapturedEmail[]> =>
    (await readInbox(runtime.ses.endpoint)).filter((m) =>
      m.destination.to.includes(`${customerId}@example.com`),
    );
  const header = (mail: CapturedEmail | undefined, name: string) =>
    mail?.headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  /** The HTTPS link of List-Unsubscribe, as a mailbox provider reads it. */
  const linkOf = (mail: CapturedEmail | undefined): string => {
    const url = /^<(http[^>]+)>/.exec(header(mail, 'List-Unsubscribe') ?? '')?.[1];
    if (!url) throw new Error(`no List-Unsubscribe link in ${mail?.subject ?? 'no email'}`);
    return url;
  };
  const oneClick = (url: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
  const profile = (customerId: string) => runtime.store().getProfile(customerId);

  it('sends marketing email with both headers pointing at the local endpoint, and receipts without them', async () => {
    await order('m-1');
    await advance(114);
    const sent = await mails('m-1');
    const receipt = sent.find((m) => /thank/i.test(m.subject));
    const winBack = sent.find((m) => /miss you/.test(m.subject));
    expect(receipt).toBeDefined();
    expect(header(receipt, 'List-Unsubscribe')).toBeUndefined();
    const token = linkOf(winBack).split('/u/')[1] ?? '';
    expect(header(winBack, 'List-Unsubscribe')).toBe(
      `<${runtime.unsubscribeUrl}u/${token}>, <mailto:unsubscribe@example.com?subject=${token}>`,
    );
    expect(header(winBack, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(linkOf(winBack).startsWith('http://127.0.0.1:')).toBe(true);
  });

  it('records the opt-out on a one-click POST, and the waiting journey sends nothing more', async () => {
    const winBack = (await mails('m-1')).find((m) => /miss you/.test(m.subject));
    const response = await oneClick(linkOf(winBack));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('You are unsubscribed');
    expect((await profile('m-1'))?.consent?.promotions).toEqual({
      granted: false,
      at: now(),
      source: 'unsubscribe',
    });
    // The last-chance reminder is due 7 days after the first, from a journey parked before the click.
    await advance(8);
    expect((await mails('m-1')).map((m) => m.subject).filter((s) => /miss you|Last chance/.test(s))).toEqual([
      winBack?.subject,
    ]);
  });

  it('changes nothing for a tampered token and says so on a clear page', async () => {
    await register('t-1');
    const link = linkOf((await mails('t-1'))[0]);
    const before = await profile('t-1');
    const at = link.indexOf('/u/') + 5;
    const tampered = `${link.slice(0, at)}${link[at] === 'A' ? 'B' : 'A'}${link.slice(at + 1)}`;
    for (const response of [await oneClick(tampered), await fetch(tampered), await oneClick(`${link}x`)]) {
      expect(response.status).toBe(400);
      const page = await response.text();
      expect(page).toContain('This link is not valid');
      expect(page).toContain('Nothing was changed');
    }
    expect(await profile('t-1')).toEqual(before);
  });

  it('shows every topic on the preference page, and its buttons set one topic each without JavaScript', async () => {
    await register('p-1');
    const link = linkOf((await mails('p-1'))[0]);
    const response = await fetch(link);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await response.text();
    for (const name of ['Order updates', 'Points and rewards', 'Offers and promotions'])
      expect(page).toContain(name);
    expect(page).not.toContain('p-1@example.com');
    expect(page).toContain('p***@e***.com');
    expect(page).not.toContain('<script');
    // Read the forms as a browser does, and press "Unsubscribe" beside Offers and promotions.
    const forms = [...page.matchAll(/<form method="post" action="([^"]+)">(.*?)<\/form>/g)].map(
      ([, action, inner]) => ({
        action: action ?? '',
        fields: Object.fromEntries(
          [...(inner ?? '').matchAll(/name="([^"]+)" value="([^"]*)"/g)].map(([, name, value]) => [
            name,
            value,
          ]),
        ),
      }),
    );
    expect(forms.map((f) => f.fields)).toEqual([
      { topic: 'loyalty', granted: 'false' },
      { topic: 'promotions', granted: 'false' },
      { topic: '*', granted: 'false' },
    ]);
    const promotions = forms[1];
    const saved = await fetch(new URL(promotions?.action ?? '', link), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(promotions?.fields).toString(),
    });
    expect(saved.status).toBe(200);
    const after = await saved.text();
    expect(after).toContain('Saved.');
    expect(after).toMatch(/Offers and promotions<\/strong>: not subscribed/);
    expect(after).toMatch(/Points and rewards<\/strong>: subscribed/);
    expect((await profile('p-1'))?.consent?.promotions).toMatchObject({
      granted: false,
      source: 'preference-page',
    });
    // So the first-order offer of the welcome series, three days on, does not go.
    await advance(3.5);
    expect((await mails('p-1')).map((m) => m.subject)).toEqual(['Welcome to Rapport Rewards, Casey']);
  });

  it('unsubscribes with a token issued a year ago', async () => {
    await register('y-1');
    const link = linkOf((await mails('y-1'))[0]);
    runtime.clock.advanceTo(new Date(runtime.clock.now().getTime() + 400 * DAY));
    const response = await oneClick(link);
    expect(response.status).toBe(200);
    expect((await profile('y-1'))?.consent?.loyalty).toEqual({
      granted: false,
      at: now(),
      source: 'unsubscribe',
    });
  });

  it('never writes a token or an address to the functions’ logs', async () => {
    const log = readFileSync(`${OUTPUT}/lambda.log.ndjson`, 'utf8');
    expect(log).toContain('"function":"Unsubscribe');
    for (const customerId of ['m-1', 't-1', 'p-1', 'y-1']) {
      const token = linkOf((await mails(customerId)).find((m) => m.headers)).split('/u/')[1] ?? '';
      expect(token.length).toBeGreaterThan(40);
      expect(log).not.toContain(token.split('.')[1]);
      expect(log).not.toContain(`${customerId}@example.com`);
    }
  });
});
