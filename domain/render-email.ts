import { Liquid } from 'liquidjs';

// Rendering an email template for one customer: what a function needs at run time. Parsing the
// template files (front matter in YAML, Liquid checked) lives in templates.ts, so a Lambda bundle
// carries no YAML parser.

// Every value a template prints comes from outside (a customer's name, an order's items): the HTML
// body escapes each output by default, so `<a href=...>` in a name is text, not a link. A template
// marks a value it trusts with `| raw`. The subject is a header, not HTML: it is not escaped, and
// line breaks are folded away so a value cannot start a header of its own.
const options = { strictFilters: true, strictVariables: false, jsTruthy: false, cache: true } as const;
export const liquid = new Liquid({ ...options, outputEscape: 'escape' });
const plainLiquid = new Liquid(options);

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export const renderEmail = (template: { subject: string; html: string }, data: object): RenderedEmail => {
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
