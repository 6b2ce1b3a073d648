import { beforeEach, describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { renderEmail } from '../../domain/templates.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { type SendEmailInput, sendEmail } from '../../domain/use-cases/send-email.ts';
import { eventFixture } from '../support/fixtures.ts';
import { CapturingMailer, fixedClock, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { InMemoryReputationStore } from '../support/in-memory-reputation-store.ts';
import { eventContext } from '../support/parse.ts';
import { testProgram } from '../support/program.ts';

// CAN-SPAM asks every commercial email for the sender's postal address and a working opt-out; the
// footer carries both, in the HTML and in the text part, and transactional mail goes without.

const TEMPLATE = {
  subject: 'Hi {{ name }}',
  html: '<!doctype html>\n<html><body><p>Hi {{ name }}</p></body></html>\n',
};
const FOOTER = {
  postalAddress: 'Ada & Co <Shop>\n1 "Main" St\nSpringfield',
  unsubscribeUrl: 'https://mail.example.com/u?t=abc&topic=promotions',
  preferencesUrl: 'https://mail.example.com/p?t=abc',
};

describe('the marketing footer', () => {
  it('prints the postal address and the links inside the body, escaped as HTML', () => {
    const { html } = renderEmail(TEMPLATE, { name: 'Ada' }, FOOTER);
    expect(html).toContain('<p>Ada &amp; Co &lt;Shop&gt;<br>1 &quot;Main&quot; St<br>Springfield</p>');
    expect(html).toContain('<a href="https://mail.example.com/u?t=abc&amp;topic=promotions"');
    expect(html).toContain('>Unsubscribe</a>');
    expect(html).toContain('<a href="https://mail.example.com/p?t=abc"');
    expect(html).not.toContain('<Shop>');
    expect(html.indexOf('Springfield')).toBeLessThan(html.indexOf('</body>'));
    expect(html.indexOf('Hi Ada')).toBeLessThan(html.indexOf('Springfield'));
  });

  it('ends the text part with the address as written and the links in full', () => {
    const { text } = renderEmail(TEMPLATE, { name: 'Ada' }, FOOTER);
    expect(text).toBe(
      [
        'Hi Ada',
        '',
        '-- ',
        'Ada & Co <Shop>',
        '1 "Main" St',
        'Springfield',
        'Unsubscribe: https://mail.example.com/u?t=abc&topic=promotions',
        'Email preferences: https://mail.example.com/p?t=abc',
      ].join('\n'),
    );
  });

  it('appends the footer to a body without <body> and to a text part from its own template', () => {
    const email = renderEmail(
      { subject: 's', html: '<p>Sale</p>', text: 'Sale' },
      {},
      { postalAddress: '1 Main St, Springfield' },
    );
    expect(email.html).toMatch(/^<p>Sale<\/p>\n<div [^>]*>\n<p>1 Main St, Springfield<\/p>\n<\/div>\n$/);
    expect(email.text).toBe('Sale\n\n-- \n1 Main St, Springfield');
  });

  it('renders no footer when none is given', () => {
    const email = renderEmail(TEMPLATE, { name: 'Ada' });
    expect(email.html).toBe(TEMPLATE.html.replace('{{ name }}', 'Ada'));
    expect(email.text).toBe('Hi Ada');
  });
});

describe('sending with the footer', () => {
  const clock = fixedClock();
  const context = eventContext(clock.now(), testProgram);
  let store: InMemoryCustomerStore;
  let mailer: CapturingMailer;
  const reputation = new InMemoryReputationStore();
  const deps = () => ({ store, mailer, clock, program: testProgram, reputation });
  const mail = (topic: SendEmailInput['topic'], stepId: string): SendEmailInput => ({
    customerId: 'c-42',
    flowId: 'flow',
    stepId,
    eventId: 'e-1',
    template: {
      id: 't',
      subject: 'Hello',
      html: '<html><body><p>Hello {{ customer.firstName }}</p></body></html>',
    },
    topic,
    sender: testProgram.sender,
    currency: 'USD',
    context: { event: undefined, steps: {} },
  });

  beforeEach(async () => {
    store = new InMemoryCustomerStore();
    mailer = new CapturingMailer();
    // A sign-up with marketing consent, so the marketing email goes.
    const registered = eventFixture('customer-registered');
    Object.assign(registered.detail, { customerId: 'c-42', marketingConsent: true });
    await recordEvent(parseCommerceEvent(registered, context), deps());
  });

  it('puts the program postal address in every marketing email and none in a transactional one', async () => {
    expect((await sendEmail(mail({ id: 'promotions', transactional: false }, 'promo'), deps())).status).toBe(
      'sent',
    );
    expect((await sendEmail(mail({ id: 'orders', transactional: true }, 'receipt'), deps())).status).toBe(
      'sent',
    );
    const [promo, receipt] = mailer.sent;
    const address = testProgram.sender.postalAddress;
    expect(promo?.html).toContain(`<p>${address}</p>`);
    expect(promo?.text).toMatch(new RegExp(`\\n-- \\n${address}$`));
    expect(receipt?.html).not.toContain(address);
    expect(receipt?.text).not.toContain(address);
  });

  it('treats an email without a topic as marketing: it carries the footer', async () => {
    await sendEmail(mail(undefined, 'untopical'), deps());
    expect(mailer.sent[0]?.text).toContain(testProgram.sender.postalAddress);
  });
});
