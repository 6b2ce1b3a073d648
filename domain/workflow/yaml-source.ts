import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ConfigProblem } from '../errors.ts';

export interface SourceFile {
  /** Path shown in errors, relative to the project (workflows/flows/thank-you.yaml). */
  file: string;
  text: string;
}

/** Where a path of the document is in its file (the nearest parent that exists). */
export type Locate = (path: readonly (string | number)[]) => { line: number; column: number } | undefined;

export type Located<T> = { ok: true; value: T; locate: Locate } | { ok: false; problems: ConfigProblem[] };

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
  if (parsed.success)
    return {
      ok: true,
      value: parsed.data,
      locate: (path) => {
        const position = locate(doc, lineCounter, [...path]);
        return position ? { line: position.line, column: position.col } : undefined;
      },
    };
  return {
    ok: false,
    problems: parsed.error.issues
      .flatMap((issue) => expandUnion(issue, []))
      .map((issue) => {
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

type Issue = z.core.$ZodIssue;
type Key = PropertyKey;

/**
 * zod reports a value matching no alternative of a union as one opaque issue. A marketer needs the
 * alternative they meant: if every alternative rejects the `type`, say which types exist; else
 * report the alternative whose `type` matched, or the one with the fewest problems.
 */
const expandUnion = (issue: Issue, prefix: readonly Key[]): (Issue & { path: Key[] })[] => {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ ...issue, path }];
  const branches = issue.errors.map((list) => list.flatMap((inner) => expandUnion(inner, path)));
  const typeComplaint = (branch: (Issue & { path: Key[] })[]) =>
    branch.find(
      (i) => i.code === 'invalid_value' && i.path.length === path.length + 1 && i.path.at(-1) === 'type',
    );
  const complaints = branches.map(typeComplaint);
  if (complaints.every(Boolean)) {
    const values = [...new Set(complaints.flatMap((c) => (c?.code === 'invalid_value' ? c.values : [])))];
    return [
      { code: 'invalid_value', values, path: [...path, 'type'], message: 'unknown type', input: undefined },
    ];
  }
  const matched = branches.filter((_, k) => !complaints[k]);
  const [best] = [...matched].sort((a, b) => a.length - b.length);
  return best ?? [{ ...issue, path }];
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
      // A schema that says what a missing field is for says it; zod's own wording does not.
      if (issue.input === undefined)
        return issue.message.startsWith('Invalid input') ? 'is required' : issue.message;
      return issue.message.startsWith('Invalid input')
        ? `must be ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`
        : issue.message;
    default:
      return issue.message;
  }
};
