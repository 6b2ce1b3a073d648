import { Liquid } from 'liquidjs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { type EmailTemplate, TEMPLATE_OPTIONS } from '../templates.ts';

// Reading an email template from workflows/emails/*.liquid: a YAML front matter for the subject,
// then the Liquid body. Deploy time only (the compiler): the send-email Lambda gets the parsed
// template in its input and carries neither the YAML parser nor this module.
//   ---
//   subject: Thanks for your order, {{ customer.firstName }}!
//   ---
//   <p>Hi {{ customer.firstName }}, ...</p>

const liquid = new Liquid(TEMPLATE_OPTIONS);

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

/** A variable the template reads from outside (`event.meta.points`), with the file line it is on. */
export interface TemplateRead {
  path: (string | number)[];
  line: number;
}

export interface ParsedTemplate {
  template: EmailTemplate;
  /** Every global the subject and body read, for checking against what the flow provides. */
  reads: TemplateRead[];
}

export const templateIdOf = (file: string): string =>
  file.replace(/^.*\//, '').replace(/(\.txt)?\.liquid$/, '');

/**
 * A template's plain-text part lives beside it as NAME.txt.liquid: Liquid without front matter (the
 * subject is the HTML file's), printed as it is, not escaped. Without one, the text is derived from
 * the HTML.
 */
export const isTextTemplateFile = (file: string): boolean => /\.txt\.liquid$/.test(file);

/** Checks a text part's Liquid; throws with the line. What it reads, with file lines. */
export const analyseTextTemplate = (source: string): { text: string; reads: TemplateRead[] } => ({
  text: source,
  reads: readsOf(source, 1, 'text'),
});

/** Splits front matter from body and checks that both parse as Liquid; throws with the line. */
export const parseEmailTemplate = (id: string, source: string): EmailTemplate =>
  analyseEmailTemplate(id, source).template;

/** parseEmailTemplate, and what the template reads (each with its line in the file). */
export const analyseEmailTemplate = (id: string, source: string): ParsedTemplate => {
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
  const reads = [...readsOf(front.data.subject, 2, 'subject'), ...readsOf(html, bodyStartLine, 'body')];
  return { template: { id, subject: front.data.subject, html }, reads };
};

const readsOf = (text: string, firstLine: number, field: string): TemplateRead[] => {
  let parsed: ReturnType<Liquid['parse']>;
  try {
    parsed = liquid.parse(text);
  } catch (error) {
    const line = /line:(\d+)/.exec(String(error))?.[1];
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new TemplateSyntaxError(
      message ?? 'invalid Liquid',
      line ? firstLine + Number(line) - 1 : firstLine,
      field,
    );
  }
  return Object.values(liquid.analyzeSync(parsed, { partials: false }).globals).flatMap((variables) =>
    variables.map((variable) => ({
      // A computed segment (`items[i]`) is some element: its own variables are checked where read.
      path: variable.segments.map((segment) => (typeof segment === 'object' ? 0 : segment)),
      line: firstLine + variable.location.row - 1,
    })),
  );
};
