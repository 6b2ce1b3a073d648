import { beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidEventError,
  MailNotSentError,
  MailRejectedError,
  TransientError,
} from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { type SendEmailInput, sendEmail } from '../../domain/use-cases/send-email.ts';
import { eventFixture } from '../support/fixtures.ts';
import { CapturingMailer, fixedClock, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { InMemoryReputationStore } from '../support/in-memory-reputation-store.ts';
import { eventContext } from '../support/parse.ts';
import { testProgram } from '../support/program.ts';

const program = testProgram;

describe('recording events, awarding points and sending email', () => {
  let store: InMemoryCustomerStore;
  let mailer: CapturingMailer;
  const clock = fixedClock();
  const context = eventContext(clock.now(), program);
  const reputation = new InMemoryReputationStore();
  const deps = () => ({ store, mailer, clock, program, reputation });
  const placed = () => parseCommerceEvent(eventFixture('order-placed'), context);
  const mail = (): SendEmailInput => ({
    customerId: 'c-42',
    flowId: 'thank-you',
    stepId: 'thank',
    eventId: 'e-1',
    template: {
      id: 't',
      subject: 'Thanks {{ customer.firstName }}',
      html: '<p>{{ steps.award.points }} / {{ customer.pointsBalance }}</p>',
    },
    topic: { id: 'orders', transactional: true },
    sender: program.sender,
    currency: 'USD',
    context: { event: undefined, steps: { award: { points: 42 } } },
  });

  beforeEach(() => {
    store = new InMemoryCustomerStore();
    mailer = new CapturingMailer();
  });

  it('records an order once, however often it is delivered', async () => {
    expect((await recordEvent(placed(), deps())).outcome).toBe('applied');
    expect((await recordEvent(placed(), deps())).outcome).toBe('duplicate');
    expect(store.profiles.get('c-42')).toMatchObject({ orderCount: 1, lifetimeSpendMinor: 4299 });
  });

  it('awards an order its points with the order, once, and reports the same points on a repeat', async () => {
    expect(await recordEvent(placed(), deps())).toMatchObject({ outcome: 'applied', points: 42 });
    expect(await recordEvent(placed(), deps())).toMatchObject({ outcome: 'duplicate' });
    expect(store.profiles.get('c-42')?.pointsBalance).toBe(42);
    expect([...store.entries.values()].map((e) => [e.entryId, e.points, e.ruleId])).toEqual([
      ['earn:order:o-1001', 42, 'base-earn'],
    ]);
  });

  it('takes back the refunded share of the points, once (12.99 of 42.99 leaves 29 of 42)', async () => {
    await recordEvent(placed(), deps());
    const refund = parseCommerceEvent(eventFixture('order-refunded'), context);
    expect(await recordEvent(refund, deps())).toMatchObject({ outcome: 'applied', pointsReversed: 13 });
    expect(await recordEvent(refund, deps())).toMatchObject({ outcome: 'duplicate', pointsReversed: 13 });
    expect(store.profiles.get('c-42')).toMatchObject({ pointsBalance: 29, refundedMinor: 1299 });
  });

  it('reads again when another change lands between a refund reading the account and writing', async () => {
    await recordEvent(placed(), deps());
    const racing = Object.create(store) as InMemoryCustomerStore;
    let raced = false;
    racing.writePoints = async (...args) => {
      if (!raced) {
        raced = true;
        const second = eventFixture('order-placed');
        second.id = 'e-2';
        second.detail.orderId = 'o-1002';
        await recordEvent(parseCommerceEvent(second, context), deps());
      }
      return store.writePoints(...args);
    };
    const refund = parseCommerceEvent(eventFixture('order-refunded'), context);
    expect(await recordEvent(refund, { ...deps(), store: racing })).toMatchObject({ pointsReversed: 13 });
    expect(store.profiles.get('c-42')?.pointsBalance).toBe(42 + 42 - 13);
  });

  it('answers a copy of a full refund that raced the first as a duplicate, not as too large', async () => {
    await recordEvent(placed(), deps());
    const full = eventFixture('order-refunded');
    full.detail.amount = 42.99;
    const refund = parseCommerceEvent(full, context);
    // The copy reads the ledger before the first lands and the order after: nothing is left to refund.
    const racing = Object.create(store) as InMemoryCustomerStore;
    let raced = false;
    racing.getOrder = async (...args) => {
      if (!raced) {
        raced = true;
        await recordEvent(refund, deps());
      }
      return store.getOrder(...args);
    };
    expect(await recordEvent(refund, { ...deps(), store: racing })).toMatchObject({
      outcome: 'duplicate',
      pointsReversed: 42,
    });
    expect(store.profiles.get('c-42')).toMatchObject({ pointsBalance: 0, refundedMinor: 4299 });
  });

  it('refuses a refund larger than what is left of the order', async () => {
    await recordEvent(placed(), deps());
    const refund = eventFixture('order-refunded');
    refund.detail.amount = 50;
    await expect(recordEvent(parseCommerceEvent(refund, context), deps())).rejects.toThrow(
      'detail.amount: $50.00 is more than the $42.99 left to refund on order o-1001',
    );
  });

  it('refuses an order in another currency than the program', async () => {
    const event = eventFixture('order-placed');
    event.detail.currency = 'EUR';
    await expect(recordEvent(parseCommerceEvent(event, context), deps())).rejects.toBeInstanceOf(
      InvalidEventError,
    );
  });

  it('sends a personalized email once per customer, flow, event and step', async () => {
    await recordEvent(placed(), deps());
    expect((await sendEmail(mail(), deps())).status).toBe('sent');
    expect(await sendEmail(mail(), deps())).toEqual({ status: 'duplicate', previous: 'sent' });
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({
      to: 'ada@example.com',
      subject: 'Thanks Ada',
      html: '<p>42 / 42</p>',
      text: '42 / 42',
    });
  });

  it('mails a customer first seen in an order only on transactional topics until consent is given', async () => {
    await recordEvent(placed(), deps());
    const promotions = { ...mail(), stepId: 'promo', topic: { id: 'promotions', transactional: false } };
    const receipt = { ...mail(), stepId: 'receipt', topic: { id: 'orders', transactional: true } };
    expect(await sendEmail(promotions, deps())).toEqual({
      status: 'skipped',
      code: 'no-consent',
      reason: 'no consent for promotions',
    });
    expect((await sendEmail(receipt, deps())).status).toBe('sent');
    const consent = eventFixture('order-placed');
    Object.assign(consent.detail, { orderId: 'o-2', marketingConsent: true });
    consent.id = 'e-consent';
    await recordEvent(parseCommerceEvent(consent, context), deps());
    expect((await sendEmail(promotions, deps())).status).toBe('sent');
    expect(mailer.sent.map((m) => m.tags?.step)).toEqual(['receipt', 'promo']);
  });

  it('releases the claim when the provider surely did not send, so the retry sends exactly once', async () => {
    await recordEvent(placed(), deps());
    let calls = 0;
    const flaky = {
      send: async (email: Parameters<CapturingMailer['send']>[0]) => {
        calls++;
        if (calls === 1) throw new MailNotSentError('throttled');
        return mailer.send(email);
      },
    };
    await expect(sendEmail(mail(), { ...deps(), mailer: flaky })).rejects.toBeInstanceOf(MailNotSentError);
    expect((await sendEmail(mail(), { ...deps(), mailer: flaky })).status).toBe('sent');
    expect(mailer.sent).toHaveLength(1);
  });

  it('still sends once when releasing the claim after a refusal is throttled too', async () => {
    await recordEvent(placed(), deps());
    let calls = 0;
    const flaky = {
      send: async (email: Parameters<CapturingMailer['send']>[0]) => {
        if (++calls === 1) throw new MailNotSentError('throttled');
        return mailer.send(email);
      },
    };
    const throttled = Object.create(store) as InMemoryCustomerStore;
    let releases = 0;
    throttled.releaseSend = async (...args) => {
      if (++releases === 1) throw new TransientError('DynamoDB UpdateItem was throttled');
      return store.releaseSend(...args);
    };
    const both = { ...deps(), mailer: flaky, store: throttled };
    await expect(sendEmail(mail(), both)).rejects.toBeInstanceOf(MailNotSentError);
    expect((await sendEmail(mail(), both)).status).toBe('sent');
    expect(releases).toBe(2);
    expect(mailer.sent).toHaveLength(1);
  });

  it('records a send as sent when recording it was throttled once', async () => {
    await recordEvent(placed(), deps());
    const throttled = Object.create(store) as InMemoryCustomerStore;
    let completes = 0;
    throttled.completeSend = async (...args) => {
      if (++completes === 1) throw new TransientError('DynamoDB UpdateItem was throttled');
      return store.completeSend(...args);
    };
    expect((await sendEmail(mail(), { ...deps(), store: throttled })).status).toBe('sent');
    expect(await store.getSend('c-42', 'thank-you#e-1#thank')).toMatchObject({ status: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('never sends twice when it crashed between sending and recording the send', async () => {
    await recordEvent(placed(), deps());
    const crashing = Object.create(store) as InMemoryCustomerStore;
    crashing.completeSend = async () => {
      throw new Error('Lambda timed out');
    };
    await expect(sendEmail(mail(), { ...deps(), store: crashing })).rejects.toThrow('Lambda timed out');
    expect(await sendEmail(mail(), deps())).toEqual({ status: 'duplicate', previous: 'sending' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('records a permanent rejection and does not retry it', async () => {
    await recordEvent(placed(), deps());
    const rejecting = {
      send: async () => {
        throw new MailRejectedError('Email address is not verified');
      },
    };
    expect(await sendEmail(mail(), { ...deps(), mailer: rejecting })).toEqual({
      status: 'failed',
      reason: 'Email address is not verified',
    });
    expect([...store.sends.values()][0]).toMatchObject({ status: 'failed' });
  });
});
