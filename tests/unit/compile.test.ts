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
      'points-expiring',
      'review-request',
      'thank-you',
      'tier-upgrade',
      'welcome',
      'win-back',
    ]);
    expect([...project.templates.keys()]).toEqual([
      'birthday',
      'points-expiring',
      'review-request',
      'thank-you',
      'tier-welcome',
      'welcome-offer',
      'welcome',
      'win-back-last-chance',
      'win-back',
    ]);
    // Points stay pending 30 days and expire after a year, so the sweeper needs the program.
    expect(project.sweep).toEqual({
      timeZone: 'America/New_York',
      inactivityDays: [113],
      dates: [{ field: 'birthday', at: '09:00' }],
      schedules: [],
      program: project.program,
    });
    expect(project.sweep.program?.points).toMatchObject({ pendingDays: 30, expiry: { afterDays: 365 } });
  });

  it('leaves the program out of the sweep when no points ever come due', () => {
    const sources = shipped();
    const program = sources.program.text
      .replace('pendingDays: 30', 'pendingDays: 0')
      .replace(/\n {4}afterDays: 365[^\n]*/, '')
      .replace(/\n# The rewards catalog:[\s\S]*?(?=\n# Membership levels)/, '')
      .replace(/\n# Membership levels[\s\S]*?(?=\n# Customers without)/, '');
    const project = compileProject({ ...sources, program: { ...sources.program, text: program } });
    expect(project.program.points.pendingDays).toBe(0);
    expect(project.program.points.expiry.afterDays).toBeUndefined();
    expect(project.program.rewards).toEqual([]);
    expect(project.program.tiers).toBeUndefined();
    expect(project.sweep).not.toHaveProperty('program');
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

  it('compiles thank-you into only the email (orders earn at ingest), retried and dead-lettered on failure', () => {
    const flow = compileProject(shipped()).flows.find((f) => f.id === 'thank-you');
    const states = flow!.definition.States as Record<string, Record<string, unknown>>;
    expect(states.Normalize?.Next).toBe('thank');
    expect(states.Resume).toBeUndefined();
    expect(states.award).toBeUndefined();
    expect(JSON.stringify(states)).not.toContain('${AwardPointsFunctionArn}');
    expect(states.thank).toMatchObject({
      Resource: '${SendEmailFunctionArn}',
      Next: 'Complete',
      ResultPath: '$.steps.thank',
    });
    expect(JSON.stringify(states.thank?.Retry)).toContain('ConcurrencyConflictError');
    expect(states.thank?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' },
    ]);
  });

  it('compiles a named award into its points and rule from program.yaml, retried and dead-lettered', () => {
    const project = compileProject(shipped());
    const birthday = project.flows.find((f) => f.id === 'birthday');
    const states = birthday!.definition.States as Record<string, Record<string, unknown>>;
    expect(states.gift).toMatchObject({
      Resource: '${AwardPointsFunctionArn}',
      Next: 'card',
      ResultPath: '$.steps.gift',
      Parameters: {
        flowId: 'birthday',
        stepId: 'gift',
        points: 200,
        rule: { id: 'birthday-gift', version: 1 },
        program: JSON.parse(JSON.stringify(project.program)),
      },
    });
    expect(states.gift?.Parameters).not.toHaveProperty('reason');
    expect(JSON.stringify(states.gift?.Retry)).toContain('ConcurrencyConflictError');
    expect(states.gift?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' },
    ]);
  });

  it('compiles a fixed number of points under a rule named after the flow', () => {
    const project = compileProject(
      withFlow(`version: 1
id: review-thanks
name: Review thanks
trigger: { event: order.placed }
steps:
  - { id: reward, type: award_points, points: 25, reason: Thanks for the review }
`),
    );
    const states = project.flows[0]!.definition.States as Record<string, Record<string, unknown>>;
    expect(states.reward?.Parameters).toMatchObject({
      stepId: 'reward',
      points: 25,
      rule: { id: 'flow-review-thanks', version: 1 },
      program: { id: 'rapport-rewards' },
    });
  });

  it('routes everything on the shop bus to ingest and only accepted events to flows', () => {
    const project = compileProject(shipped());
    const shopOrder = eventFixture('order-placed');
    expect(matchesEventPattern(project.ingest.pattern, shopOrder)).toBe(true);
    expect(matchesEventPattern(thankYou(project).pattern, shopOrder)).toBe(false);
    const accepted = { ...shopOrder, source: 'rapport.ingest' };
    expect(matchesEventPattern(thankYou(project).pattern, accepted)).toBe(true);
    // The buses keep them apart: ingest takes anything on the shop bus, so what is not a commerce
    // event (or claims a rapport.* source there) is dead-lettered with its reason, not dropped.
    for (const junk of [accepted, { ...shopOrder, 'detail-type': '__proto__' }]) {
      expect(matchesEventPattern(project.ingest.pattern, junk)).toBe(true);
    }
  });

  it('starts loyalty-triggered flows from rapport.loyalty events only, filtered by their detail', () => {
    const project = compileProject(shipped());
    const tierUpgrade = project.flows.find((f) => f.id === 'tier-upgrade')!;
    const tierChanged = (direction: string, source = 'rapport.loyalty') => ({
      source,
      'detail-type': 'customer.tier-changed',
      detail: { customerId: 'c-1', from: 'member', to: 'silver', direction },
    });
    expect(tierUpgrade.pattern).toEqual({
      source: ['rapport.loyalty'],
      'detail-type': ['customer.tier-changed'],
      detail: { direction: ['up'] },
    });
    expect(matchesEventPattern(tierUpgrade.pattern, tierChanged('up'))).toBe(true);
    expect(matchesEventPattern(tierUpgrade.pattern, tierChanged('down'))).toBe(false);
    expect(matchesEventPattern(tierUpgrade.pattern, tierChanged('up', 'rapport.ingest'))).toBe(false);
    expect(project.flows.find((f) => f.id === 'points-expiring')?.pattern).toEqual({
      source: ['rapport.loyalty'],
      'detail-type': ['points.expiring'],
    });
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
  - { id: award, type: award_points, award: review }
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
  - { id: hello, type: send_email, template: farewell, topic: orders }
`),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'steps (hello).template',
        message: expect.stringContaining('no template workflows/emails/farewell.liquid'),
      }),
    ]);
  });

  it('refuses an award that program.yaml does not define, listing the ones it does', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: wrong-points
name: Wrong points
trigger: { event: customer.registered }
steps:
  - { id: award, type: award_points, award: welcome-gift }
`),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        file: 'workflows/flows/broken.yaml',
        path: 'steps (award).award',
        message:
          'award welcome-gift is not defined in program.yaml awards (signup, birthday, review, referral)',
      }),
    ]);
  });

  it('refuses the old "for: order" award: orders now earn their points through program.yaml', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: old-points
name: Old points
trigger: { event: order.placed }
steps:
  - id: award
    type: award_points
    for: order
`),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        line: 6,
        column: 5,
        path: 'steps[0]',
        message: 'unknown field for (check the spelling)',
      }),
    );
    expect(problems.map((p) => p.message).join()).toMatch(/orders earn their points through program\.yaml/);
  });

  it('refuses an award step giving both a named award and points', () => {
    const problems = problemsOf(
      withFlow(`version: 1
id: both
name: Both
trigger: { event: order.placed }
steps:
  - { id: award, type: award_points, award: review, points: 10 }
`),
    );
    expect(problems).toEqual([
      expect.objectContaining({ path: 'steps[0]', message: expect.stringContaining('not both') }),
    ]);
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
  - { id: award, type: award_points, award: review }
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
  - { id: award, type: award_points, award: review }
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
