import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { htmlToText, renderEmail } from '../../domain/templates.ts';
import { parseEmailTemplate, TemplateSyntaxError } from '../../domain/workflow/email-templates.ts';

const shipped = readFileSync(new URL('../../workflows/emails/thank-you.liquid', import.meta.url), 'utf8');

describe('email templates', () => {
  // The order earns its points when it is recorded; the recorded event carries them in meta.points.
  it('renders the shipped thank-you with the name, points earned, spendable and pending balance', () => {
    const template = parseEmailTemplate('thank-you', shipped);
    const email = renderEmail(template, {
      customer: { firstName: 'Ada', pointsBalance: 120, pointsPending: 42, orderCount: 3 },
      event: { orderId: 'o-1001', meta: { eventId: 'e-1', source: 'my.shop', points: 42 } },
      steps: {},
    });
    expect(email.subject).toBe('Thank you for your order, Ada!');
    expect(email.text).toContain('Hi Ada,');
    expect(email.text).toContain('Thank you for your order o-1001.');
    expect(email.text).toContain('It earned you 42 points.');
    expect(email.text).toContain(
      'You have 120 points to spend and 42 more that become spendable once the return window closes.',
    );
    expect(email.text).toContain('order number 3');
  });

  it('says nothing about pending points when none are pending', () => {
    const template = parseEmailTemplate('thank-you', shipped);
    for (const pointsPending of [0, undefined]) {
      const email = renderEmail(template, {
        customer: { firstName: 'Ada', pointsBalance: 120, pointsPending, orderCount: 1 },
        event: { orderId: 'o-1', meta: { points: 5 } },
        steps: {},
      });
      expect(email.text).toContain('You have 120 points to spend.');
      expect(email.text).not.toContain('return window');
      expect(email.text).not.toContain('order number');
    }
  });

  it('says point, not points, for one point and nothing about points for none', () => {
    const template = parseEmailTemplate('thank-you', shipped);
    const one = renderEmail(template, {
      customer: { firstName: 'A', pointsBalance: 1, orderCount: 1 },
      event: { orderId: 'o-1', meta: { points: 1 } },
      steps: {},
    });
    const none = renderEmail(template, {
      customer: { firstName: 'A', pointsBalance: 0, orderCount: 1 },
      event: { orderId: 'o-2', meta: { points: 0 } },
      steps: {},
    });
    const unknown = renderEmail(template, {
      customer: { firstName: 'A', pointsBalance: 0, orderCount: 1 },
      event: { orderId: 'o-3' },
      steps: {},
    });
    expect(one.text).toContain('It earned you 1 point.');
    expect(none.text).not.toContain('earned you');
    expect(unknown.text).not.toContain('earned you');
  });

  it('ignores a flow award step: the points shown are the ones the order earned', () => {
    const template = parseEmailTemplate('thank-you', shipped);
    const email = renderEmail(template, {
      customer: { firstName: 'A', pointsBalance: 10, orderCount: 1 },
      event: { orderId: 'o-1', meta: { points: 7 } },
      steps: { award: { points: 99 } },
    });
    expect(email.text).toContain('It earned you 7 points.');
    expect(email.text).not.toContain('99');
  });

  it('renders the shipped points-expiring and tier-welcome templates from the loyalty event', () => {
    const read = (name: string) =>
      parseEmailTemplate(
        name,
        readFileSync(new URL(`../../workflows/emails/${name}.liquid`, import.meta.url), 'utf8'),
      );
    const expiring = renderEmail(read('points-expiring'), {
      customer: { firstName: 'Ada', pointsBalance: 800 },
      event: { points: 300, expiresOn: '2027-01-31' },
      steps: {},
    });
    expect(expiring.subject).toBe('Ada, 300 of your points expire on 2027-01-31');
    expect(expiring.text).toContain('300 points of your balance of 800 expire on');
    expect(expiring.text).toContain('2027-01-31');
    const welcome = renderEmail(read('tier-welcome'), {
      customer: { firstName: 'Ada', pointsBalance: 900 },
      event: { from: 'member', to: 'silver', direction: 'up' },
      steps: {},
    });
    expect(welcome.subject).toBe('Welcome to Silver, Ada!');
    expect(welcome.text).toContain('You are now a Silver member.');
    expect(welcome.text).toContain('Your points balance: 900.');
  });

  it('reports a Liquid error with the line in the file', () => {
    const source = '---\nsubject: Hi\n---\n<p>ok</p>\n<p>{% if customer.vip %}VIP</p>\n';
    try {
      parseEmailTemplate('broken', source);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TemplateSyntaxError);
      expect((error as TemplateSyntaxError).line).toBe(5);
      expect((error as TemplateSyntaxError).message).toMatch(/not closed/);
    }
  });

  it('requires a subject in the front matter', () => {
    expect(() => parseEmailTemplate('x', '---\ntitle: Hi\n---\nbody')).toThrow(TemplateSyntaxError);
    expect(() => parseEmailTemplate('x', 'no front matter')).toThrow(/front matter/);
  });

  it('turns HTML into readable text with paragraphs, breaks and links kept', () => {
    expect(htmlToText('<p>Hi &amp; welcome</p><p>See <a href="https://x.test/a">this</a><br>now</p>')).toBe(
      'Hi & welcome\n\nSee this (https://x.test/a)\nnow',
    );
  });

  it('derives text from lists, tables, named and numeric entities as a reader would type it', () => {
    const text = htmlToText(
      '<p>Don&#8217;t miss our caf&eacute; &ndash; today</p><ul><li>Vinyl</li><li>CDs</li></ul>' +
        '<table><tr><td>Total</td><td>$42.00</td></tr></table><img src="https://x.test/logo.png" alt="logo">',
    );
    expect(text).toBe('Don\u2019t miss our caf\u00e9 \u2013 today\n\n * Vinyl\n * CDs\n\nTotal   $42.00');
  });

  it('renders the text part from its own template, printing values unescaped', () => {
    const email = renderEmail(
      {
        subject: 'Hi {{ name }}',
        html: '<p>Hi <b>{{ name }}</b></p>',
        text: 'Hi {{ name }},\nyour code is {{ code }}.\n',
      },
      { name: 'Ada & <Bob>', code: 'RAP-1' },
    );
    expect(email.html).toBe('<p>Hi <b>Ada &amp; &lt;Bob&gt;</b></p>');
    expect(email.text).toBe('Hi Ada & <Bob>,\nyour code is RAP-1.');
  });

  describe('hostile values', () => {
    const hostile = '<a/href=https://evil.example>Locked</a>';

    it('prints a customer name that holds HTML as text in the shipped thank-you, never as a link', () => {
      const template = parseEmailTemplate('thank-you', shipped);
      const email = renderEmail(template, {
        customer: { firstName: hostile, pointsBalance: 1, orderCount: 1 },
        event: { orderId: '"><img src=x onerror=alert(1)>', meta: { points: 1 } },
        steps: {},
      });
      expect(email.html).not.toMatch(/<a[\s/]/i);
      expect(email.html).not.toContain('<img');
      expect(email.html).toContain('Hi &lt;a/href=https://evil.example&gt;Locked&lt;/a&gt;,');
      expect(email.html).toContain('&#34;&gt;&lt;img src=x onerror=alert(1)&gt;');
      // The text part shows what the customer typed, as text.
      expect(email.text).toContain(`Hi ${hostile},`);
    });

    it('escapes values in attributes, after filters and in loops', () => {
      const email = renderEmail(
        {
          subject: 's',
          html: '<a href="https://shop.test/?q={{ q }}">{{ q | upcase }}</a>{% for i in items %}<li>{{ i.name }}</li>{% endfor %}',
        },
        { q: '" onclick="steal()', items: [{ name: '<script>x</script>' }] },
      );
      expect(email.html).toBe(
        '<a href="https://shop.test/?q=&#34; onclick=&#34;steal()">&#34; ONCLICK=&#34;STEAL()</a><li>&lt;script&gt;x&lt;/script&gt;</li>',
      );
    });

    it('prints a value raw only where the template marks it trusted', () => {
      const email = renderEmail(
        { subject: 's', html: '{{ banner | raw }}|{{ banner }}' },
        { banner: '<b>Sale</b>' },
      );
      expect(email.html).toBe('<b>Sale</b>|&lt;b&gt;Sale&lt;/b&gt;');
    });

    it('keeps the subject a single header line of plain text', () => {
      const email = renderEmail(
        { subject: 'Hi {{ name }}', html: '' },
        { name: 'Ada\r\nBcc: victim@example.com <b>' },
      );
      expect(email.subject).toBe('Hi Ada Bcc: victim@example.com <b>');
      expect(email.subject).not.toMatch(/[\r\n]/);
    });

    it('keeps an escaped entity in the text part as the text it was', () => {
      expect(htmlToText('<p>Write &amp;lt; for &lt;</p>')).toBe('Write &lt; for <');
    });
  });
});
