import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../domain/workflow/compile.ts';
import { flowJsonSchema, programJsonSchema } from '../../domain/workflow/json-schema.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { COMMANDS, type CommandLine, describeError, parseCommandLine } from '../../local/cli-options.ts';
import {
  formatJson,
  graphCommand,
  schemasCommand,
  testPatternBatch,
  testPatternBatchCommand,
  testPatternCommand,
  validateCommand,
} from '../../local/commands.ts';
import { readStackFile, removeStackFile, writeStackFile } from '../../local/stack-file.ts';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

const PROGRAM = `version: 1
id: temp-rewards
name: Temp Rewards
currency: USD
sender:
  from: "Temp Shop <hello@example.com>"
  postalAddress: "Temp Shop, 1 Temp Street, Tempville, USA"
earn:
  id: base-earn
  version: 1
  pointsPerCurrencyUnit: 1
topics:
  - id: orders
    name: Order updates
    transactional: true
`;

const WELCOME_TEMPLATE = `---
subject: "Welcome, {{ customer.firstName }}!"
---
<p>Hello {{ customer.firstName }}.</p>
`;

const GOOD_FLOW = `version: 1
id: hello
name: Say hello
trigger:
  event: customer.registered
steps:
  - id: greet
    type: send_email
    template: welcome
    topic: orders
`;

// Line 5: an event that does not exist; line 9: `Birthday`, not an award name (those are kebab-case).
const BROKEN_FLOW = `version: 1
id: broken
name: Broken
trigger:
  event: order.shipped
steps:
  - id: award
    type: award_points
    award: Birthday
`;

// Valid on its own, but its topic is not in the program and its template not in emails/.
const DRAFT_FLOW = `version: 1
id: draft
name: Draft
trigger:
  event: order.placed
steps:
  - id: thank
    type: send_email
    template: thanks
    topic: receipts
`;

/** A scratch folder holding `files` (paths relative to it), removed after the tests. */
const scratch: string[] = [];
const folderWith = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-cli-'));
  scratch.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
};
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The files of a scratch project, to copy into another. */
const filesOf = (dir: string): Record<string, string> =>
  Object.fromEntries(
    (readdirSync(dir, { recursive: true }) as string[])
      .filter((path) => /\.(ya?ml|liquid)$/.test(path))
      .map((path) => [path, readFileSync(join(dir, path), 'utf8')]),
  );

let project: string;
beforeAll(() => {
  project = folderWith({
    'workflows/program.yaml': PROGRAM,
    'workflows/flows/hello.yaml': GOOD_FLOW,
    'workflows/flows/broken.yaml': BROKEN_FLOW,
    'workflows/emails/welcome.liquid': WELCOME_TEMPLATE,
    'workflows/drafts/draft.yaml': DRAFT_FLOW,
  });
});

const BROKEN_PROBLEMS = [
  'workflows/flows/broken.yaml:5:10: trigger.event: must be one of "customer.registered", "order.placed", "order.refunded", "order.cancelled", "customer.consent-changed", "points.expiring", "customer.tier-changed", "points.redeemed"',
  'workflows/flows/broken.yaml:9:12: steps[0].award: use lower-case letters, digits and dashes',
];

describe('rapport validate', () => {
  it('passes the shipped workflows with a one-line summary', () => {
    const shipped = compileProject(readWorkflowSources());
    const templates = readdirSync(join(root, 'workflows/emails')).filter((f) => f.endsWith('.liquid'));
    expect(validateCommand()).toEqual({
      code: 0,
      stdout: [
        `OK: program rapport-rewards, ${shipped.flows.length} active flow(s), ${templates.length} template(s) in workflows`,
      ],
      stderr: [],
    });
  });

  it('lists every error of a broken workflows folder as file:line:column: path: message, then a count', () => {
    expect(validateCommand(['workflows'], { cwd: project })).toEqual({
      code: 1,
      stdout: [],
      stderr: [...BROKEN_PROBLEMS, '2 problem(s)'],
    });
  });

  it('finds the workflows folder inside the folder it is given', () => {
    expect(validateCommand(['.'], { cwd: project })).toMatchObject({
      code: 1,
      stderr: [...BROKEN_PROBLEMS, '2 problem(s)'],
    });
  });

  it('validates a single flow against its project and reports only that file', () => {
    expect(validateCommand(['workflows/flows/hello.yaml'], { cwd: project })).toEqual({
      code: 0,
      stdout: [
        'OK: workflows/flows/hello.yaml against program workflows/program.yaml; ' +
          '2 problem(s) in other files of workflows (rapport validate workflows)',
      ],
      stderr: [],
    });
    expect(validateCommand(['flows/broken.yaml'], { cwd: join(project, 'workflows') })).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        'flows/broken.yaml:5:10: trigger.event: must be one of "customer.registered", "order.placed", "order.refunded", "order.cancelled", "customer.consent-changed", "points.expiring", "customer.tier-changed", "points.redeemed"',
        'flows/broken.yaml:9:12: steps[0].award: use lower-case letters, digits and dashes',
        '2 problem(s)',
      ],
    });
  });

  it('validates a shipped flow by path with the summary of its project', () => {
    const result = validateCommand(['workflows/flows/thank-you.yaml'], { cwd: root });
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([
      expect.stringMatching(
        /^OK: program rapport-rewards, \d+ active flow\(s\), \d+ template\(s\) in workflows \(checked workflows\/flows\/thank-you\.yaml\)$/,
      ),
    ]);
  });

  it('checks a draft outside flows/ against the program and templates of the folder above it', () => {
    expect(validateCommand(['workflows/drafts/draft.yaml'], { cwd: project })).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        'workflows/drafts/draft.yaml: steps (thank).template: no template workflows/emails/thanks.liquid (templates: welcome)',
        'workflows/drafts/draft.yaml:10:12: steps[0].topic: no topic "receipts" in the program (topics: orders)',
        '2 problem(s)',
      ],
    });
  });

  it('reports paths that do not exist or are not workflow files, with every other problem', () => {
    expect(
      validateCommand(['missing.yaml', 'workflows/flows/broken.yaml', 'workflows/notes.txt'], {
        cwd: folderWith({ ...filesOf(project), 'workflows/notes.txt': 'notes' }),
      }),
    ).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        'missing.yaml: no such file or directory',
        'workflows/notes.txt: not a workflow file: expected program.yaml, a flow (.yaml) or an email template (.liquid)',
        ...BROKEN_PROBLEMS,
        '4 problem(s)',
      ],
    });
  });
});

const HELLO_CHART = [
  'flowchart TD',
  '  %% hello: Say hello',
  '  flow_trigger(["customer.registered"])',
  '  s_greet["greet: send_email welcome (topic orders)"]',
  '  flow_end(["End"])',
  '  flow_trigger --> s_greet',
  '  s_greet --> flow_end',
];

describe('rapport graph', () => {
  it('draws a flow found by its id', () => {
    expect(graphCommand('hello', { flowsDir: join(project, 'workflows/flows') })).toEqual({
      code: 0,
      stdout: HELLO_CHART,
      stderr: [],
    });
  });

  it('draws a shipped flow by its id', () => {
    const result = graphCommand('thank-you');
    expect(result.code).toBe(0);
    expect(result.stdout.slice(0, 3)).toEqual([
      'flowchart TD',
      '  %% thank-you: Post-purchase thank-you',
      '  flow_trigger(["order.placed"])',
    ]);
  });

  it('draws a flow file by its path, fenced for Markdown with --markdown', () => {
    expect(graphCommand('workflows/flows/hello.yaml', { cwd: project, markdown: true })).toEqual({
      code: 0,
      stdout: ['```mermaid', ...HELLO_CHART, '```'],
      stderr: [],
    });
  });

  it('exits 2 for an unknown flow id, listing the known ones', () => {
    expect(graphCommand('goodbye', { cwd: project, flowsDir: join(project, 'workflows/flows') })).toEqual({
      code: 2,
      stdout: [],
      stderr: ['unknown flow "goodbye"', 'known flows in workflows/flows: broken, hello'],
    });
  });

  it('exits 1 with the errors of a broken flow file', () => {
    expect(graphCommand('workflows/flows/broken.yaml', { cwd: project })).toEqual({
      code: 1,
      stdout: [],
      stderr: [...BROKEN_PROBLEMS, '2 problem(s)'],
    });
  });
});

describe('rapport test-pattern', () => {
  const pattern = JSON.stringify({ source: ['my.shop'], detail: { total: [{ numeric: ['>=', 100] }] } });

  it('prints true or false for one pattern and event', () => {
    expect(testPatternCommand(pattern, '{"source":"my.shop","detail":{"total":120}}')).toEqual({
      code: 0,
      stdout: ['true'],
      stderr: [],
    });
    expect(testPatternCommand(pattern, '{"source":"my.shop","detail":{"total":20}}')).toEqual({
      code: 0,
      stdout: ['false'],
      stderr: [],
    });
  });

  it('exits 2 with the errors of an invalid pattern or invalid JSON', () => {
    expect(testPatternCommand('{"source":"my.shop","detail":{"total":[]}}', '{}')).toEqual({
      code: 2,
      stdout: [],
      stderr: [
        'source: must be an array of match values or a nested object, got "my.shop"',
        'detail.total: match list must not be empty',
      ],
    });
    expect(testPatternCommand('{"source":', '{}')).toMatchObject({
      code: 2,
      stderr: [expect.stringMatching(/^pattern: invalid JSON: /)],
    });
  });

  const BATCH = [
    JSON.stringify({ pattern: { source: ['my.shop'] }, event: { source: 'my.shop' } }),
    JSON.stringify({ pattern: { source: ['my.shop'] }, event: { source: 'other.shop' } }),
    '',
    '{"pattern": {"source": ["my.shop"]},',
    JSON.stringify({ pattern: { source: 'my.shop' }, event: {} }),
    '   ',
    JSON.stringify({ pattern: { 'detail-type': [{ prefix: 'order.' }] } }),
    JSON.stringify({
      pattern: { 'detail-type': [{ prefix: 'order.' }] },
      event: { 'detail-type': 'order.placed' },
    }),
    '',
  ].join('\n');

  it('answers each line of a batch in order, skipping blank lines but counting them', () => {
    const result = testPatternBatch(BATCH);
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([
      'true',
      'false',
      expect.stringMatching(/^error: line 4: invalid JSON: /),
      'error: line 5: invalid pattern: source: must be an array of match values or a nested object, got "my.shop"',
      'error: line 7: missing "event"',
      'true',
    ]);
    expect(result.stderr).toEqual(['3 of 6 line(s) invalid']);
  });

  it('exits 0 for a batch file whose lines are all valid, and 2 for a missing file', () => {
    const dir = folderWith({
      'patterns.ndjson': `${BATCH.split('\n').slice(0, 2).join('\n')}\r\n\r\n`,
    });
    expect(testPatternBatchCommand('patterns.ndjson', { cwd: dir })).toEqual({
      code: 0,
      stdout: ['true', 'false'],
      stderr: [],
    });
    expect(testPatternBatchCommand('nope.ndjson', { cwd: dir })).toEqual({
      code: 2,
      stdout: [],
      stderr: ['nope.ndjson: no such file'],
    });
  });
});

describe('rapport schemas', () => {
  it('finds the committed schema files up to date', () => {
    expect(schemasCommand({ check: true, cwd: root })).toEqual({
      code: 0,
      stdout: ['schemas/flow.schema.json: up to date', 'schemas/program.schema.json: up to date'],
      stderr: [],
    });
  });

  it('commits exactly the generated schemas', () => {
    const read = (name: string) => JSON.parse(readFileSync(join(root, 'schemas', name), 'utf8')) as unknown;
    expect(read('flow.schema.json')).toEqual(flowJsonSchema());
    expect(read('program.schema.json')).toEqual(programJsonSchema());
  });

  it('fails the check when a schema file was edited or is missing, and regenerates them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-schemas-'));
    scratch.push(dir);
    cpSync(join(root, 'schemas'), dir, { recursive: true });
    const flowFile = join(dir, 'flow.schema.json');
    writeFileSync(flowFile, readFileSync(flowFile, 'utf8').replace('"Rapport flow"', '"My flow"'));
    rmSync(join(dir, 'program.schema.json'));

    expect(schemasCommand({ check: true, dir, cwd: dir })).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        'flow.schema.json: differs from the generated schema',
        'program.schema.json: missing',
        'run `rapport schemas` to regenerate them, and commit the result',
      ],
    });
    expect(schemasCommand({ dir, cwd: dir })).toEqual({
      code: 0,
      stdout: ['flow.schema.json: written', 'program.schema.json: written'],
      stderr: [],
    });
    expect(schemasCommand({ check: true, dir, cwd: dir }).code).toBe(0);
    expect(readFileSync(flowFile, 'utf8')).toBe(readFileSync(join(root, 'schemas/flow.schema.json'), 'utf8'));
  });

  it('formats JSON as Biome does: one property a line, short lists inline, long number lists filled', () => {
    const numbers = Array.from({ length: 40 }, (_, i) => i * 100);
    expect(formatJson({ required: ['id', 'name'], empty: {}, list: [], numbers })).toBe(
      [
        '{',
        '  "required": ["id", "name"],',
        '  "empty": {},',
        '  "list": [],',
        '  "numbers": [',
        `    ${numbers.slice(0, 19).join(', ')},`,
        `    ${numbers.slice(19, 36).join(', ')},`,
        `    ${numbers.slice(36).join(', ')}`,
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('rapport arguments', () => {
  const names = Object.keys(COMMANDS);
  const helpOf = (line: CommandLine) => {
    if (line.kind !== 'help') throw new Error(`expected help, got ${JSON.stringify(line)}`);
    return line;
  };
  const refusal = (argv: string[]) => {
    const line = parseCommandLine(argv, root);
    if (line.kind !== 'usage-error') throw new Error(`expected a refusal, got ${JSON.stringify(line)}`);
    return line;
  };
  const invocation = (argv: string[]) => {
    const line = parseCommandLine(argv, root);
    if (line.kind !== 'invoke') throw new Error(`expected an invocation, got ${JSON.stringify(line)}`);
    return line.invocation;
  };

  it.each(names)('answers `%s --help` and `-h` with its own usage and every option, exit 0', (name) => {
    const long = helpOf(parseCommandLine([name, '--help']));
    expect(long.code).toBe(0);
    expect(long.text.split('\n')[0]).toMatch(new RegExp(`^rapport ${name}( |$)`));
    for (const option of Object.keys(COMMANDS[name as keyof typeof COMMANDS].options))
      expect(long.text).toMatch(new RegExp(`^  --${option}\\b`, 'm'));
    expect(long.text).toContain('-h, --help');
    expect(parseCommandLine([name, '-h'])).toEqual(long);
    expect(parseCommandLine(['help', name])).toEqual(long);
  });

  it('answers help before looking at the other arguments, so a broken command line still gets it', () => {
    expect(helpOf(parseCommandLine(['run', '--limit', 'abc', '--help'])).text).toMatch(
      /^rapport run \[options\]/,
    );
    expect(helpOf(parseCommandLine(['serve', 'extra', '-h'])).text).toMatch(/^rapport serve /);
  });

  it('takes --help after a -- terminator as an argument, not a request for help', () => {
    expect(invocation(['validate', '--', '--help'])).toEqual({
      name: 'validate',
      values: {},
      positionals: ['--help'],
    });
  });

  it('prints the overview, listing every command, for rapport, --help, -h and help', () => {
    const overview = helpOf(parseCommandLine([]));
    for (const name of names) expect(overview.text).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(overview.text).toContain('RAPPORT_DEBUG=1');
    for (const argv of [['--help'], ['-h'], ['help']]) expect(parseCommandLine(argv)).toEqual(overview);
  });

  it.each([
    [['run', '--limit', 'abc'], 'rapport run: --limit must be a whole number of at least 1, got "abc"'],
    [['run', '--limit', '-3'], 'rapport run: --limit must be a whole number of at least 1, got "-3"'],
    [['run', '--limit=0'], 'rapport run: --limit must be a whole number of at least 1, got "0"'],
    [['run', '--limit', '1.5'], 'rapport run: --limit must be a whole number of at least 1, got "1.5"'],
    [
      ['simulate', 'welcome', '--until', '2026-13-01'],
      'rapport simulate: --until must be a date YYYY-MM-DD, got "2026-13-01"',
    ],
    [
      ['simulate', 'welcome', '--until', '2025-02-29'],
      'rapport simulate: --until must be a date YYYY-MM-DD, got "2025-02-29"',
    ],
    [
      ['simulate', 'welcome', '--until', 'tomorrow'],
      'rapport simulate: --until must be a date YYYY-MM-DD, got "tomorrow"',
    ],
    [['run', '--dataset', 'data/missing.txt'], 'rapport run: --dataset data/missing.txt: no such file'],
    [['run', '--dataset', 'data'], 'rapport run: --dataset data: not a file'],
    [
      ['run', '--json', 'no-such-dir/summary.json'],
      'rapport run: --json no-such-dir/summary.json: no such folder no-such-dir',
    ],
    [['run', '--frobnicate'], 'rapport run: unknown option --frobnicate'],
    [['run', '-x'], 'rapport run: unknown option -x'],
    [['run', '--limit'], 'rapport run: --limit needs a value (N)'],
    [['run', '--limit', '--exit'], 'rapport run: --limit needs a value (N)'],
    [['run', '--limit', '5', '--limit', '6'], 'rapport run: --limit is given twice'],
    [['run', '--exit=yes'], 'rapport run: --exit takes no value'],
    [['run', '--keep', '--exit'], 'rapport run: --keep and --exit contradict each other'],
    [['run', 'extra'], 'rapport run: takes no arguments, got "extra"'],
    [['run', '--flows', 'a,,b'], 'rapport run: --flows must be names separated by commas, got "a,,b"'],
    [['serve', '--port', '70000'], 'rapport serve: --port must be a port from 0 to 65535, got "70000"'],
    [['bench', '--fast'], 'rapport bench: unknown option --fast'],
    [['customer'], 'rapport customer: needs ID'],
    [['customer', 'a', 'b'], 'rapport customer: takes ID, got 2 arguments'],
    [
      ['customer', 'c-1', '--endpoint', 'http://127.0.0.1:8000'],
      'rapport customer: --endpoint needs --table NAME',
    ],
    [
      ['customer', 'c-1', '--endpoint', 'localhost', '--table', 't'],
      'rapport customer: --endpoint must be an http(s) URL such as http://127.0.0.1:8000, got "localhost"',
    ],
    [['customer', 'c-1', '--table', ''], 'rapport customer: --table must not be empty'],
    [['reconcile'], 'rapport reconcile: needs --table NAME'],
    [['liability', '--liability', '--table', 't'], 'rapport liability: unknown option --liability'],
    [['graph'], 'rapport graph: needs FLOW'],
    [['graph', 'a', 'b'], 'rapport graph: takes FLOW, got 2 arguments'],
    [['simulate'], 'rapport simulate: needs FLOW'],
    [['test-pattern', '{}'], 'rapport test-pattern: takes PATTERN_JSON EVENT_JSON, or --batch FILE.ndjson'],
    [
      ['test-pattern', '--batch', 'x.ndjson', '{}'],
      'rapport test-pattern: --batch FILE takes no other arguments',
    ],
    [['schemas', '--check', 'now'], 'rapport schemas: takes no arguments, got "now"'],
  ])('refuses %j with exit 2: %s', (argv, message) => {
    expect(refusal(argv)).toEqual({
      kind: 'usage-error',
      code: 2,
      message: `${message} (see rapport ${argv[0]} --help)`,
    });
  });

  it('refuses an unknown command and help on one, pointing to the overview', () => {
    expect(refusal(['frob'])).toEqual({
      kind: 'usage-error',
      code: 2,
      message: 'rapport: unknown command "frob" (see rapport --help)',
    });
    expect(refusal(['help', 'frob']).message).toBe('rapport help: no command "frob" (see rapport --help)');
  });

  it('hands the commands their values parsed: numbers, absolute paths, lists, dates and flags', () => {
    expect(
      invocation([
        'run',
        '--limit',
        '100',
        '--dataset',
        'data/cdnow_sample.txt',
        '--flows',
        'thank-you,welcome',
        '--exit',
      ]),
    ).toEqual({
      name: 'run',
      values: {
        limit: 100,
        dataset: join(root, 'data/cdnow_sample.txt'),
        flows: ['thank-you', 'welcome'],
        exit: true,
      },
      positionals: [],
    });
    expect(invocation(['simulate', 'welcome', '--until', '2028-02-29', '--json=out.json'])).toEqual({
      name: 'simulate',
      values: { until: '2028-02-29', json: join(root, 'out.json') },
      positionals: ['welcome'],
    });
    expect(
      invocation(['customer', 'c-1', '--json', '--endpoint', 'http://127.0.0.1:8000', '--table', 't']),
    ).toEqual({
      name: 'customer',
      values: { json: true, endpoint: 'http://127.0.0.1:8000', table: 't' },
      positionals: ['c-1'],
    });
    expect(invocation(['serve', '--port', '0']).values).toEqual({ port: 0 });
    expect(invocation(['test-pattern', '{"a":[1]}', '{"a":1}']).positionals).toEqual([
      '{"a":[1]}',
      '{"a":1}',
    ]);
    expect(invocation(['validate', 'workflows/flows', 'workflows/program.yaml']).positionals).toHaveLength(2);
  });
});

describe('rapport errors', () => {
  it('prints an error as one line with its causes, and no stack', () => {
    const error = new Error('cannot read table t', {
      cause: new Error('connect ECONNREFUSED\n127.0.0.1:8000'),
    });
    const line = describeError(error, false);
    expect(line).toBe(
      'cannot read table t: connect ECONNREFUSED 127.0.0.1:8000 (RAPPORT_DEBUG=1 shows the stack)',
    );
    expect(line).not.toContain('\n');
  });

  it('shows the stack and the causes with RAPPORT_DEBUG=1', () => {
    const text = describeError(new Error('outer', { cause: new Error('inner') }), true);
    expect(text).toMatch(/Error: outer\n\s+at /);
    expect(text).toContain('inner');
  });
});

describe('the local stack file', () => {
  const info = {
    pid: process.pid,
    dynamoDbEndpoint: 'http://127.0.0.1:8000',
    tableName: 'rapport-local',
    region: 'us-east-1',
    eventsEndpoint: 'http://127.0.0.1:4010',
    sesEndpoint: 'http://127.0.0.1:8005',
    startedAt: '2026-01-01T00:00:00.000Z',
  };

  it('is read back while its process lives, and ignored once it has died', () => {
    const file = join(folderWith({}), 'stack.json');
    expect(readStackFile(file)).toBeUndefined();
    writeStackFile(info, file);
    expect(readStackFile(file)).toEqual(info);
    expect(readStackFile(file, () => false)).toBeUndefined();
  });

  it('is removed only by the process that wrote it', () => {
    const file = join(folderWith({}), 'stack.json');
    writeStackFile(info, file);
    removeStackFile(process.pid + 1, file);
    expect(readStackFile(file)).toEqual(info);
    removeStackFile(process.pid, file);
    expect(readStackFile(file)).toBeUndefined();
  });

  it('names the field of a stack file that does not parse', () => {
    const file = join(folderWith({}), 'stack.json');
    writeFileSync(file, JSON.stringify({ ...info, tableName: 7 }));
    expect(() => readStackFile(file)).toThrow(/stack\.json: tableName: /);
    writeFileSync(file, '{');
    expect(() => readStackFile(file)).toThrow(/stack\.json is not JSON/);
  });
});
