import { compile as compileHtmlToText } from 'html-to-text';
import { Liquid } from 'liquidjs';

// Rendering email templates (Liquid; workflow/email-templates.ts reads them from their files).

// Every value a template prints comes from outside (a customer's name, an order's items): the HTML
// body escapes each output by default, so `<a href=...>` in a name is text, not a link. A template
// marks a value it trusts with `| raw`. The subject is a header, not HTML: it is not escaped, and
// line breaks are folded away so a value cannot start a header of its own. A text body is not HTML
// either: it prints values as they are.
export const TEMPLATE_OPTIONS = {
  strictFilters: true,
  strictVariables: false,
  jsTruthy: false,
  cache: true,
} as const;
const liquid = new Liquid({ ...TEMPLATE_OPTIONS, outputEscape: 'escape' });
const plainLiquid = new Liquid(TEMPLATE_OPTIONS);

export interface EmailTemplate {
  id: string;
  subject: string;
  html: string;
  /** The plain-text body (emails/NAME.txt.liquid); absent: derived from the rendered HTML. */
  text?: string | undefined;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/**
 * What a marketing email must end with (CAN-SPAM: the sender's postal address and a working way to
 * opt out; Gmail and Yahoo: a visible unsubscribe link besides the List-Unsubscribe header).
 */
export interface EmailFooter {
  postalAddress: string;
  unsubscribeUrl?: string | undefined;
  preferencesUrl?: string | undefined;
}

export const renderEmail = (
  template: Pick<EmailTemplate, 'subject' | 'html' | 'text'>,
  data: object,
  footer?: EmailFooter,
): RenderedEmail => {
  const subject = plainLiquid.parseAndRenderSync(template.subject, data).replace(/\s+/g, ' ').trim();
  const html = liquid.parseAndRenderSync(template.html, data);
  const text =
    template.text === undefined
      ? htmlToText(html)
      : plainLiquid.parseAndRenderSync(template.text, data).trim();
  if (!footer) return { subject, html, text };
  return { subject, html: withHtmlFooter(html, footer), text: `${text}\n\n-- \n${textFooter(footer)}` };
};

// A well-kept converter rather than regular expressions: entities, nested lists, tables and links
// are where hand-rolled ones go wrong. Compiled once per container, not per email. No hard wrap:
// without format=flowed a wrapped line stays broken on a phone, and a long link would break.
const convert = compileHtmlToText({
  wordwrap: false,
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['(', ')'] } },
    { selector: 'img', format: 'skip' },
    ...(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((selector) => ({
      selector,
      options: { uppercase: false },
    })),
    { selector: 'table', format: 'dataTable' },
  ],
});

/** A plain-text part for clients that do not show HTML: paragraphs, lists and links kept, tags dropped. */
export const htmlToText = (html: string): string => convert(html).trim();

const escapeHtml = (value: string): string =>
  value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const footerLinks = (footer: EmailFooter): { label: string; url: string }[] => [
  ...(footer.unsubscribeUrl ? [{ label: 'Unsubscribe', url: footer.unsubscribeUrl }] : []),
  ...(footer.preferencesUrl ? [{ label: 'Email preferences', url: footer.preferencesUrl }] : []),
];

const addressLines = (address: string): string[] =>
  address
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter(Boolean);

// Inside the body when there is one, so the footer shows in the template's own page.
const withHtmlFooter = (html: string, footer: EmailFooter): string => {
  const links = footerLinks(footer)
    .map(({ label, url }) => `<a href="${escapeHtml(url)}" style="color: #666;">${label}</a>`)
    .join(' &middot; ');
  const block = [
    '<div style="margin-top: 32px; font-size: 12px; color: #666;">',
    `<p>${addressLines(footer.postalAddress).map(escapeHtml).join('<br>')}</p>`,
    ...(links ? [`<p>${links}</p>`] : []),
    '</div>',
  ].join('\n');
  const close = html.search(/<\/body\s*>/i);
  return close < 0 ? `${html}\n${block}\n` : `${html.slice(0, close)}${block}\n${html.slice(close)}`;
};

const textFooter = (footer: EmailFooter): string =>
  [
    ...addressLines(footer.postalAddress),
    ...footerLinks(footer).map(({ label, url }) => `${label}: ${url}`),
  ].join('\n');
