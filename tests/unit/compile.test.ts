import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../domain/errors.ts';
import { matchesEventPattern } from '../../domain/event-pattern.ts';
import { compileProject, type WorkflowSources } from '../../domain/workflow/compile.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { eventFixture } from '../support/fixtures.ts';

const shipped = () => readWorkflowSources();
const thankYou = (project: ReturnType<typeof compileProject>) => {
  const flow = project.flows.find((f) => f.id === 'thank-you');
  if (!flow) throw new Error('thank-you is shipped');
  return flow;
};

const withFlow = (text: string, file = 'workflows/flows/broken.yaml'): WorkflowSources => ({
  ...shipped(),
  flows: [{ file, text }],
});

const problemsOf = (sources: WorkflowSources) => {
  try {
    compileProject(sources);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

// Golden files show in review what a config or compiler change does to the deployed ASL.
// Regenerate deliberately with UPDATE_GOLDEN=1 npm test.
const golden = (name: string, actual: unknown) => {
  const file = new URL(`../golden/${name}.golden.json`, import.meta.url);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
  expect(existsSync(file), `missing golden file ${file.pathname}: run UPDATE_GOLDEN=1 npm test`).toBe(true);
  expect(text).toBe(readFileSync(file, 'utf8'));
};

describe('the workflow compiler', () => {
  it('compiles every shipped file', () => {
    const project = compileProject(shipped());
    expect(project.program.id).toBe('rapport-rewards');
    expect(project.flows.map((f) => f.id)).toEqual([
      'birthday',
      'review-request',
      'thank-you',
      'welcome',
      'win-back',
    ]);
    expect([...project.templates.keys()]).toEqual([
      'birthday',
      'review-request',
      'thank-you',
      'welcome-offer',
      'welcome',
      'win-back-last-chance',
      'win-back',
    ]);
    expect(project.sweep).toEqual({
      timeZone: 'America/New_York',
      inactivityDays: [113],
      dates: [{ field: 'birthday', at: '09:00' }],
      schedules: [],
    });
  });

  it('is deterministic: the same files give byte-identical output', () => {
    expect(JSON.stringify(compileProject(shipped()))).toBe(JSON.stringify(compileProject(shipped())));
  });

  it('matches the golden ASL of the ingest machine and of every shipped flow', () => {
    const project = compileProject(shipped());
    golden('ingest', project.ingest);
    for (const flow of project.flows)
      golden(`flow-${flow.id}`, { definition: flow.definition, pattern: flow.pattern });
  });

  it('compiles thank-you into award then email, each retried and dead-lettered on failure', () => {
    const flow = compileProject(shipped()).flows.find((f) => f.id === 'thank-you');
    const states = flow!.definition.States as Record<string, Record<string, unknown>>;
    expect(states.Normalize?.Next).toBe('award');
    expect(states.Resume).toBeUndefined();
    expect(states.award).toMatchObject({
      Resource: '${AwardPointsFunctionArn}',
      Next: 'thank',
      ResultPath: '$.steps.award',
    });
    expect(states.thank).toMatchObject({ Resource: '${SendEmailFunctionArn}', Next: 'Complete' });
    expect(JSON.stringify(states.award?.Retry)).toContain('ConcurrencyConflictError');
    expect(states.award?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' },
    ]);
  });

  it('routes shop events to ingest and only accepted events to flows', () => {
    const project = compileProject(shipped());
    const shopOrder = eventFixture('order-placed');
    expect(matchesEventPattern(project.ingest.pattern, shopOrder)).toBe(true);
    expect(matchesEventPattern(thankYou(project).pattern, shopOrder)).toBe(false);
    const accepted = { ...shopOrder, source: 'rapport.ingest' };
    expect(matchesEventPattern(project.ingest.pattern, accepted)).toBe(false);
    expect(matchesEventPattern(thankYou(project).pattern, accepted)).toBe(true);
  });

  it('compiles a trigger filter into the rule pattern', () => {
    const project = compileProject(
      withFlow(`version: 1
id: big-spenders
name: Big spenders
trigger:
  event: order.placed
  where:
    total: [{ numeric: [">=", 100] }]
steps:
  - { id: award, type: award_points, for: order }
`),
    );
    expect(project.flows[0]?.pattern).toEqual({
      source: ['rapport.ingest'],
      'detail-type': ['order.placed'],
      detail: { total: [{ numeric: ['>=', 100] }] },
    });
  });

  it('refuses a misspelt field, naming file, line, column and path', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: typo
name: Typo
trigger:
  event: order.placed
steps:
  - id: thank
    type: send_email
    tempalte: thank-you
`),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ file: 'workflows/flows/broken.yaml', line: 7, column: 5, path: 'steps[0]' }),
    );
    expect(problems.map((p) => p.message).join()).toMatch(/unknown field tempalte/);
  });

  it('refuses an unknown step type and an unknown trigger event in words a marketer understands', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: wrong
name: Wrong
trigger:
  event: order.shipped
steps:
  - { id: x, type: send_sms }
`),
    );
    const text = new ConfigError(problems).message;
    expect(text).toContain(
      'workflows/flows/broken.yaml:5:10: trigger.event: must be one of "customer.registered", "order.placed", "order.refunded"',
    );
    expect(text).toMatch(/workflows\/flows\/broken\.yaml:7:\d+: steps\[0\]\.type: /);
  });

  it('refuses a flow that names a template that does not exist', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: missing
name: Missing template
trigger: { event: order.placed }
steps:
  - { id: hello, type: send_email, template: farewell }
`),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'steps (hello).template',
        message: expect.stringContaining('no template workflows/emails/farewell.liquid'),
      }),
    ]);
  });

  it('refuses points for an order in a flow not triggered by an order', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: wrong-points
name: Wrong points
trigger: { event: customer.registered }
steps:
  - { id: award, type: award_points, for: order }
`),
    );
    expect(problems[0]?.message).toMatch(/needs a flow triggered by order\.placed/);
  });

  it('refuses an invalid trigger filter', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: bad-filter
name: Bad filter
trigger:
  event: order.placed
  where: { total: 100 }
steps:
  - { id: award, type: award_points, for: order }
`),
    );
    expect(problems[0]).toMatchObject({ path: 'trigger.where' });
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf(withFlow('version: 1\nid: [unclosed\n'));
    expect(problems[0]).toMatchObject({ file: 'workflows/flows/broken.yaml', line: expect.any(Number) });
  });

  it('leaves paused flows out of the deployment', () => {
    const project = compileProject(
      withFlow(`version: 1
id: paused-one
name: Paused
status: paused
trigger: { event: order.placed }
steps:
  - { id: award, type: award_points, for: order }
`),
    );
    expect(project.flows).toEqual([]);
  });

  it('refuses a program with a bad earn rule', () => {
    const sources = shipped();
    sources.program = {
      ...sources.program,
      text: sources.program.text.replace('pointsPerCurrencyUnit: 1', 'pointsPerCurrencyUnit: -1'),
    };
    expect(problemsOf(sources)).toEqual([
      expect.objectContaining({
        file: 'workflows/program.yaml',
        path: 'earn.pointsPerCurrencyUnit',
        message: 'must be more than zero',
      }),
    ]);
  });
});
