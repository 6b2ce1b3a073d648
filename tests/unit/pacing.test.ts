import { beforeEach, describe, expect, it } from 'vitest';
import { MailNotSentError } from '../../domain/errors.ts';
import { capVerdict, type PacingRecord, prunePacing, quietUntil } from '../../domain/pacing.ts';
import type { Clock } from '../../domain/ports.ts';
import { type SendEmailInput, sendEmail } from '../../domain/use-cases/send-email.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { CapturingMailer, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { InMemoryReputationStore } from '../support/in-memory-reputation-store.ts';

// Quiet hours and frequency caps: the pure decisions, then the send use case on the in-memory
// store (which keeps the DynamoDB adapter's conditions).

const NY = 'America/New_York';
const quiet = { from: '21:00', to: '08:00' };
const DAY = 86_400_000;

describe('quiet hours in the customer time zone', () => {
  it('defers a send due at 23:00 local to 08:00 the next morning', () => {
    // 23:00 EST on 5 January is 04:00 UTC on the 6th.
    expect(quietUntil(new Date('2026-01-06T04:00:00Z'), NY, quiet)?.toISOString()).toBe(
      '2026-01-06T13:00:00.000Z',
    );
  });
  it('defers a send due at 06:30 local to 08:00 the same morning', () => {
    expect(quietUntil(new Date('2026-01-06T11:30:00Z'), NY, quiet)?.toISOString()).toBe(
      '2026-01-06T13:00:00.000Z',
    );
  });
  it('lets a send due at 08:00 or 20:59 local go', () => {
    expect(quietUntil(new Date('2026-01-06T13:00:00Z'), NY, quiet)).toBeUndefined();
    expect(quietUntil(new Date('2026-01-07T01:59:00Z'), NY, quiet)).toBeUndefined();
  });
  it('reads a window that does not span midnight as the hours inside it', () => {
    const lunch = { from: '12:00', to: '13:30' };
    expect(quietUntil(new Date('2026-01-06T12:15:00Z'), 'UTC', lunch)?.toISOString()).toBe(
      '2026-01-06T13:30:00.000Z',
    );
    expect(quietUntil(new Date('2026-01-06T13:30:00Z'), 'UTC', lunch)).toBeUndefined();
  });
  it('keeps local 08:00 across the spring-forward night', () => {
    // 8 March 2026, New York springs forward at 02:00: 08:00 EDT is 12:00 UTC.
    expect(quietUntil(new Date('2026-03-08T05:00:00Z'), NY, quiet)?.toISOString()).toBe(
      '2026-03-08T12:00:00.000Z',
    );
  });
});

describe('frequency caps', () => {
  const now = new Date('2026-01-10T12:00:00Z');
  const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString();
  const record = (sends: string[], holds: PacingRecord['holds'] = []): PacingRecord =>
    prunePacing({ version: 3, sends: sends.map((at, i) => ({ key: `f#e-${i}#s`, at })), holds }, caps, now);
  const caps = [
    { emails: 3, days: 7 },
    { emails: 1, days: 1 },
  ];
  const rules = { caps, staleAfterMinutes: 3 * 1440, priority: 0 };
  const message = { key: 'g#e-9#s', firstDueAt: now.toISOString() };

  it('lets a message go while every window has room', () => {
    expect(capVerdict(record([ago(2), ago(5)]), rules, message, now)).toEqual({ verdict: 'send' });
  });
  it('holds a second message in a day until the first is a day old', () => {
    expect(capVerdict(record([ago(0.25)]), rules, message, now)).toEqual({
      verdict: 'defer',
      reason: 'cap',
      until: new Date(now.getTime() + 0.75 * DAY),
    });
  });
  it('holds a fourth message in seven days until the oldest of the three leaves the window', () => {
    expect(capVerdict(record([ago(6), ago(4), ago(2)]), rules, message, now)).toMatchObject({
      verdict: 'defer',
      until: new Date(now.getTime() + DAY),
    });
  });
  it('drops a message whose wait would outlast its staleness', () => {
    const impatient = { ...rules, staleAfterMinutes: 60 };
    expect(capVerdict(record([ago(0.25)]), impatient, message, now)).toMatchObject({
      verdict: 'drop',
      reason: 'stale',
    });
  });
  it('forgets sends older than the longest window', () => {
    expect(record([ago(8), ago(2)]).sends.map((s) => s.at)).toEqual([ago(2)]);
  });
  it('gives a freed slot to a waiting message of higher priority, and makes the lower one wait', () => {
    const waiting = [{ key: 'vip#e-1#s', priority: 5, since: ago(0.5), until: now.toISOString() }];
    expect(capVerdict(record([ago(1.5)], waiting), rules, message, now)).toMatchObject({ verdict: 'defer' });
    expect(capVerdict(record([ago(1.5)], waiting), { ...rules, priority: 9 }, message, now)).toEqual({
      verdict: 'send',
    });
  });
  it('gives a freed slot to the older of two waiting messages of the same priority', () => {
    const older = [{ key: 'a#e-1#s', priority: 0, since: ago(0.5), until: now.toISOString() }];
    expect(capVerdict(record([ago(1.5)], older), rules, message, now)).toMatchObject({ verdict: 'defer' });
    const younger = [{ key: 'a#e-1#s', priority: 0, since: now.toISOString(), until: now.toISOString() }];
    expect(capVerdict(record([ago(1.5)], younger), rules, { ...message, firstDueAt: ago(0.5) }, now)).toEqual(
      {
        verdict: 'send',
      },
    );
  });
  it('stops keeping a place for a waiting message that never came back', () => {
    const gone = [{ key: 'vip#e-1#s', priority: 5, since: ago(2), until: ago(1) }];
    expect(record([], gone).holds).toEqual([]);
  });
});

describe('sending under quiet hours and caps', () => {
  let store: InMemoryCustomerStore;
  let mailer: CapturingMailer;
  let at = Date.parse('2026-01-06T04:00:00Z'); // 23:00 in New York
  const clock: Clock = { now: () => new Date(at), sleep: () => Promise.resolve() };
  const reputation = new InMemoryReputationStore();
  const deps = () => ({ store, mailer, clock, reputation });
  const pacing = {
    quietHours: quiet,
    caps: [{ emails: 1, days: 1 }],
    staleAfterMinutes: 2 * 1440,
    priority: 0,
    timeZone: NY,
  };
  const mail = (flowId: string, extra: Partial<SendEmailInput> = {}): SendEmailInput => ({
    customerId: 'c-1',
    flowId,
    stepId: 'mail',
    eventId: 'e-1',
    template: { id: flowId, subject: `From ${flowId}`, html: '<p>hi</p>' },
    topic: { id: 'promotions', transactional: false },
    sender: { from: 'Shop <hello@example.com>', postalAddress: '1 Main St, Springfield' },
    currency: 'USD',
    context: { event: undefined, steps: {} },
    pacing,
    ...extra,
  });

  beforeEach(async () => {
    store = new InMemoryCustomerStore();
    mailer = new CapturingMailer();
    at = Date.parse('2026-01-06T04:00:00Z');
    await store.saveProfile(
      'c-1',
      {
        email: 'c-1@example.com',
        name: 'Casey',
        consent: { '*': { granted: true, at: '2026-01-01T00:00:00Z', source: 'registration' } },
        timeZone: NY,
        createdAt: '2026-01-01T00:00:00Z',
      },
      undefined,
      '2026-01-01T00:00:00Z',
    );
  });

  it('defers a marketing email due at 23:00 local to 08:00, records why, and sends it then', async () => {
    expect(await sendEmail(mail('promo'), deps())).toMatchObject({
      status: 'deferred',
      code: 'quiet-hours',
      until: '2026-01-06T13:00:00.000Z',
      due: { at: '2026-01-06T13:00:00.000Z' },
    });
    expect(store.sends.get('c-1/promo#e-1#mail')).toMatchObject({
      status: 'deferred',
      code: 'quiet-hours',
      deferrals: 1,
    });
    expect(mailer.sent).toHaveLength(0);
    at = Date.parse('2026-01-06T13:00:00Z');
    expect((await sendEmail(mail('promo'), deps())).status).toBe('sent');
    expect(store.sends.get('c-1/promo#e-1#mail')).toMatchObject({
      status: 'sent',
      deferrals: 1,
      firstAt: '2026-01-06T04:00:00.000Z',
    });
    expect(await sendEmail(mail('promo'), deps())).toEqual({ status: 'duplicate', previous: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('sends a transactional email at any hour and past any cap', async () => {
    const receipt = { topic: { id: 'orders', transactional: true } };
    expect((await sendEmail(mail('receipt', receipt), deps())).status).toBe('sent');
    expect((await sendEmail(mail('receipt', { ...receipt, eventId: 'e-2' }), deps())).status).toBe('sent');
  });

  it('lets only one of two flows racing for a cap of one a day send; the other waits with its reason', async () => {
    at = Date.parse('2026-01-06T15:00:00Z'); // 10:00 local
    const results = await Promise.all([sendEmail(mail('a'), deps()), sendEmail(mail('b'), deps())]);
    expect(results.map((r) => r.status).sort()).toEqual(['deferred', 'sent']);
    expect(mailer.sent).toHaveLength(1);
    const waiting = [...store.sends.values()].find((s) => s.status === 'deferred');
    expect(waiting).toMatchObject({ code: 'cap', until: '2026-01-07T15:00:00.000Z' });
    expect(store.pacing.get('c-1')?.holds.map((h) => h.key)).toEqual([waiting?.key]);
  });

  it('drops a capped message that would wait past its staleness, and frees its place', async () => {
    at = Date.parse('2026-01-06T15:00:00Z');
    const impatient = { pacing: { ...pacing, staleAfterMinutes: 60 } };
    expect((await sendEmail(mail('a', impatient), deps())).status).toBe('sent');
    expect(await sendEmail(mail('b', impatient), deps())).toMatchObject({ status: 'dropped', code: 'stale' });
    expect(store.sends.get('c-1/b#e-1#mail')).toMatchObject({ status: 'dropped', code: 'stale' });
    expect(await sendEmail(mail('b', impatient), deps())).toEqual({
      status: 'duplicate',
      previous: 'dropped',
    });
    expect(store.pacing.get('c-1')?.holds).toEqual([]);
  });

  it('does not count a send the provider surely refused against its own retry', async () => {
    at = Date.parse('2026-01-06T15:00:00Z');
    let calls = 0;
    const flaky = {
      send: async (email: Parameters<CapturingMailer['send']>[0]) => {
        if (++calls === 1) throw new MailNotSentError('throttled');
        return mailer.send(email);
      },
    };
    await expect(sendEmail(mail('a'), { ...deps(), mailer: flaky })).rejects.toBeInstanceOf(MailNotSentError);
    expect((await sendEmail(mail('a'), { ...deps(), mailer: flaky })).status).toBe('sent');
  });

  it('records a skip with its reason code, and decides it again if the step runs again', async () => {
    await store.saveProfile('c-1', { consent: {} }, 1, '2026-01-02T00:00:00Z');
    at = Date.parse('2026-01-06T15:00:00Z');
    expect(await sendEmail(mail('a'), deps())).toMatchObject({ status: 'skipped', code: 'no-consent' });
    expect(store.sends.get('c-1/a#e-1#mail')).toMatchObject({ status: 'skipped', code: 'no-consent' });
    const yes = { '*': { granted: true, at: '2026-01-03T00:00:00Z', source: 'shop' as const } };
    await store.saveProfile('c-1', { consent: yes }, 2, '2026-01-03T00:00:00Z');
    expect((await sendEmail(mail('a'), deps())).status).toBe('sent');
  });
});

describe('compiling paced sends', () => {
  const sources = (delivery: string, flow: string) => {
    const shipped = readWorkflowSources();
    return {
      ...shipped,
      program: { ...shipped.program, text: `${shipped.program.text}\ndelivery:\n${delivery}` },
      flows: [{ file: 'workflows/flows/promo.yaml', text: flow }],
    };
  };
  const promo = (topic: string, extra = '') => `version: 1
id: promo
name: Promo
${extra}
trigger: { event: order.placed }
steps:
  - { id: mail, type: send_email, template: thank-you, topic: ${topic} }
`;
  const statesOf = (delivery: string, flow: string) =>
    compileProject(sources(delivery, flow)).flows[0]?.definition.States as Record<
      string,
      Record<string, unknown>
    >;

  it('parks a deferred send of a flow without journeys in a journey it enters then, and resumes at the same step', () => {
    const states = statesOf(
      '  quietHours: { from: "21:00", to: "08:00" }',
      promo('promotions', 'priority: 3'),
    );
    expect(states.mail?.Next).toBe('mail:deferred?');
    expect(states.mail?.Parameters).toMatchObject({
      pacing: { quietHours: { from: '21:00', to: '08:00' }, caps: [], priority: 3, staleAfterMinutes: 2880 },
    });
    expect(states['mail:deferred?']).toMatchObject({
      Choices: [{ Variable: '$.steps.mail.status', StringEquals: 'deferred', Next: 'mail:track' }],
      Default: 'Complete',
    });
    expect(states['mail:track']?.Next).toBe('mail:defer');
    expect(states['mail:defer']?.Parameters).toMatchObject({
      'due.$': '$.steps.mail.due',
      targets: { elapsed: 'mail' },
    });
    expect(states.Dispatch).toMatchObject({ Choices: [{ StringEquals: 'mail', Next: 'mail' }] });
    expect(states.Complete).toMatchObject({ Type: 'Choice', Default: 'Done' });
  });

  it('leaves transactional sends, flows with quiet_hours false and programs without rules unpaced', () => {
    expect(statesOf('  quietHours: { from: "21:00", to: "08:00" }', promo('orders')).mail?.Next).toBe(
      'Complete',
    );
    expect(statesOf('  caps: []', promo('promotions')).mail?.Next).toBe('Complete');
    const anyHour = statesOf(
      '  quietHours: { from: "21:00", to: "08:00" }',
      promo('promotions', 'quiet_hours: false'),
    );
    expect(anyHour.mail?.Next).toBe('Complete');
    const capped = statesOf('  caps: [{ emails: 1, days: 1 }]', promo('promotions', 'quiet_hours: false'));
    expect(capped.mail?.Parameters).toMatchObject({ pacing: { caps: [{ emails: 1, days: 1 }] } });
    expect(JSON.stringify(capped.mail?.Parameters)).not.toContain('quietHours');
  });
});
