import { describe, expect, it } from 'vitest';
import { checkPublished, SWEEPER_SOURCE } from '../../domain/contracts/published-events.ts';
import { ConfigError } from '../../domain/errors.ts';
import { LOYALTY_SOURCE } from '../../domain/events.ts';
import { compileProject, type WorkflowSources } from '../../domain/workflow/compile.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';

const problemsOf = (sources: WorkflowSources) => {
  try {
    compileProject(sources);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const flow = (body: string) => `version: 1
id: probe
name: Probe
${body}`;

const withFlow = (text: string, emails: WorkflowSources['emails'] = []): WorkflowSources => {
  const shipped = readWorkflowSources();
  return {
    ...shipped,
    flows: [{ file: 'workflows/flows/probe.yaml', text }],
    emails: [...shipped.emails, ...emails],
  };
};

describe('the published events', () => {
  it('compiles every shipped flow and template against the events they read', () => {
    expect(compileProject(readWorkflowSources()).flows.length).toBeGreaterThan(5);
  });

  it('refuses a trigger filter on a field the event does not have, with file and line', () => {
    const problems = problemsOf(
      withFlow(
        flow(`trigger:
  event: order.placed
  where:
    totl: [{ numeric: [">=", 100] }]
steps:
  - { id: thank, type: send_email, template: thank-you, topic: orders }
`),
      ),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        file: 'workflows/flows/probe.yaml',
        line: 7,
        path: 'trigger.where.totl',
        message: expect.stringMatching(/order\.placed events have no field totl \(it has .*total/),
      }),
    ]);
  });

  it('refuses filters on missing nested fields in goals, exits and waits, and keeps the real ones', () => {
    const problems = problemsOf(
      withFlow(
        flow(`trigger: { event: customer.registered }
goal:
  event: order.placed
  where: { meta: { pionts: [{ exists: true }] }, items: { sku: [a] } }
  within: { days: 3 }
exit_on:
  - event: order.refunded
    where: { reason: [{ prefix: x }], refundedBy: [x] }
steps:
  - id: wait
    type: wait
    for_event: { event: order.placed, where: { currency: [EUR], $or: [{ total: [1] }, { totall: [2] }] } }
    timeout: { days: 1 }
`),
      ),
    );
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['goal.where.meta.pionts', 7],
      ['exit_on[0].where.refundedBy', 11],
      ['steps[0].for_event.where.$or[1].totall', 15],
    ]);
  });

  it('refuses a condition on an event field the trigger does not have', () => {
    const problems = problemsOf(
      withFlow(
        flow(`trigger: { event: customer.tier-changed }
entry:
  when:
    - { field: event.direction, equals: up }
    - { field: event.tier, equals: gold }
steps:
  - { id: hi, type: send_email, template: tier-welcome, topic: orders }
`),
      ),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'entry.when[1].field',
        line: 8,
        message: expect.stringContaining('no field tier'),
      }),
    ]);
  });

  it('refuses a template that reads a field its trigger does not provide, naming the template file and line', () => {
    const problems = problemsOf(
      withFlow(
        flow(`trigger: { inactivity: { event: order.placed, days: 30 } }
steps:
  - { id: nudge, type: send_email, template: probe, topic: orders }
`),
        [
          {
            file: 'workflows/emails/probe.liquid',
            text: '---\nsubject: "{{ event.days }} days"\n---\n<p>Hi</p>\n<p>{{ event.meta.points }} points</p>\n',
          },
        ],
      ),
    );
    expect(problems).toEqual([
      {
        file: 'workflows/emails/probe.liquid',
        line: 5,
        path: 'event.meta.points',
        message: expect.stringContaining('flow probe sends this on customer.inactive'),
      },
    ]);
  });

  it('lets templates read what order.placed carries: its meta.points and list properties', () => {
    const sources = withFlow(
      flow(`trigger: { event: order.placed }
steps:
  - { id: thank, type: send_email, template: probe, topic: orders }
`),
      [
        {
          file: 'workflows/emails/probe.liquid',
          text: '---\nsubject: "{{ event.meta.points }}"\n---\n{{ event.items.size }} {{ event.items.first.sku }} {% for i in event.items %}{{ i.nope }}{% endfor %}\n',
        },
      ],
    );
    expect(() => compileProject(sources)).not.toThrow();
  });

  it('refuses to publish an event that breaks its contract, naming the field', () => {
    expect(() =>
      checkPublished({
        source: LOYALTY_SOURCE,
        detailType: 'points.expiring',
        detail: { customerId: 'c-1', points: 10, balance: 10, meta: { eventId: 'e' } },
      }),
    ).toThrow('points.expiring: detail.expiresOn:');
    expect(() =>
      checkPublished({ source: SWEEPER_SOURCE, detailType: 'points.expiring', detail: {} }),
    ).toThrow('rapport.sweeper publishes no points.expiring events');
  });
});
