import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ConfigProblem } from '../errors.ts';

export interface SourceFile {
  /** Path shown in errors, relative to the project (workflows/flows/thank-you.yaml). */
  file: string;
  text: string;
}

export type Located<T> = { ok: true; value: T } | { ok: false; problems: ConfigProblem[] };

/**
 * Parses YAML and validates it with a zod schema; every problem names file, line, column and the
 * path of the field, so a marketer can go straight to it.
 */
export const parseYamlWith = <S extends z.ZodType>(source: SourceFile, schema: S): Located<z.infer<S>> => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return {
          file: source.file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: error.message.split('\n')[0] ?? 'YAML syntax error',
        };
      }),
    };
  }
  const parsed = schema.safeParse(doc.toJS());
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      const position = locate(doc, lineCounter, path);
      return {
        file: source.file,
        line: position?.line,
        column: position?.col,
        path: formatPath(path),
        message: plainMessage(issue),
      };
    }),
  };
};

/** Where a path is in the file: the node itself, or the nearest parent that exists. */
const locate = (
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: (string | number)[],
): { line: number; col: number } | undefined => {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]);
  }
  return undefined;
};

export const formatPath = (path: readonly (string | number)[]): string =>
  path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    '',
  );

const plainMessage = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (check the spelling)`;
    case 'invalid_union':
      return issue.message === 'Invalid input' ? 'is not one of the allowed forms' : issue.message;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return issue.message.startsWith('Invalid input')
        ? `must be ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`
        : issue.message;
    default:
      return issue.message;
  }
};
