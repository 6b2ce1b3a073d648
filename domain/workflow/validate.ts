import type * as z from 'zod';
import { findField, PUBLISHED_EVENTS, type PublishedType } from '../contracts/published-events.ts';
import type { ConfigProblem } from '../errors.ts';
import { validateEventPattern } from '../event-pattern.ts';
import type { Program } from '../program.ts';
import type { EmailTemplate } from '../templates.ts';
import type { TemplateRead } from './email-templates.ts';
import { allSteps, type Condition, type Flow, isWaitForEvent, type Step } from './flow-schema.ts';

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

// ---- fields of the events a flow reads --------------------------------------------------------

/** A problem at a path of the flow's YAML document, which gives its line. */
export type ProblemAt = (at: readonly (string | number)[], message: string) => void;

/** The detail a flow's trigger gives its steps (`$.trigger`): the event's, or the sweeper's. */
export const triggerDetailOf = (flow: Flow): { type: string; schema: z.ZodType } => {
  const t = flow.trigger;
  const type =
    'inactivity' in t
      ? 'customer.inactive'
      : 'date' in t
        ? 'customer.date'
        : 'schedule' in t
          ? 'customer.scheduled'
          : t.event;
  const schema = isPublished(type) ? PUBLISHED_EVENTS[type].detail : undefined;
  // The flow schema only lets published types through: this is a broken invariant, not a config error.
  if (!schema) throw new Error(`no published-event schema for ${type}`);
  return { type, schema };
};

const isPublished = (type: string): type is PublishedType => Object.hasOwn(PUBLISHED_EVENTS, type);

const describeMissing = (
  type: string,
  path: readonly (string | number)[],
  result: { known: string[]; missing: number },
) => {
  const has = path.slice(0, result.missing).join('.');
  const known = result.known.length ? ` (${has ? `${has} has` : 'it has'} ${result.known.join(', ')})` : '';
  return `${type} events have no field ${path.join('.')}${known}`;
};

/** The field paths an EventBridge pattern on the detail names, each with its path in the pattern. */
const patternFields = (
  where: Record<string, unknown>,
  prefix: (string | number)[] = [],
  at: (string | number)[] = [],
): { field: (string | number)[]; at: (string | number)[] }[] =>
  Object.entries(where).flatMap(([key, value]) => {
    if (key === '$or' && Array.isArray(value))
      return value.flatMap((branch, i) =>
        branch && typeof branch === 'object' && !Array.isArray(branch)
          ? patternFields(branch as Record<string, unknown>, prefix, [...at, key, i])
          : [],
      );
    if (value && typeof value === 'object' && !Array.isArray(value))
      return patternFields(value as Record<string, unknown>, [...prefix, key], [...at, key]);
    return [{ field: [...prefix, key], at: [...at, key] }];
  });

/** Steps with their paths in the YAML document. */
const stepsAt = (list: readonly Step[], at: (string | number)[]): { step: Step; at: (string | number)[] }[] =>
  list.flatMap((step, i) => {
    const here = [...at, i];
    const nested =
      step.type === 'branch'
        ? [
            ...step.if.flatMap((c, j) => stepsAt(c.steps, [...here, 'if', j, 'steps'])),
            ...stepsAt(step.else ?? [], [...here, 'else']),
          ]
        : step.type === 'split'
          ? step.paths.flatMap((p, j) => stepsAt(p.steps ?? [], [...here, 'paths', j, 'steps']))
          : isWaitForEvent(step)
            ? [
                ...stepsAt(step.on_event ?? [], [...here, 'on_event']),
                ...stepsAt(step.on_timeout ?? [], [...here, 'on_timeout']),
              ]
            : [];
    return [{ step, at: here }, ...nested];
  });

/** Every email's topic is one of the program's: consent, unsubscribe and the footer go by it. */
export const checkTopics = (flow: Flow, program: Program, problem: ProblemAt): void => {
  const topics = program.topics.map((t) => t.id);
  for (const { step, at } of stepsAt(flow.steps, ['steps'])) {
    if (step.type === 'send_email' && !topics.includes(step.topic))
      problem(
        [...at, 'topic'],
        `no topic "${step.topic}" in the program (topics: ${topics.join(', ') || 'none'})`,
      );
  }
};

/**
 * Every `where` names fields its event has, and every `event.` condition a field of the trigger:
 * a filter on a field that does not exist never matches, and nothing would say why.
 */
export const checkEventFields = (flow: Flow, problem: ProblemAt): void => {
  const filters: { type: string; where: Record<string, unknown> | undefined; at: (string | number)[] }[] = [
    ...('event' in flow.trigger
      ? [{ type: flow.trigger.event, where: flow.trigger.where, at: ['trigger', 'where'] }]
      : []),
    ...(flow.goal ? [{ type: flow.goal.event, where: flow.goal.where, at: ['goal', 'where'] }] : []),
    ...(flow.exit_on ?? []).map((e, i) => ({ type: e.event, where: e.where, at: ['exit_on', i, 'where'] })),
    ...stepsAt(flow.steps, ['steps']).flatMap(({ step, at }) =>
      isWaitForEvent(step)
        ? [{ type: step.for_event.event, where: step.for_event.where, at: [...at, 'for_event', 'where'] }]
        : [],
    ),
  ];
  for (const filter of filters) {
    if (!filter.where || !isPublished(filter.type)) continue;
    const schema = PUBLISHED_EVENTS[filter.type].detail;
    for (const { field, at } of patternFields(filter.where)) {
      const result = findField(schema, field);
      if (!result.found) problem([...filter.at, ...at], describeMissing(filter.type, field, result));
    }
  }
  const trigger = triggerDetailOf(flow);
  const conditions = [
    ...(flow.entry.when ?? []).map((c, i) => ({ condition: c, at: ['entry', 'when', i] })),
    ...stepsAt(flow.steps, ['steps']).flatMap(({ step, at }) =>
      step.type === 'branch'
        ? step.if.flatMap((c, j) =>
            c.when.map((condition, k) => ({ condition, at: [...at, 'if', j, 'when', k] })),
          )
        : [],
    ),
  ];
  for (const { condition, at } of conditions) {
    if (!('field' in condition) || !condition.field.startsWith('event.') || !('event' in flow.trigger))
      continue;
    const field = condition.field.slice('event.'.length).split('.');
    const result = findField(trigger.schema, field);
    if (!result.found) problem([...at, 'field'], describeMissing(trigger.type, field, result));
  }
};

/** Every `event.` a flow's templates read is a field of the flow's trigger. */
export const checkTemplateReads = (
  flow: Flow,
  reads: ReadonlyMap<string, readonly { file: string; reads: TemplateRead[] }[]>,
  problem: (problem: ConfigProblem) => void,
): void => {
  const trigger = triggerDetailOf(flow);
  const used = new Set(allSteps(flow.steps).flatMap((s) => (s.type === 'send_email' ? [s.template] : [])));
  for (const template of [...used].flatMap((id) => reads.get(id) ?? [])) {
    for (const read of template.reads) {
      if (read.path[0] !== 'event') continue;
      const field = read.path.slice(1);
      const result = findField(trigger.schema, field);
      if (result.found) continue;
      problem({
        file: template.file,
        line: read.line,
        path: read.path.join('.'),
        message: `flow ${flow.id} sends this on ${trigger.type}, and ${describeMissing(trigger.type, field, result)}`,
      });
    }
  }
};

/**
 * A transactional email goes even to customers who opted out of marketing, so it must not market:
 * its templates may not show a coupon or a reward the flow hands out (an `issue_coupon` step's
 * result, any step's `code`, any variable named for a coupon or reward). The trigger event's own
 * fields are exempt: they are the customer's transaction, which is what a receipt is about (the
 * coupon of a redemption they asked for).
 */
export const checkTransactionalTemplates = (
  flow: Flow,
  program: Program,
  reads: ReadonlyMap<string, readonly { file: string; reads: TemplateRead[] }[]>,
  problem: (problem: ConfigProblem) => void,
): void => {
  const transactional = new Set(program.topics.filter((t) => t.transactional).map((t) => t.id));
  const steps = allSteps(flow.steps);
  const coupons = new Set(steps.flatMap((s) => (s.type === 'issue_coupon' ? [s.id] : [])));
  const reported = new Set<string>();
  for (const step of steps) {
    if (step.type !== 'send_email' || !transactional.has(step.topic)) continue;
    for (const part of reads.get(step.template) ?? []) {
      for (const read of part.reads) {
        const content = marketingContentOf(read.path, coupons);
        const key = `${part.file}:${read.line}:${read.path.join('.')}`;
        if (!content || reported.has(key)) continue;
        reported.add(key);
        problem({
          file: part.file,
          line: read.line,
          path: read.path.join('.'),
          message: `${content}: flow ${flow.id} sends this template on the transactional topic ${step.topic} (step ${step.id}), and transactional email may not carry a coupon or a reward; send it on a marketing topic`,
        });
      }
    }
  }
};

const marketingContentOf = (path: readonly (string | number)[], coupons: ReadonlySet<string>) => {
  const [root, step, field] = path;
  if (root === 'event') return undefined;
  if (root === 'steps' && typeof step === 'string' && coupons.has(step))
    return `step ${step} issues a coupon`;
  if (root === 'steps' && field === 'code') return 'a coupon code';
  const named = path.find((segment) => typeof segment === 'string' && /coupon|reward/i.test(segment));
  return named === undefined ? undefined : `${named} is a coupon or a reward`;
};
