import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { htmlToText, parseEmailTemplate, renderEmail, TemplateSyntaxError } from '../../domain/templates.ts';

const shipped = readFileSync(new URL('../../workflows/emails/thank-you.liquid', import.meta.url), 'utf8');

describe('email templates', () => {
  it('renders the shipped thank-you with the name, points earned and new balance', () => {
    const template = parseEmailTemplate('thank-you', shipped);
    const email = renderEmail(template, {
      customer: { firstName: 'Ada', pointsBalance: 120, orderCount: 3 },
      event: { orderId: 'o-1001' },
      steps: { award: { points: 42 } },
    });
    expect(email.subject).toBe('Thank you for your order, Ada!');
    expect(email.text).toContain('Hi Ada,');
    expect(email.text).toContain('It earned you 42 points.');
    expect(email.text).toContain('Your points balance is now 120.');
    expect(email.text).toContain('order number 3');
  });

  it('says point, not points, for one point and nothing about points for none', () => {
    const template = parseEmailTemplate('thank-you', shipped);
    const one = renderEmail(template, {
      customer: { firstName: 'A', pointsBalance: 1, orderCount: 1 },
      steps: { award: { points: 1 } },
    });
    const none = renderEmail(template, {
      customer: { firstName: 'A', pointsBalance: 0, orderCount: 1 },
      steps: { award: { points: 0 } },
    });
    expect(one.text).toContain('It earned you 1 point.');
    expect(none.text).not.toContain('earned you');
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

  it('turns HTML into readable text with links kept', () => {
    expect(htmlToText('<p>Hi &amp; welcome</p><p>See <a href="https://x.test/a">this</a><br>now</p>')).toBe(
      'Hi & welcome\nSee this (https://x.test/a)\nnow',
    );
  });
});
