import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../domain/workflow/compile.ts';
import { flowJsonSchema, programJsonSchema } from '../../domain/workflow/json-schema.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import {
  formatJson,
  graphCommand,
  schemasCommand,
  testPatternBatch,
  testPatternBatchCommand,
  testPatternCommand,
  validateCommand,
} from '../../local/commands.ts';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

const PROGRAM = `version: 1
id: temp-rewards
name: Temp Rewards
currency: USD
sender:
  from: "Temp Shop <hello@example.com>"
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
  'workflows/flows/broken.yaml:5:10: trigger.event: must be one of "customer.registered", "order.placed", "order.refunded", "points.expiring", "customer.tier-changed", "points.redeemed"',
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
        'flows/broken.yaml:5:10: trigger.event: must be one of "customer.registered", "order.placed", "order.refunded", "points.expiring", "customer.tier-changed", "points.redeemed"',
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
        'workflows/drafts/draft.yaml: steps (thank).topic: no topic "receipts" in the program (topics: orders)',
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
  '  s_greet["greet: send_email welcome"]',
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
