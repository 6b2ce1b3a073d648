import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inspect, parseArgs } from 'node:util';
import { ConfigError } from '#domain/errors.ts';

// The one place that defines every `rapport` command's arguments: options, help text and validation.
// parseCommandLine turns argv into a help text, a usage error or a checked invocation; it starts
// nothing, so `rapport serve --help` never reaches the code that starts the stack.

/** A value the user typed that the command cannot take; the parser names the option. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ValueOption<T> {
  kind: 'value';
  /** How the value is shown in help: N, PATH, URL. */
  placeholder: string;
  help: string;
  parse: (raw: string, cwd: string) => T;
}
export interface FlagOption {
  kind: 'flag';
  help: string;
}
type OptionSpec = ValueOption<unknown> | FlagOption;
type OptionSpecs = Record<string, OptionSpec>;

/** What an option gives the command: its parser's result, or true for a flag. */
type ValueOf<S> = S extends ValueOption<infer T> ? T : boolean;
export type ValuesOf<O extends OptionSpecs> = { [K in keyof O]?: ValueOf<O[K]> };

export interface CommandSpec<O extends OptionSpecs> {
  /** What follows `rapport NAME` in the usage line. */
  arguments: string;
  /** One line for the overview. */
  summary: string;
  /** More lines for the command's own help. */
  details?: readonly string[];
  /** How many arguments the command takes, and what they are called in messages. */
  positionals: { min: number; max: number; label?: string };
  options: O;
  /** Rules across options and arguments; returns why the combination is refused. */
  check?(values: ValuesOf<O>, positionals: readonly string[]): string | undefined;
}

const command = <O extends OptionSpecs>(spec: CommandSpec<O>): CommandSpec<O> => spec;

// ---- values --------------------------------------------------------------------------------------

const flag = (help: string): FlagOption => ({ kind: 'flag', help });

const text = (placeholder: string, help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder,
  help,
  parse: (raw) => {
    if (raw.trim() === '') throw new UsageError('must not be empty');
    return raw;
  },
});

const wholeNumber = (placeholder: string, help: string, min: number): ValueOption<number> => ({
  kind: 'value',
  placeholder,
  help,
  parse: (raw) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min)
      throw new UsageError(`must be a whole number of at least ${min}, got "${raw}"`);
    return value;
  },
});

const calendarDate = (help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder: 'YYYY-MM-DD',
  help,
  parse: (raw) => {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
    const [year, month, day] = (match?.slice(1) ?? []).map(Number);
    const date = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0));
    // Date.UTC rolls 2026-13-01 over into 2027: a real date reads back as it was written.
    if (!match || date.getUTCMonth() + 1 !== month || date.getUTCDate() !== day)
      throw new UsageError(`must be a date YYYY-MM-DD, got "${raw}"`);
    return raw;
  },
});

const instant = (help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder: 'TIME',
  help,
  parse: (raw) => {
    // A date alone is its midnight UTC; anything else must say its zone, so no reading depends on the machine's.
    const iso = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw;
    if (!/(Z|[+-]\d{2}:\d{2})$/.test(iso) || Number.isNaN(Date.parse(iso)))
      throw new UsageError(`must be an ISO time such as 2026-03-01T12:00:00Z, got "${raw}"`);
    return new Date(iso).toISOString();
  },
});

const existingFile = (help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder: 'PATH',
  help,
  parse: (raw, cwd) => {
    const path = resolve(cwd, raw);
    if (!existsSync(path)) throw new UsageError(`${raw}: no such file`);
    if (!statSync(path).isFile()) throw new UsageError(`${raw}: not a file`);
    return path;
  },
});

const outputFile = (help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder: 'FILE',
  help,
  parse: (raw, cwd) => {
    const path = resolve(cwd, raw);
    if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory())
      throw new UsageError(`${raw}: no such folder ${dirname(raw)}`);
    if (existsSync(path) && statSync(path).isDirectory())
      throw new UsageError(`${raw}: a folder, not a file`);
    return path;
  },
});

const url = (help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder: 'URL',
  help,
  parse: (raw) => {
    if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol))
      throw new UsageError(`must be an http(s) URL such as http://127.0.0.1:8000, got "${raw}"`);
    return raw;
  },
});

const list = (placeholder: string, help: string): ValueOption<string[]> => ({
  kind: 'value',
  placeholder,
  help,
  parse: (raw) => {
    const items = raw.split(',').map((item) => item.trim());
    if (items.some((item) => item === ''))
      throw new UsageError(`must be names separated by commas, got "${raw}"`);
    return items;
  },
});

const shopifySource = (help: string): ValueOption<string> => ({
  kind: 'value',
  placeholder: 'NAME',
  help,
  parse: (raw) => {
    if (!/^aws\.partner\/shopify\.com\/[^/\s]+\/[^/\s]+$/.test(raw))
      throw new UsageError(
        `must be a partner event source such as aws.partner/shopify.com/4938271/rapport, got "${raw}"`,
      );
    return raw;
  },
});

const port = (help: string): ValueOption<number> => ({
  kind: 'value',
  placeholder: 'PORT',
  help,
  parse: (raw) => {
    const value = wholeNumber('PORT', help, 0).parse(raw, '');
    if (value > 65535) throw new UsageError(`must be a port from 0 to 65535, got "${raw}"`);
    return value;
  },
});

const choice = <T extends string>(values: readonly T[], help: string): ValueOption<T> => ({
  kind: 'value',
  placeholder: values.join('|'),
  help,
  parse: (raw) => {
    const found = values.find((value) => value === raw);
    if (found === undefined) throw new UsageError(`must be one of ${values.join(', ')}, got "${raw}"`);
    return found;
  },
});

const DATASET = existingFile(
  'a purchase history, CDNOW master or sample format (default data/cdnow_sample.txt)',
);
const LIMIT = wholeNumber('N', 'replay only the first N purchases (in time order)', 1);
const TABLE_OPTIONS = {
  endpoint: url('a DynamoDB endpoint such as DynamoDB Local (default: AWS, with your credentials)'),
  table: text('NAME', 'the table to read'),
  region: text('R', 'the AWS region (default: your AWS configuration; us-east-1 with --endpoint)'),
};
const AS_OF = {
  'as-of': instant(
    'balances as of this time (default: now); maturity and expiry since the last settlement derived',
  ),
};

// ---- the commands ------------------------------------------------------------------------------

export const COMMANDS = {
  run: command({
    arguments: '[options]',
    summary: 'Start the local stack, replay a purchase history through it, print a summary (npm start)',
    details: [
      'Exit 1 if reconcile finds a mismatch or an execution failed.',
      'While the stack is up, .rapport/stack.json says where it is (rapport customer reads it).',
    ],
    positionals: { min: 0, max: 0 },
    options: {
      dataset: DATASET,
      limit: LIMIT,
      json: outputFile('also write the summary as JSON'),
      flows: list('a,b', 'deploy only these flows (none: the loyalty program alone)'),
      keep: flag('keep the stack up afterwards (the default on a terminal)'),
      exit: flag('stop after the summary'),
    },
    check: (values) => (values.keep && values.exit ? '--keep and --exit contradict each other' : undefined),
  }),
  serve: command({
    arguments: '[--port PORT]',
    summary: 'Start the local stack and keep it up: send events with the AWS CLI or any SDK',
    details: ['Ctrl-C stops it. While it is up, .rapport/stack.json says where it is.'],
    positionals: { min: 0, max: 0 },
    options: {
      port: port(
        'the EventBridge endpoint port (default 4010; 0 picks a free one); unsubscribe links are served on the next one',
      ),
      'shopify-source': shopifySource(
        "create Shopify's partner event bus NAME (aws.partner/shopify.com/<app id>/<name>): PutEvents there with Source NAME and DetailType shopifyWebhook delivers webhooks as Shopify does",
      ),
      'api-port': port('the signed HTTPS API port (default 4012, or a free one with --port 0; docs/api.md)'),
    },
  }),
  customer: command({
    arguments: 'ID [--json] [--endpoint URL --table NAME] [--region R] [--as-of TIME]',
    summary: "One customer's profile, consent, points, ledger, orders, sends, journeys and waits",
    details: [
      'Reads the local stack while `rapport serve` or `rapport run` is up, or the table you name.',
      'Exit 1 if there is no such customer.',
    ],
    positionals: { min: 1, max: 1, label: 'ID' },
    options: { json: flag('print one JSON document instead of the sections'), ...TABLE_OPTIONS, ...AS_OF },
    check: (values) =>
      values.endpoint !== undefined && values.table === undefined
        ? '--endpoint needs --table NAME'
        : undefined,
  }),
  validate: command({
    arguments: '[PATH...]',
    summary: 'Check the program, every flow and email template; exit 1 listing every error',
    details: [
      'Errors are listed as file:line:column. PATHs (files or folders, relative to here) check only',
      'those files, against the program and templates of their workflows folder (the one holding',
      'program.yaml).',
    ],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
    options: {},
  }),
  preview: command({
    arguments: 'TEMPLATE [--customer ID | --sample] [--event FILE] [--out FILE]',
    summary: 'Render an email template (subject, HTML, text) locally, without sending',
    details: [
      'TEMPLATE is a name in workflows/emails. Writes the HTML to a file and prints its path, the',
      'subject and the text part. The data is a sample built from the schema of the event that',
      'triggers the flows sending it (--sample, the default), or the customer as the running local',
      'stack holds them (--customer ID); --event takes the event from a JSON file instead.',
    ],
    positionals: { min: 1, max: 1, label: 'TEMPLATE' },
    options: {
      customer: text('ID', 'the customer from the local stack (`rapport serve` or `run` must be up)'),
      sample: flag('a sample customer and event (the default)'),
      event: existingFile('the trigger event as JSON: an EventBridge entry or its detail'),
      out: outputFile('write the HTML here (default .rapport/preview/TEMPLATE.html)'),
    },
    check: (values) =>
      values.customer !== undefined && values.sample
        ? '--customer and --sample contradict each other'
        : undefined,
  }),
  graph: command({
    arguments: 'FLOW [--markdown]',
    summary: 'Print a flow as a Mermaid flowchart',
    details: ['FLOW is an id in workflows/flows or a path to a YAML file.'],
    positionals: { min: 1, max: 1, label: 'FLOW' },
    options: { markdown: flag('wrap it in a ```mermaid fence') },
  }),
  'test-pattern': command({
    arguments: 'PATTERN_JSON EVENT_JSON | --batch FILE.ndjson',
    summary: 'Print true or false, like aws events test-event-pattern',
    details: [
      'Exit 2 for an invalid pattern. With --batch, one {"pattern": ..., "event": ...} a line (FILE -',
      'reads stdin); prints true, false or "error: line N: reason" for each non-blank line; exit 1 if',
      'any line is invalid.',
    ],
    positionals: { min: 0, max: 2, label: 'PATTERN_JSON EVENT_JSON' },
    options: { batch: text('FILE', 'test every line of an NDJSON file (- for standard input)') },
    check: (values, positionals) => {
      if (values.batch !== undefined)
        return positionals.length > 0 ? '--batch FILE takes no other arguments' : undefined;
      return positionals.length === 2 ? undefined : 'takes PATTERN_JSON EVENT_JSON, or --batch FILE.ndjson';
    },
  }),
  simulate: command({
    arguments: 'FLOW [--dataset PATH] [--limit N] [--until YYYY-MM-DD] [--json FILE]',
    summary: 'Backtest one flow over a purchase history on the local stack',
    details: [
      'Only that flow is deployed, on the virtual clock. Reports per step the customers who reached',
      'it, emails, points, and the journeys still waiting at the end.',
    ],
    positionals: { min: 1, max: 1, label: 'FLOW' },
    options: {
      dataset: DATASET,
      limit: LIMIT,
      until: calendarDate('run the clock on to this date after the last purchase, so journeys play out'),
      json: outputFile('also write the report as JSON'),
    },
  }),
  schemas: command({
    arguments: '[--check]',
    summary: 'Write the editor JSON Schemas schemas/flow.schema.json and schemas/program.schema.json',
    positionals: { min: 0, max: 0 },
    options: { check: flag('write nothing; exit 1 if the files differ from the generated ones (for CI)') },
  }),
  reconcile: command({
    arguments: '[--endpoint URL] --table NAME [--region R] [--as-of TIME] [--liability]',
    summary: 'Check every points balance against its ledger, lots and orders over the whole table',
    details: [
      'Prints points issued, redeemed, expired, outstanding and customers per tier; exit 1 on any',
      'mismatch. Without --endpoint it reads the real table with your AWS credentials.',
    ],
    positionals: { min: 0, max: 0 },
    options: {
      ...TABLE_OPTIONS,
      ...AS_OF,
      liability: flag('add outstanding points and their value by expiry month'),
    },
    check: (values) => (values.table === undefined ? 'needs --table NAME' : undefined),
  }),
  liability: command({
    arguments: '[--endpoint URL] --table NAME [--region R] [--as-of TIME]',
    summary: 'reconcile, with outstanding points and their value by expiry month',
    positionals: { min: 0, max: 0 },
    options: { ...TABLE_OPTIONS, ...AS_OF },
    check: (values) => (values.table === undefined ? 'needs --table NAME' : undefined),
  }),
  sending: command({
    arguments: 'status|resume [IDENTITY] [--endpoint URL --table NAME] [--region R] [--as-of TIME]',
    summary: "Each sending identity's bounce and complaint rates and pause; resume lifts a pause",
    details: [
      'Marketing email pauses itself for an identity (a sender domain) when its bounce rate over the',
      'last 24 hours reaches 4% or its complaint rate 0.08% (from 200 sends); transactional mail goes',
      "on. IDENTITY defaults to the program sender's domain. Reads the local stack while `rapport",
      'serve` is up, or the table you name. Exit 1 if resume finds the identity not paused.',
    ],
    positionals: { min: 1, max: 2, label: 'status|resume [IDENTITY]' },
    options: {
      ...TABLE_OPTIONS,
      'as-of': instant('figure the rates and record a resume at this time (default: now)'),
    },
    check: (values, positionals) => {
      if (positionals[0] !== 'status' && positionals[0] !== 'resume')
        return `takes status or resume, got "${positionals[0]}"`;
      return values.endpoint !== undefined && values.table === undefined
        ? '--endpoint needs --table NAME'
        : undefined;
    },
  }),
  import: command({
    arguments: '--dataset PATH [--format F] [--endpoint URL --table NAME] [--as-of TIME] [--json FILE]',
    summary: 'Load a purchase history into customer records and ledgers, sending nothing',
    details: [
      'Records every event as live ingest would have when it happened, then settles each account to',
      'today (--as-of): expired points booked, tiers as they stand, timers only for what is to come. No',
      'email, no journey, nothing published. Into the table you name, or a local stack it starts (as',
      'npm start does). Resumes after a crash from .rapport/import-<hash>.json; importing twice changes',
      'nothing. Exit 1 if a line cannot be imported (nothing is written) or reconcile finds a mismatch.',
    ],
    positionals: { min: 0, max: 0 },
    options: {
      dataset: existingFile('the history to import'),
      format: choice(
        ['cdnow', 'shopify-csv', 'ndjson'] as const,
        "the file's format (default: .csv shopify-csv, .ndjson/.jsonl ndjson, else cdnow)",
      ),
      endpoint: TABLE_OPTIONS.endpoint,
      table: text('NAME', 'the table to write (default: a local stack started for it)'),
      region: TABLE_OPTIONS.region,
      'as-of': instant('settle the history up to this time (default: now; a resumed import keeps its own)'),
      concurrency: wholeNumber('N', 'customers recorded at once (default 16)', 1),
      json: outputFile('also write the summary as JSON'),
      keep: flag('keep the local stack up afterwards (the default on a terminal)'),
      exit: flag('stop the local stack after the summary'),
    },
    check: (values) => {
      if (values.dataset === undefined) return 'needs --dataset PATH';
      if (values.endpoint !== undefined && values.table === undefined) return '--endpoint needs --table NAME';
      if (values.keep && values.exit) return '--keep and --exit contradict each other';
      if (values.table !== undefined && (values.keep || values.exit))
        return '--keep and --exit are for the local stack, not --table';
      return undefined;
    },
  }),
  bench: command({
    arguments: '',
    summary: 'Replay the CDNOW sample and print throughput, DynamoDB capacity per order, bundle sizes',
    positionals: { min: 0, max: 0 },
    options: {},
  }),
};

export type CommandName = keyof typeof COMMANDS;

export type Invocation = {
  [K in CommandName]: {
    name: K;
    values: ValuesOf<(typeof COMMANDS)[K]['options']>;
    positionals: string[];
  };
}[CommandName];

/** Help exits 0 and a usage error 2, both without starting anything. */
export type CommandLine =
  | { kind: 'help'; code: 0; text: string }
  | { kind: 'usage-error'; code: 2; message: string }
  | { kind: 'invoke'; invocation: Invocation };

const help = (text: string): CommandLine => ({ kind: 'help', code: 0, text });
const usageError = (message: string): CommandLine => ({ kind: 'usage-error', code: 2, message });

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

// ---- help --------------------------------------------------------------------------------------

const HELP_OPTION = { placeholder: '', help: 'show this help' };

const columns = (rows: readonly (readonly [string, string])[], indent = '  '): string[] => {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd());
};

export const commandHelp = (name: CommandName): string => {
  const spec: CommandSpec<OptionSpecs> = COMMANDS[name];
  const options: [string, string][] = Object.entries(spec.options).map(([option, o]) => [
    o.kind === 'value' ? `--${option} ${o.placeholder}` : `--${option}`,
    o.help,
  ]);
  options.push(['-h, --help', HELP_OPTION.help]);
  return [
    `rapport ${name}${spec.arguments ? ` ${spec.arguments}` : ''}`,
    '',
    `${spec.summary}.`,
    ...(spec.details ?? []),
    '',
    'Options',
    ...columns(options),
    '',
  ].join('\n');
};

export const overview = (): string =>
  [
    'rapport <command> [options]',
    '',
    'Commands',
    ...columns(Object.entries(COMMANDS).map(([name, spec]) => [name, spec.summary])),
    '',
    'rapport COMMAND --help shows its options. Exit codes: 0 done, 1 failed or found problems,',
    '2 a usage error. RAPPORT_DEBUG=1 prints stack traces of errors.',
    '',
  ].join('\n');

// ---- parsing -------------------------------------------------------------------------------------

const refuse = (name: string, message: string): CommandLine =>
  usageError(`rapport ${name}: ${message} (see rapport ${name} --help)`);

/** Options before a `--` terminator: after it, `--help` is an argument like any other. */
const asksForHelp = (args: readonly string[]) => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
};

const parseCommand = (name: CommandName, args: string[], cwd: string): CommandLine => {
  if (asksForHelp(args)) return help(commandHelp(name));
  const spec: CommandSpec<OptionSpecs> = COMMANDS[name];
  // Not strict: every refusal below is worded here, naming the option, instead of parseArgs' messages.
  const { tokens } = parseArgs({
    args,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: Object.fromEntries(
      Object.entries(spec.options).map(([option, o]) => [
        option,
        { type: o.kind === 'value' ? ('string' as const) : ('boolean' as const) },
      ]),
    ),
  });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    const option = Object.hasOwn(spec.options, token.name) ? spec.options[token.name] : undefined;
    if (option === undefined || token.rawName !== `--${token.name}`)
      return refuse(name, `unknown option ${token.rawName}`);
    if (Object.hasOwn(values, token.name)) return refuse(name, `${token.rawName} is given twice`);
    if (option.kind === 'flag') {
      if (token.value !== undefined) return refuse(name, `${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // `--limit --json x`: the next option is not a value, however parseArgs reads it.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--')))
      return refuse(name, `${token.rawName} needs a value (${option.placeholder})`);
    try {
      values[token.name] = option.parse(token.value, cwd);
    } catch (error) {
      if (error instanceof UsageError) return refuse(name, `${token.rawName} ${error.message}`);
      throw error;
    }
  }
  const { min, max, label } = spec.positionals;
  if (positionals.length > max) {
    if (max === 0) return refuse(name, `takes no arguments, got "${positionals[0]}"`);
    return refuse(name, `takes ${label}, got ${positionals.length} arguments`);
  }
  if (positionals.length < min) return refuse(name, `needs ${label}`);
  const problem = spec.check?.(values, positionals);
  if (problem !== undefined) return refuse(name, problem);
  // Each value came from its own option's parse, so it has the type ValuesOf derives for that option.
  return { kind: 'invoke', invocation: { name, values, positionals } as Invocation };
};

/** argv (without node and the script) to what the CLI should do. */
export const parseCommandLine = (argv: readonly string[], cwd = process.cwd()): CommandLine => {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') return help(overview());
  if (name === 'help') {
    const [topic, ...more] = args;
    if (topic === undefined) return help(overview());
    if (more.length > 0 || !isCommand(topic))
      return usageError(`rapport help: no command "${args.join(' ')}" (see rapport --help)`);
    return help(commandHelp(topic));
  }
  if (!isCommand(name)) return usageError(`rapport: unknown command "${name}" (see rapport --help)`);
  return parseCommand(name, args, cwd);
};

/**
 * An error as the CLI prints it: one line, the message and its causes' (a ConfigError lists its
 * problems, one a line); with `debug` (RAPPORT_DEBUG=1) the whole error with its stack and causes.
 */
export const describeError = (error: unknown, debug: boolean): string => {
  if (debug) return inspect(error, { depth: 6 });
  if (error instanceof ConfigError) return error.message;
  const messages: string[] = [];
  for (let e: unknown = error; e !== undefined && messages.length < 4; ) {
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
    // The SDK's causes often repeat the message they wrap.
    if (message && !messages.some((m) => m.includes(message))) messages.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return `${messages.join(': ') || 'failed'} (RAPPORT_DEBUG=1 shows the stack)`;
};
