import { Liquid } from 'liquidjs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';

// Email templates: Liquid with a YAML front matter for the subject.
//   ---
//   subject: Thanks for your order, {{ customer.firstName }}!
//   ---
//   <p>Hi {{ customer.firstName }}, ...</p>

// Every value a template prints comes from outside (a customer's name, an order's items): the HTML
// body escapes each output by default, so `<a href=...>` in a name is text, not a link. A template
// marks a value it trusts with `| raw`. The subject is a header, not HTML: it is not escaped, and
// line breaks are folded away so a value cannot start a header of its own.
const options = { strictFilters: true, strictVariables: false, jsTruthy: false, cache: true } as const;
const liquid = new Liquid({ ...options, outputEscape: 'escape' });
const plainLiquid = new Liquid(options);

export interface EmailTemplate {
  id: string;
  subject: string;
  html: string;
}

const frontMatterSchema = z.object({ subject: z.string().min(1, 'must not be empty') }).strict();

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
    readonly field: string,
  ) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

/** Splits front matter from body and checks that both parse as Liquid; throws with the line. */
export const parseEmailTemplate = (id: string, source: string): EmailTemplate => {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(source);
  if (!match)
    throw new TemplateSyntaxError('must start with a front matter block (--- subject: ... ---)', 1, '');
  const [, head = '', html = ''] = match;
  const front = frontMatterSchema.safeParse(parseYaml(head));
  if (!front.success) {
    const issue = front.error.issues[0];
    throw new TemplateSyntaxError(
      issue?.message ?? 'invalid front matter',
      2,
      issue?.path.join('.') || 'subject',
    );
  }
  const bodyStartLine = head.split('\n').length + 3;
  checkLiquid(front.data.subject, 2, 'subject');
  checkLiquid(html, bodyStartLine, 'body');
  return { id, subject: front.data.subject, html };
};

const checkLiquid = (text: string, firstLine: number, field: string): void => {
  try {
    liquid.parse(text);
  } catch (error) {
    const line = /line:(\d+)/.exec(String(error))?.[1];
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new TemplateSyntaxError(
      message ?? 'invalid Liquid',
      line ? firstLine + Number(line) - 1 : firstLine,
      field,
    );
  }
};

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export const renderEmail = (
  template: Pick<EmailTemplate, 'subject' | 'html'>,
  data: object,
): RenderedEmail => {
  const subject = plainLiquid.parseAndRenderSync(template.subject, data).replace(/\s+/g, ' ').trim();
  const html = liquid.parseAndRenderSync(template.html, data);
  return { subject, html, text: htmlToText(html) };
};

/** A plain-text part for clients that do not show HTML: paragraphs and breaks kept, tags dropped. */
export const htmlToText = (html: string): string =>
  html
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, '')
    // Source layout is not text layout: fold all white space, then break where the HTML does.
    .replace(/\s+/g, ' ')
    .replace(/<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, '$2 ($1)')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#34;/g, '"')
    // Last, so an escaped entity (`&amp;lt;`) stays the text it was (`&lt;`).
    .replace(/&amp;/g, '&')
    .split('\n')
    .map((line) => line.trim())
    .filter((line, i, lines) => line !== '' || (i > 0 && lines[i - 1] !== ''))
    .join('\n')
    .trim();
