import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type ConfigProblem, formatProblem } from '#domain/errors.ts';
import { matchesEventPattern, validateEventPattern } from '#domain/event-pattern.ts';
import { type CompiledProject, compileProject, type WorkflowSources } from '#domain/workflow/compile.ts';
import { flowSchema } from '#domain/workflow/flow-schema.ts';
import { flowToMermaid } from '#domain/workflow/graph.ts';
import { flowJsonSchema, programJsonSchema } from '#domain/workflow/json-schema.ts';
import { parseYamlWith, type SourceFile } from '#domain/workflow/yaml-source.ts';
import { fromRoot, PROJECT_ROOT } from '#infra/paths.ts';
import { readWorkflowSources } from '#infra/workflow-files.ts';

// The CLI's commands as functions: arguments in, exit code and output lines out. No process.exit and no
// console writes, so the tests call them directly; local/cli.ts parses argv and prints.

export interface CommandResult {
  code: number;
  stdout: string[];
  stderr: string[];
}

const result = (code: number, stdout: string[] = [], stderr: string[] = []): CommandResult => ({
  code,
  stdout,
  stderr,
});

/** `path` as people typed it: relative to `base` when inside it, else absolute. */
const shown = (path: string, base: string): string => {
  const rel = relative(base, path);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
};

const problemCount = (n: number) => `${n} problem(s)`;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isDirectory = (path: string) => existsSync(path) && statSync(path).isDirectory();

const listFiles = (dir: string, pattern: RegExp): string[] =>
  isDirectory(dir)
    ? readdirSync(dir)
        .filter((name) => pattern.test(name) && !isDirectory(join(dir, name)))
        .sort()
        .map((name) => join(dir, name))
    : [];

const FLOW_FILE = /\.ya?ml$/;
const TEMPLATE_FILE = /\.liquid$/;
const PROGRAM = 'program.yaml';

type Compiled = { ok: true; project: CompiledProject } | { ok: false; problems: readonly ConfigProblem[] };

const compile = (sources: WorkflowSources): Compiled => {
  try {
    return { ok: true, project: compileProject(sources) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problems: error.problems };
    throw error;
  }
};

const summary = (project: CompiledProject, where: string) =>
  `OK: program ${project.program.id}, ${project.flows.length} active flow(s), ${project.templates.size} template(s) in ${where}`;

// ---- validate ----------------------------------------------------------------------------------

export interface ValidateOptions {
  /** Where relative paths start, and what paths in messages are relative to. */
  cwd?: string;
}

/** A workflows folder (holding program.yaml) and the files of it to report on; `all` for every file. */
interface Selection {
  root: string;
  files: Set<string> | 'all';
}

/** The workflows folder a path belongs to: the folder itself, its `workflows/`, or its parent. */
const projectRootOf = (path: string, directory: boolean): string | undefined => {
  const candidates = directory
    ? [path, join(path, 'workflows'), dirname(path)]
    : [dirname(path), dirname(dirname(path))];
  return candidates.find((dir) => existsSync(join(dir, PROGRAM)));
};

/** What the project at `root` reads: program.yaml, flows/*.yaml and emails/*.liquid, plus `extra` files. */
const readProject = (root: string, extra: Iterable<string>, cwd: string): WorkflowSources => {
  const read = (path: string): SourceFile => ({ file: shown(path, cwd), text: readFileSync(path, 'utf8') });
  const flows = listFiles(join(root, 'flows'), FLOW_FILE);
  const emails = listFiles(join(root, 'emails'), TEMPLATE_FILE);
  // A file outside flows/ and emails/ (a draft) is checked as what its extension says it is.
  for (const file of extra) {
    if (file === join(root, PROGRAM) || flows.includes(file) || emails.includes(file)) continue;
    if (FLOW_FILE.test(file)) flows.push(file);
    else if (TEMPLATE_FILE.test(file)) emails.push(file);
  }
  return { program: read(join(root, PROGRAM)), flows: flows.map(read), emails: emails.map(read) };
};

/**
 * `rapport validate [paths...]`. Without paths, the whole workflows/ folder. A path to a file checks that
 * file against the program and templates of its project (the folder holding program.yaml, the file's
 * own or its parent); a workflows folder checks all of it; a folder inside one (flows/) its files.
 * The program is always reported on: every flow is checked against it.
 */
export const validateCommand = (
  paths: readonly string[] = [],
  options: ValidateOptions = {},
): CommandResult => {
  if (paths.length === 0) {
    const outcome = compile(readWorkflowSources());
    if (outcome.ok) return result(0, [summary(outcome.project, 'workflows')]);
    return result(1, [], [...outcome.problems.map(formatProblem), problemCount(outcome.problems.length)]);
  }

  const cwd = options.cwd ?? process.cwd();
  const problems: ConfigProblem[] = [];
  const selections = new Map<string, Selection>();
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) {
      problems.push({ file: shown(absolute, cwd), path: '', message: 'no such file or directory' });
      continue;
    }
    const directory = isDirectory(absolute);
    const root = projectRootOf(absolute, directory);
    if (root === undefined) {
      problems.push({
        file: shown(absolute, cwd),
        path: '',
        message: `not in a workflows folder: no ${PROGRAM} in ${directory ? 'this folder, its workflows/ or its parent' : "the file's folder or its parent"}`,
      });
      continue;
    }
    if (!directory && !FLOW_FILE.test(absolute) && !TEMPLATE_FILE.test(absolute)) {
      problems.push({
        file: shown(absolute, cwd),
        path: '',
        message: `not a workflow file: expected ${PROGRAM}, a flow (.yaml) or an email template (.liquid)`,
      });
      continue;
    }
    const selection = selections.get(root) ?? { root, files: new Set<string>() };
    selections.set(root, selection);
    if (directory && (root === absolute || root === join(absolute, 'workflows'))) selection.files = 'all';
    else if (selection.files !== 'all') {
      const files = directory ? listFiles(absolute, /\.(ya?ml|liquid)$/) : [absolute];
      for (const file of files) selection.files.add(file);
    }
  }

  const stdout: string[] = [];
  for (const { root, files } of selections.values()) {
    const where = shown(root, cwd);
    const sources = readProject(root, files === 'all' ? [] : files, cwd);
    const outcome = compile(sources);
    if (outcome.ok) {
      const checked = files === 'all' ? '' : ` (checked ${[...files].map((f) => shown(f, cwd)).join(', ')})`;
      stdout.push(`${summary(outcome.project, where)}${checked}`);
      continue;
    }
    const all = outcome.problems;
    if (files === 'all') {
      problems.push(...all);
      continue;
    }
    const reported = new Set([sources.program.file, ...[...files].map((f) => shown(f, cwd))]);
    const mine = all.filter((p) => reported.has(p.file));
    problems.push(...mine);
    if (mine.length === 0) {
      const names = [...files].map((f) => shown(f, cwd)).join(', ');
      stdout.push(
        `OK: ${names || `no workflow files`} against program ${sources.program.file}; ` +
          `${problemCount(all.length)} in other files of ${where} (rapport validate ${where})`,
      );
    }
  }
  if (problems.length === 0) return result(0, stdout);
  return result(1, stdout, [...problems.map(formatProblem), problemCount(problems.length)]);
};

// ---- graph -------------------------------------------------------------------------------------

export interface GraphOptions {
  markdown?: boolean;
  cwd?: string;
  /** Where flow ids are looked up. */
  flowsDir?: string;
}

/** A flow's id as written in its file (or the file's name when it has none), without validating it. */
const declaredId = (file: string): string => {
  try {
    const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (isRecord(doc) && typeof doc.id === 'string') return doc.id;
  } catch {
    // A file that is not YAML still has a name.
  }
  return basename(file).replace(FLOW_FILE, '');
};

const looksLikePath = (flow: string) => flow.includes('/') || flow.includes('\\') || FLOW_FILE.test(flow);

/** `rapport graph FLOW`: the Mermaid flowchart of a flow, by id (in workflows/flows) or by path. */
export const graphCommand = (flow: string, options: GraphOptions = {}): CommandResult => {
  const cwd = options.cwd ?? process.cwd();
  let file: string;
  let name: string;
  if (looksLikePath(flow)) {
    file = resolve(cwd, flow);
    name = shown(file, cwd);
    if (!existsSync(file) || isDirectory(file)) return result(2, [], [`${name}: no such flow file`]);
  } else {
    const dir = options.flowsDir ?? fromRoot('workflows/flows');
    const files = listFiles(dir, FLOW_FILE).map((path) => ({ path, id: declaredId(path) }));
    const found = files.find((f) => f.id === flow);
    if (!found) {
      const known = [...new Set(files.map((f) => f.id))].sort();
      return result(
        2,
        [],
        [`unknown flow "${flow}"`, `known flows in ${shown(dir, cwd)}: ${known.join(', ') || 'none'}`],
      );
    }
    file = found.path;
    // Like validate: shipped files are named from the project root.
    name = shown(file, file.startsWith(PROJECT_ROOT) ? PROJECT_ROOT : cwd);
  }
  const parsed = parseYamlWith({ file: name, text: readFileSync(file, 'utf8') }, flowSchema);
  if (!parsed.ok) {
    return result(1, [], [...parsed.problems.map(formatProblem), problemCount(parsed.problems.length)]);
  }
  const chart = flowToMermaid(parsed.value).split('\n');
  return result(0, options.markdown ? ['```mermaid', ...chart, '```'] : chart);
};

// ---- test-pattern ------------------------------------------------------------------------------

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; reason: string } => {
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, reason: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
};

/** `rapport test-pattern PATTERN_JSON EVENT_JSON`: `true` or `false`; exit 2 for an invalid pattern. */
export const testPatternCommand = (patternJson: string, eventJson: string): CommandResult => {
  const pattern = parseJson(patternJson);
  if (!pattern.ok) return result(2, [], [`pattern: ${pattern.reason}`]);
  const event = parseJson(eventJson);
  if (!event.ok) return result(2, [], [`event: ${event.reason}`]);
  const errors = validateEventPattern(pattern.value);
  if (errors.length > 0) return result(2, [], errors);
  return result(0, [String(matchesEventPattern(pattern.value, event.value))]);
};

/** One line of a batch: the answer, or why the line could not be tested. */
const testLine = (line: string): string => {
  const parsed = parseJson(line);
  if (!parsed.ok) throw new Error(parsed.reason);
  const value = parsed.value;
  if (!isRecord(value)) throw new Error('expected an object {"pattern": ..., "event": ...}');
  const missing = ['pattern', 'event'].filter((key) => !Object.hasOwn(value, key));
  if (missing.length > 0) throw new Error(`missing ${missing.map((k) => `"${k}"`).join(' and ')}`);
  const { pattern, event } = value;
  const errors = validateEventPattern(pattern);
  if (errors.length > 0) throw new Error(`invalid pattern: ${errors.join('; ')}`);
  return String(matchesEventPattern(pattern, event));
};

/**
 * Tests NDJSON lines `{"pattern": ..., "event": ...}`: one output line per non-blank input line, in order,
 * `true`, `false` or `error: line N: reason` (N counts blank lines too). Exit 1 if any line was invalid.
 */
export const testPatternBatch = (text: string): CommandResult => {
  const stdout: string[] = [];
  let tested = 0;
  let invalid = 0;
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    tested++;
    try {
      stdout.push(testLine(line));
    } catch (error) {
      invalid++;
      stdout.push(`error: line ${index + 1}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return invalid === 0 ? result(0, stdout) : result(1, stdout, [`${invalid} of ${tested} line(s) invalid`]);
};

/** `rapport test-pattern --batch FILE.ndjson` (`-` reads standard input). */
export const testPatternBatchCommand = (file: string, options: { cwd?: string } = {}): CommandResult => {
  const path = file === '-' ? 0 : resolve(options.cwd ?? process.cwd(), file);
  if (path !== 0 && (!existsSync(path) || isDirectory(path))) return result(2, [], [`${file}: no such file`]);
  return testPatternBatch(readFileSync(path, 'utf8'));
};

// ---- schemas -----------------------------------------------------------------------------------

const LINE_WIDTH = 110;

/**
 * JSON as Biome formats it (biome.json: 2 spaces, width 110), so `biome check .` accepts the generated
 * files: objects one property a line, arrays of plain values on one line when they fit.
 */
export const formatJson = (value: unknown): string => {
  const flat = (v: unknown): string | undefined => {
    if (Array.isArray(v)) {
      const items = v.map(flat);
      return items.every((i) => i !== undefined) ? `[${items.join(', ')}]` : undefined;
    }
    if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0 ? '{}' : undefined;
    return JSON.stringify(v);
  };
  /** `used`: columns before the value on its line; `after`: characters that follow it (a comma). */
  const print = (v: unknown, indent: string, used: number, after: number): string => {
    const line = flat(v);
    if (line !== undefined && (!Array.isArray(v) || used + line.length + after <= LINE_WIDTH)) return line;
    const inner = `${indent}  `;
    if (Array.isArray(v) && v.length > 0 && v.every((item) => typeof item === 'number')) {
      // Numbers fill the lines, as many as fit.
      const rows: string[] = [];
      let row = '';
      v.forEach((item, i) => {
        const text = `${JSON.stringify(item)}${i < v.length - 1 ? ',' : ''}`;
        if (row !== '' && inner.length + row.length + 1 + text.length > LINE_WIDTH) {
          rows.push(row);
          row = '';
        }
        row = row === '' ? text : `${row} ${text}`;
      });
      rows.push(row);
      return `[\n${rows.map((r) => `${inner}${r}`).join('\n')}\n${indent}]`;
    }
    if (Array.isArray(v)) {
      const items = v.map(
        (item, i) => `${inner}${print(item, inner, inner.length, i < v.length - 1 ? 1 : 0)}`,
      );
      return `[\n${items.join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    const lines = entries.map(([key, item], i) => {
      const prefix = `${inner}${JSON.stringify(key)}: `;
      return `${prefix}${print(item, inner, prefix.length, i < entries.length - 1 ? 1 : 0)}`;
    });
    return `{\n${lines.join(',\n')}\n${indent}}`;
  };
  return `${print(value, '', 0, 0)}\n`;
};

export const SCHEMA_FILES = {
  'flow.schema.json': flowJsonSchema,
  'program.schema.json': programJsonSchema,
} as const;

export interface SchemasOptions {
  /** Compare instead of writing: exit 1 when a file is missing or differs. */
  check?: boolean;
  /** Where the schemas live; the project's schemas/ by default. */
  dir?: string;
  cwd?: string;
}

/** `rapport schemas [--check]`: the editor JSON Schemas of the flow and program files. */
export const schemasCommand = (options: SchemasOptions = {}): CommandResult => {
  const dir = options.dir ?? fromRoot('schemas');
  const cwd = options.cwd ?? process.cwd();
  const stdout: string[] = [];
  const stderr: string[] = [];
  if (!options.check) mkdirSync(dir, { recursive: true });
  for (const [name, generate] of Object.entries(SCHEMA_FILES)) {
    const path = join(dir, name);
    const text = formatJson(generate());
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (options.check) {
      if (current === undefined) stderr.push(`${shown(path, cwd)}: missing`);
      else if (current !== text) stderr.push(`${shown(path, cwd)}: differs from the generated schema`);
      else stdout.push(`${shown(path, cwd)}: up to date`);
    } else if (current === text) {
      stdout.push(`${shown(path, cwd)}: unchanged`);
    } else {
      writeFileSync(path, text);
      stdout.push(`${shown(path, cwd)}: written`);
    }
  }
  if (stderr.length === 0) return result(0, stdout);
  return result(1, stdout, [...stderr, 'run `rapport schemas` to regenerate them, and commit the result']);
};
