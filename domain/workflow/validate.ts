import { validateEventPattern } from '../event-pattern.ts';
import type { Program } from '../program.ts';
import type { EmailTemplate } from '../templates.ts';
import { allSteps, type Condition, type Flow, isWaitForEvent } from './flow-schema.ts';

// The second pass over a flow that parsed: references to templates, topics and awards exist, step
// ids are unique, and every condition and filter can match something.

export const checkFlowReferences = (
  flow: Flow,
  templates: ReadonlyMap<string, EmailTemplate>,
  program: Program | undefined,
  problem: (path: string, message: string) => void,
): void => {
  const ids = new Map<string, number>();
  const steps = allSteps(flow.steps);
  for (const step of steps) ids.set(step.id, (ids.get(step.id) ?? 0) + 1);
  for (const [id, count] of ids)
    if (count > 1) problem('steps', `step id "${id}" is used ${count} times in this flow`);
  const triggerEvent = 'event' in flow.trigger ? flow.trigger.event : undefined;
  const topics = new Set(program?.topics.map((t) => t.id) ?? []);
  for (const step of steps) {
    const at = `steps (${step.id})`;
    if (step.type === 'send_email') {
      if (!templates.has(step.template)) {
        const known = [...templates.keys()].join(', ') || 'none';
        problem(
          `${at}.template`,
          `no template workflows/emails/${step.template}.liquid (templates: ${known})`,
        );
      }
      if (step.topic && program && !topics.has(step.topic)) {
        problem(
          `${at}.topic`,
          `no topic "${step.topic}" in the program (topics: ${[...topics].join(', ') || 'none'})`,
        );
      }
    }
    if (step.type === 'award_points' && step.award && program && !program.awards[step.award]) {
      problem(
        `${at}.award`,
        `award ${step.award} is not defined in program.yaml awards (${Object.keys(program.awards).join(', ') || 'none defined'})`,
      );
    }
    if (step.type === 'split') {
      step.paths.forEach((path, i) => {
        if (path.holdout && path.steps?.length)
          problem(`${at}.paths[${i}]`, 'a holdout path receives nothing: remove its steps');
      });
    }
    if (isWaitForEvent(step) && step.for_event.where) {
      for (const error of validateEventPattern({ detail: step.for_event.where }))
        problem(`${at}.for_event.where`, error);
    }
    if (step.type === 'branch') {
      step.if.forEach((c, i) => {
        for (const condition of c.when) checkCondition(condition, triggerEvent, `${at}.if[${i}]`, problem);
      });
    }
  }
  for (const condition of flow.entry.when ?? [])
    checkCondition(condition, triggerEvent, 'entry.when', problem);
  const patterns: [string, Record<string, unknown> | undefined][] = [
    ['trigger.where', 'event' in flow.trigger ? flow.trigger.where : undefined],
    ['goal.where', flow.goal?.where],
    ...(flow.exit_on ?? []).map(
      (e, i) => [`exit_on[${i}].where`, e.where] as [string, Record<string, unknown> | undefined],
    ),
  ];
  for (const [path, where] of patterns) {
    if (where) for (const error of validateEventPattern({ detail: where })) problem(path, error);
  }
};

const checkCondition = (
  condition: Condition,
  triggerEvent: string | undefined,
  path: string,
  problem: (path: string, message: string) => void,
) => {
  if ('field' in condition && condition.field.startsWith('event.') && !triggerEvent) {
    problem(path, `${condition.field}: this flow's trigger is not an event, so there are no event fields`);
  }
};
