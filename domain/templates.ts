import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { liquid } from './render-email.ts';

export { htmlToText, type RenderedEmail, renderEmail } from './render-email.ts';

// Email templates: Liquid with a YAML front matter for the subject.
//   ---
//   subject: Thanks for your order, {{ customer.firstName }}!
//   ---
//   <p>Hi {{ customer.firstName }}, ...</p>

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
