import { describe, expect, it } from 'vitest';
import { type SesEvent, sesEventSchema } from '../../domain/contracts/ses-event.ts';
import { newProfile } from '../../domain/customer.ts';
import {
  decodeTagValue,
  encodeTagValue,
  readReputationTag,
  reputationFigures,
  reputationTags,
  windowHours,
} from '../../domain/reputation.ts';
import { recordSesEvent } from '../../domain/use-cases/reputation.ts';
import { type SendEmailInput, sendEmail } from '../../domain/use-cases/send-email.ts';
import { CapturingMailer, fixedClock, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { InMemoryReputationStore } from '../support/in-memory-reputation-store.ts';
import { testProgram } from '../support/program.ts';

const asSesTags = (tags: Record<string, string>) =>
  Object.fromEntries(Object.entries(tags).map(([name, value]) => [name, [value]]));

describe('the customer and identity tags on every send', () => {
  it('keeps letters, digits and dashes readable and escapes everything else losslessly', () => {
    expect(encodeTagValue('c-42')).toBe('c-42');
    expect(encodeTagValue('shop:42_a.b')).toBe('shop_3A42_5Fa_2Eb');
    for (const id of ['c-1', 'a_b', '__', 'Zoë#1', '客户/9', 'x'.repeat(128), '🙂'.repeat(64)]) {
      const encoded = encodeTagValue(id);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeTagValue(encoded)).toBe(id);
    }
  });

  it('refuses to decode a value it did not write', () => {
    expect(decodeTagValue('a_G1')).toBeUndefined();
    expect(decodeTagValue('a.b')).toBeUndefined();
    expect(decodeTagValue('_FF')).toBeUndefined();
  });

  it('splits an id too long for one SES tag over continuation tags and reads it back whole', () => {
    const id = '客户'.repeat(64);
    const tags = reputationTags(id, 'example.com');
    expect(Object.keys(tags)).toEqual([
      'customer',
      'customer-1',
      'customer-2',
      'customer-3',
      'customer-4',
      'identity',
    ]);
    for (const value of Object.values(tags)) {
      expect(value.length).toBeLessThanOrEqual(256);
      expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(readReputationTag(asSesTags(tags), 'customer')).toBe(id);
    expect(readReputationTag(asSesTags(tags), 'identity')).toBe('example.com');
  });
});

describe('the rolling rates', () => {
  const hour = (h: number) => `2026-11-24T${String(h).padStart(2, '0')}`;

  it('covers the last 24 hours, or only the hours after a resume', () => {
    expect(windowHours('2026-11-24T12:30:00Z')).toEqual({ from: '2026-11-23T13', to: '2026-11-24T12' });
    expect(windowHours('2026-11-24T12:30:00Z', '2026-11-24T09:10:00Z')).toEqual({
      from: '2026-11-24T10',
      to: '2026-11-24T12',
    });
  });

  it('pauses at 4% bounces and 0.08% complaints, but not below 200 sends', () => {
    const window = { from: hour(0), to: hour(23) };
    const at = (sends: number, bounces: number, complaints = 0) =>
      reputationFigures('example.com', window, [{ hour: hour(5), sends, bounces, complaints }]).breach;
    expect(at(3, 1)).toBeUndefined();
    expect(at(199, 100)).toBeUndefined();
    expect(at(200, 7)).toBeUndefined();
    expect(at(200, 8)).toBe('bounce rate 4.00% (8 of 200) >= 4.00%');
    expect(at(2500, 0, 1)).toBeUndefined();
    expect(at(2500, 0, 2)).toBe('complaint rate 0.08% (2 of 2500) >= 0.08%');
  });

  it('sums only the hours inside the window', () => {
    const figures = reputationFigures('example.com', { from: hour(10), to: hour(12) }, [
      { hour: hour(9), sends: 1000, bounces: 0, complaints: 0 },
      { hour: hour(10), sends: 100, bounces: 5, complaints: 0 },
      { hour: hour(12), sends: 100, bounces: 3, complaints: 0 },
    ]);
    expect(figures).toMatchObject({ sends: 200, bounces: 8, bounceRate: 0.04 });
    expect(figures.breach).toBeDefined();
  });
});

describe('recording what SES reports', () => {
  const clock = fixedClock('2026-11-24T12:00:00Z');
  const identity = 'example.com';
  const sesEvent = (detail: Record<string, unknown>, customerId = 'c-1'): SesEvent =>
    sesEventSchema.parse({
      id: 'ev-1',
      source: 'aws.ses',
      'detail-type': 'Email Bounced',
      time: '2026-11-24T12:00:00Z',
      detail: {
        mail: {
          timestamp: '2026-11-24T11:00:00.000Z',
          messageId: `m-${customerId}`,
          destination: ['ada@example.com'],
          tags: { ...asSesTags(reputationTags(customerId, identity)), 'ses:configuration-set': ['cs'] },
        },
        ...detail,
      },
    });
  const bounce = (customerId = 'c-1', bounceType = 'Permanent') =>
    sesEvent(
      {
        eventType: 'Bounce',
        bounce: {
          bounceType,
          bouncedRecipients: [{ emailAddress: 'Ada@Example.com' }],
          timestamp: '2026-11-24T11:00:05.000Z',
        },
      },
      customerId,
    );
  const complaint = () =>
    sesEvent({
      eventType: 'Complaint',
      complaint: {
        complainedRecipients: [{ emailAddress: 'ada@example.com' }],
        timestamp: '2026-11-24T11:30:00Z',
      },
    });
  const setup = async () => {
    const store = new InMemoryCustomerStore();
    const reputation = new InMemoryReputationStore();
    await store.saveProfile(
      'c-1',
      newProfile('c-1', 'ada@example.com', 'Ada', '2026-01-01T00:00:00Z'),
      undefined,
      '',
    );
    return { store, reputation, clock };
  };

  it('suppresses a customer whose address hard-bounced, once, however often the bounce is delivered', async () => {
    const deps = await setup();
    expect(await recordSesEvent(bounce(), deps)).toMatchObject({
      identity,
      customerId: 'c-1',
      suppression: 'applied',
      counted: 'applied',
    });
    expect(await recordSesEvent(bounce(), deps)).toMatchObject({
      suppression: 'unchanged',
      counted: 'duplicate',
    });
    expect((await deps.store.getProfile('c-1'))?.suppression).toEqual({
      reason: 'hard-bounce',
      at: '2026-11-24T11:00:05.000Z',
    });
    expect((await deps.reputation.buckets(identity, '2026-11-24T11', '2026-11-24T11'))[0]?.bounces).toBe(1);
  });

  it('leaves soft bounces alone', async () => {
    const deps = await setup();
    expect((await recordSesEvent(bounce('c-1', 'Transient'), deps)).counted).toBeUndefined();
    expect((await deps.store.getProfile('c-1'))?.suppression).toBeUndefined();
  });

  it('does not suppress an address the customer has since replaced', async () => {
    const deps = await setup();
    const profile = await deps.store.getProfile('c-1');
    await deps.store.saveProfile('c-1', { email: 'ada@new.example' }, profile?.version, '');
    expect(await recordSesEvent(bounce(), deps)).toMatchObject({
      suppression: 'other-address',
      counted: 'applied',
    });
    expect((await deps.store.getProfile('c-1'))?.suppression).toBeUndefined();
  });

  it('opts a customer who complained out of every marketing topic, once', async () => {
    const deps = await setup();
    expect(await recordSesEvent(complaint(), deps)).toMatchObject({
      suppression: 'applied',
      optOut: 'applied',
    });
    expect(await recordSesEvent(complaint(), deps)).toMatchObject({
      suppression: 'unchanged',
      optOut: 'unchanged',
    });
    expect((await deps.store.getProfile('c-1'))?.consent).toEqual({
      '*': { granted: false, at: '2026-11-24T11:30:00Z', source: 'complaint' },
    });
  });

  it('keeps the newer fact when a complaint follows a bounce and the bounce is redelivered', async () => {
    const deps = await setup();
    await recordSesEvent(bounce(), deps);
    await recordSesEvent(complaint(), deps);
    await recordSesEvent(bounce(), deps);
    expect((await deps.store.getProfile('c-1'))?.suppression).toEqual({
      reason: 'complaint',
      at: '2026-11-24T11:30:00Z',
    });
  });

  it('pauses marketing from the identity when hard bounces reach 4% of 200 sends, once', async () => {
    const deps = await setup();
    await deps.reputation.countSends(identity, '2026-11-24T11', 200);
    for (let i = 1; i <= 7; i++)
      expect((await recordSesEvent(bounce(`c-${i}`), deps)).paused).toBeUndefined();
    expect((await recordSesEvent(bounce('c-8'), deps)).paused).toBe('applied');
    expect((await recordSesEvent(bounce('c-9'), deps)).paused).toBe('already-paused');
    expect(await deps.reputation.getPause(identity)).toMatchObject({
      status: 'paused',
      reason: 'bounce rate 4.00% (8 of 200) >= 4.00%',
    });
  });

  it('skips marketing from a paused identity with reason paused and still sends transactional mail', async () => {
    const deps = await setup();
    const mailer = new CapturingMailer();
    await deps.reputation.pause({
      identity,
      status: 'paused',
      at: clock.now().toISOString(),
      reason: 'test',
    });
    const consent = { '*': { granted: true, at: '2026-01-01T00:00:00Z', source: 'registration' as const } };
    await deps.store.saveProfile('c-1', { consent }, 1, '');
    const mail = (topic: { id: string; transactional: boolean }, stepId: string): SendEmailInput => ({
      customerId: 'c-1',
      flowId: 'f',
      stepId,
      eventId: 'e-1',
      template: { id: 't', subject: 'Hi', html: '<p>Hi</p>' },
      sender: testProgram.sender,
      currency: 'USD',
      topic,
      context: { event: undefined, steps: {} },
    });
    expect(
      await sendEmail(mail({ id: 'promotions', transactional: false }, 'promo'), { ...deps, mailer }),
    ).toEqual({
      status: 'skipped',
      reason: 'paused',
    });
    expect(
      (await sendEmail(mail({ id: 'receipts', transactional: true }, 'receipt'), { ...deps, mailer })).status,
    ).toBe('sent');
    expect(mailer.sent.map((m) => m.tags)).toEqual([
      { flow: 'f', step: 'receipt', template: 't', customer: 'c-1', identity: 'example_2Ecom' },
    ]);
  });
});
