import { ConfigError, type ConfigProblem, RETRYABLE_ERROR_NAMES } from '../errors.ts';
import { validateEventPattern } from '../event-pattern.ts';
import { ACCEPTED_SOURCE, LOYALTY_EVENT_TYPES, LOYALTY_SOURCE } from '../events.ts';
import { stableHash } from '../journeys.ts';
import { isValidTimeZone } from '../local-time.ts';
import { type Program, programSchema } from '../program.ts';
import { type EmailTemplate, parseEmailTemplate, TemplateSyntaxError } from '../templates.ts';
import {
  allSteps,
  type Condition,
  durationMinutes,
  type EventTrigger,
  type Flow,
  flowSchema,
  isWaitForEvent,
  type Step,
} from './flow-schema.ts';
import { parseYamlWith, type SourceFile } from './yaml-source.ts';

// YAML in, Amazon States Language (JSONPath) and EventBridge patterns out. Pure and deterministic:
// the same files always give byte-identical output. ARNs are `${Placeholders}` that CDK fills through
// DefinitionSubstitutions and the local runtime fills with its own bindings.
//
// A flow compiles to one Express state machine that a journey runs through in segments: the first
// segment starts from the trigger; a wait parks the journey in DynamoDB and ends the execution; the
// sweeper (timeouts) or an arriving event starts a continuation, which `Dispatch` sends to the state
// after the wait. Continuations run on the revision the journey entered with.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const PLACEHOLDERS = {
  recordEvent: 'RecordEventFunctionArn',
  awardPoints: 'AwardPointsFunctionArn',
  sendEmail: 'SendEmailFunctionArn',
  journey: 'JourneyFunctionArn',
  eventBus: 'EventBusName',
  deadLetterQueue: 'DeadLetterQueueUrl',
} as const;
const ref = (name: (typeof PLACEHOLDERS)[keyof typeof PLACEHOLDERS]): string => `\${${name}}`;

/** Sources of the events Rapport itself publishes. */
export const SWEEPER_SOURCE = 'rapport.sweeper';
export const FLOW_SOURCE = 'rapport.flow';

export interface WorkflowSources {
  program: SourceFile;
  flows: SourceFile[];
  emails: SourceFile[];
}

export interface CompiledFlow {
  id: string;
  file: string;
  flow: Flow;
  /** A hash of everything that decides how this flow runs; journeys keep the revision they entered. */
  revision: string;
  definition: JsonObject;
  pattern: JsonObject;
}

/** What the scheduled sweeper must look for, derived from the flows' triggers. */
export interface SweepConfig {
  timeZone: string;
  inactivityDays: number[];
  dates: { field: string; at: string }[];
  schedules: {
    flowId: string;
    every: 'day' | 'week' | 'month';
    at: string;
    weekday?: string;
    dayOfMonth?: number;
    /** The flow's entry conditions: the broadcast sends triggers only to customers who meet them. */
    when?: Condition[];
  }[];
  /** The program, when points mature, expire, move tiers or are redeemed: accounts then come due. */
  program?: Program | undefined;
}

export interface CompiledProject {
  program: Program;
  templates: ReadonlyMap<string, EmailTemplate>;
  ingest: { definition: JsonObject; pattern: JsonObject };
  flows: CompiledFlow[];
  sweep: SweepConfig;
}

export const templateIdOf = (file: string): string => file.replace(/^.*\//, '').replace(/\.liquid$/, '');

/** Validates every file, cross-checks references, compiles; throws one ConfigError listing all problems. */
export const compileProject = (sources: WorkflowSources): CompiledProject => {
  const problems: ConfigProblem[] = [];

  const program = parseYamlWith(sources.program, programSchema);
  if (!program.ok) problems.push(...program.problems);
  if (program.ok && !isValidTimeZone(program.value.timeZone)) {
    problems.push({
      file: sources.program.file,
      path: 'timeZone',
      message: `${program.value.timeZone} is not an IANA time zone`,
    });
  }

  const templates = new Map<string, EmailTemplate>();
  for (const email of sources.emails) {
    const id = templateIdOf(email.file);
    try {
      templates.set(id, parseEmailTemplate(id, email.text));
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      problems.push({ file: email.file, line: error.line, path: error.field, message: error.message });
    }
  }

  const flows: { file: string; flow: Flow }[] = [];
  const seen = new Map<string, string>();
  for (const source of sources.flows) {
    const parsed = parseYamlWith(source, flowSchema);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const flow = parsed.value;
    const here = (path: string, message: string) => problems.push({ file: source.file, path, message });
    const other = seen.get(flow.id);
    if (other) here('id', `flow id "${flow.id}" is already used by ${other}`);
    seen.set(flow.id, source.file);
    checkFlowReferences(flow, templates, program.ok ? program.value : undefined, here);
    flows.push({ file: source.file, flow });
  }

  if (!program.ok || problems.length > 0) throw new ConfigError(problems);
  const active = flows.filter(({ flow }) => flow.status === 'active');
  return {
    program: program.value,
    templates,
    ingest: { definition: ingestDefinition(program.value), pattern: ingestPattern() },
    flows: active.map(({ file, flow }) => {
      const revision = revisionOf(flow, program.value, templates);
      return {
        id: flow.id,
        file,
        flow,
        revision,
        definition: flowDefinition(flow, revision, program.value, templates),
        pattern: flowPattern(flow),
      };
    }),
    sweep: sweepConfig(
      active.map((f) => f.flow),
      program.value,
    ),
  };
};

const checkFlowReferences = (
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

// ---- revisions and patterns -----------------------------------------------------------------

const hex = (n: number) => n.toString(16).padStart(8, '0');
/** 64 bits from two FNV-1a runs: enough to tell a flow's revisions apart. */
export const contentHash = (text: string): string =>
  `${hex(stableHash(text))}${hex(stableHash(`${text.length}:${text}`))}`;

const revisionOf = (flow: Flow, program: Program, templates: ReadonlyMap<string, EmailTemplate>): string => {
  const used = allSteps(flow.steps).flatMap((s) =>
    s.type === 'send_email' ? [templates.get(s.template) ?? null] : [],
  );
  return contentHash(
    JSON.stringify({ flow, used, earn: program.earn, sender: program.sender, topics: program.topics }),
  );
};

/**
 * Everything on the shop bus: Rapport's own events travel on the system bus, so the shop cannot speak
 * for it; what the shop sends that is not a commerce event is dead-lettered with its reason.
 */
export const ingestPattern = (): JsonObject => ({ source: [{ exists: true }] });

export const flowPattern = (flow: Flow): JsonObject => {
  const trigger = flow.trigger;
  if ('inactivity' in trigger) {
    return {
      source: [SWEEPER_SOURCE],
      'detail-type': ['customer.inactive'],
      detail: { days: [trigger.inactivity.days] },
    };
  }
  if ('date' in trigger) {
    return {
      source: [SWEEPER_SOURCE],
      'detail-type': ['customer.date'],
      detail: { field: [trigger.date.field], at: [trigger.date.at] },
    };
  }
  if ('schedule' in trigger) {
    return { source: [SWEEPER_SOURCE], 'detail-type': ['customer.scheduled'], detail: { flowId: [flow.id] } };
  }
  const loyalty = (LOYALTY_EVENT_TYPES as readonly string[]).includes(trigger.event);
  return {
    source: [loyalty ? LOYALTY_SOURCE : ACCEPTED_SOURCE],
    'detail-type': [trigger.event],
    ...(trigger.where ? { detail: trigger.where as JsonObject } : {}),
  };
};

/** What the sweeper must look for, for the flows that are deployed. */
export const sweepConfig = (flows: readonly Flow[], program: Program): SweepConfig => {
  const inactivity = new Set<number>();
  const dates = new Map<string, { field: string; at: string }>();
  const schedules: SweepConfig['schedules'] = [];
  for (const flow of flows) {
    const t = flow.trigger;
    if ('inactivity' in t) inactivity.add(t.inactivity.days);
    if ('date' in t) dates.set(`${t.date.field}@${t.date.at}`, { field: t.date.field, at: t.date.at });
    if ('schedule' in t) {
      schedules.push({
        flowId: flow.id,
        every: t.schedule.every,
        at: t.schedule.at,
        ...(t.schedule.weekday ? { weekday: t.schedule.weekday } : {}),
        ...(t.schedule.day_of_month ? { dayOfMonth: t.schedule.day_of_month } : {}),
        ...(flow.entry.when ? { when: flow.entry.when } : {}),
      });
    }
  }
  return {
    timeZone: program.timeZone,
    inactivityDays: [...inactivity].sort((a, b) => a - b),
    dates: [...dates.values()],
    schedules,
    ...(pointsComeDue(program) ? { program } : {}),
  };
};

export const pointsComeDue = (program: Program): boolean =>
  program.points.pendingDays > 0 ||
  program.points.expiry.afterDays !== undefined ||
  program.points.expiry.inactiveDays !== undefined ||
  program.tiers !== undefined ||
  program.rewards.length > 0;

/** What an award_points step gives: a named program award, or fixed points under the flow's name. */
const awardOf = (
  step: Extract<Step, { type: 'award_points' }>,
  program: Program,
  flowId: string,
): JsonObject => {
  const named = step.award ? program.awards[step.award] : undefined;
  if (named) return { points: named.points, rule: { id: named.id, version: named.version } };
  return { points: step.points ?? 0, rule: { id: `flow-${flowId}`, version: 1 } };
};

// ---- ASL building blocks --------------------------------------------------------------------

// Retries: our retryable errors and Lambda's own transient failures, with jittered backoff.
// A function that crashed or timed out may have written before it died: every task is idempotent
// (its writes are keyed), so it is retried too, and the retry finds what the crash left.
// Everything else is caught and dead-lettered with its cause, so no event is lost silently.
const RETRY: Json = [
  {
    ErrorEquals: [
      ...RETRYABLE_ERROR_NAMES,
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'Lambda.Unknown',
      'Runtime.ExitError',
      'Sandbox.Timedout',
      'States.Timeout',
    ],
    IntervalSeconds: 1,
    BackoffRate: 2,
    MaxAttempts: 4,
    MaxDelaySeconds: 8,
    JitterStrategy: 'FULL',
  },
];
const CATCH: Json = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' }];

const deadLetter = (stage: string, reasonPath: string): JsonObject => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::sqs:sendMessage',
  Parameters: {
    QueueUrl: ref(PLACEHOLDERS.deadLetterQueue),
    MessageBody: {
      stage,
      'reason.$': reasonPath,
      'event.$': '$$.Execution.Input',
      'execution.$': '$$.Execution.Id',
    },
  },
  ResultPath: null,
});

const task = (
  resource: string,
  parameters: JsonObject,
  resultPath: string | null,
  next: string,
): JsonObject => ({
  Type: 'Task',
  Resource: resource,
  Parameters: parameters,
  ResultPath: resultPath,
  Retry: RETRY,
  Catch: CATCH,
  Next: next,
});

/** The built-in machine every commerce event goes through before any flow sees it. */
export const ingestDefinition = (program: Program): JsonObject => ({
  Comment:
    'Rapport ingest: validate and record a commerce event, resolve journeys, then publish it to the flows',
  StartAt: 'Record',
  States: {
    Record: {
      Type: 'Task',
      Resource: ref(PLACEHOLDERS.recordEvent),
      Parameters: { 'event.$': '$', program: program as unknown as Json },
      // No ResultPath: the answer replaces the state (the default `$`), so the state holds the parsed
      // detail once, not the event twice (Step Functions' 256 KB). The event as it arrived stays in
      // the execution input, which the dead letters carry.
      Retry: RETRY,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' }],
      Next: 'Valid?',
    },
    'Valid?': {
      Type: 'Choice',
      // `ok` is always there; `publish` only on an accepted event (a missing path fails a Choice).
      Choices: [
        { Variable: '$.ok', BooleanEquals: false, Next: 'DeadLetterInvalid' },
        { Variable: '$.publish', BooleanEquals: true, Next: 'Publish' },
      ],
      Default: 'AlreadyPublished',
    },
    AlreadyPublished: {
      Type: 'Succeed',
      Comment: 'A fact re-sent under another envelope: recorded and published the first time',
    },
    Publish: {
      Type: 'Task',
      Resource: 'arn:aws:states:::events:putEvents',
      Parameters: {
        Entries: [
          {
            EventBusName: ref(PLACEHOLDERS.eventBus),
            Source: ACCEPTED_SOURCE,
            'DetailType.$': '$.detailType',
            'Detail.$': '$.detail',
          },
        ],
      },
      ResultPath: null,
      Retry: [
        {
          ErrorEquals: ['States.ALL'],
          IntervalSeconds: 1,
          BackoffRate: 2,
          MaxAttempts: 4,
          JitterStrategy: 'FULL',
        },
      ],
      // Recorded but not published: the dead letter is the event, and a redrive records nothing
      // twice (a duplicate of the same envelope is published again).
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterUnpublished' }],
      End: true,
    },
    DeadLetterInvalid: { ...deadLetter('ingest', '$.reason'), Next: 'Rejected' },
    Rejected: {
      Type: 'Succeed',
      Comment: 'Invalid events are kept in the dead-letter queue with their reason',
    },
    DeadLetterFailed: { ...deadLetter('ingest', '$.error.Cause'), Next: 'Failed' },
    Failed: {
      Type: 'Fail',
      Error: 'IngestFailed',
      Cause: 'Recording failed after retries; the event is in the dead-letter queue',
    },
    DeadLetterUnpublished: { ...deadLetter('publish', '$.error.Cause'), Next: 'Unpublished' },
    Unpublished: {
      Type: 'Fail',
      Error: 'PublishFailed',
      Cause:
        'Recorded, but publishing to the flows failed after retries; the event is in the dead-letter queue',
    },
  },
});

// ---- conditions -----------------------------------------------------------------------------

/** A field as a JSONPath into the execution's state: the profile or the trigger event. */
const variableOf = (field: string): string =>
  field.startsWith('profile.') ? `$.journey.profile.${field.slice(8)}` : `$.trigger.${field.slice(6)}`;

const escapeMatch = (text: string) => text.replace(/\\/g, '\\\\').replace(/\*/g, '\\*');

/**
 * One condition as a Choice rule. Step Functions fails an execution that compares a missing or
 * mistyped field, so every comparison is guarded by a presence and type test.
 */
export const conditionRule = (condition: Condition): JsonObject => {
  if ('tag' in condition) return { Variable: `$.journey.profile.tags.${condition.tag}`, IsPresent: true };
  if ('not_tag' in condition)
    return { Not: { Variable: `$.journey.profile.tags.${condition.not_tag}`, IsPresent: true } };
  const Variable = variableOf(condition.field);
  const present: JsonObject = { Variable, IsPresent: true };
  const typed = (value: string | number | boolean): [JsonObject, JsonObject] =>
    typeof value === 'number'
      ? [
          { Variable, IsNumeric: true },
          { Variable, NumericEquals: value },
        ]
      : typeof value === 'boolean'
        ? [
            { Variable, IsBoolean: true },
            { Variable, BooleanEquals: value },
          ]
        : [
            { Variable, IsString: true },
            { Variable, StringEquals: value },
          ];
  const numeric = (operator: string, value: number): JsonObject => ({
    And: [present, { Variable, IsNumeric: true }, { Variable, [operator]: value }],
  });
  if ('equals' in condition) return { And: [present, ...typed(condition.equals)] };
  if ('not_equals' in condition) {
    const [isType, equals] = typed(condition.not_equals);
    return { Not: { And: [present, isType, equals] } };
  }
  if ('gt' in condition) return numeric('NumericGreaterThan', condition.gt);
  if ('gte' in condition) return numeric('NumericGreaterThanEquals', condition.gte);
  if ('lt' in condition) return numeric('NumericLessThan', condition.lt);
  if ('lte' in condition) return numeric('NumericLessThanEquals', condition.lte);
  if ('starts_with' in condition) {
    return {
      And: [
        present,
        { Variable, IsString: true },
        { Variable, StringMatches: `${escapeMatch(condition.starts_with)}*` },
      ],
    };
  }
  return condition.exists ? present : { Not: present };
};

const allOf = (conditions: readonly Condition[]): JsonObject =>
  conditions.length === 1 ? conditionRule(conditions[0]!) : { And: conditions.map(conditionRule) };

// ---- flows ----------------------------------------------------------------------------------

interface Built {
  states: JsonObject;
  /** States a continuation may start at, for Dispatch. */
  resumeTargets: Set<string>;
}

const listenOf = (trigger: EventTrigger): JsonObject => ({
  event: trigger.event,
  ...(trigger.where ? { where: trigger.where as JsonObject } : {}),
});

class FlowCompiler {
  readonly built: Built = { states: {}, resumeTargets: new Set() };

  constructor(
    private readonly flow: Flow,
    private readonly revision: string,
    private readonly program: Program,
    private readonly templates: ReadonlyMap<string, EmailTemplate>,
  ) {}

  private ids(): JsonObject {
    return {
      'customerId.$': '$.journey.customerId',
      'journeyId.$': '$.journey.journeyId',
      flowId: this.flow.id,
      revision: this.revision,
    };
  }

  private journeyTask(
    action: string,
    extra: JsonObject,
    resultPath: string | null,
    next: string,
  ): JsonObject {
    return task(ref(PLACEHOLDERS.journey), { action, ...this.ids(), ...extra }, resultPath, next);
  }

  /** Compiles a list of steps that continues at `next` when it ends; returns its first state. */
  steps(list: readonly Step[], next: string): string {
    list.forEach((step, index) => {
      this.step(step, list[index + 1]?.id ?? next);
    });
    return list[0]?.id ?? next;
  }

  private wait(step: Step & { type: 'wait' }, targets: JsonObject, extra: JsonObject): void {
    this.built.states[step.id] = this.journeyTask(
      'wait',
      {
        stepId: step.id,
        targets,
        ...extra,
        context: { 'trigger.$': '$.trigger', 'steps.$': '$.steps' },
      },
      `$.steps.${step.id}`,
      `${step.id}:parked`,
    );
    this.built.states[`${step.id}:parked`] = {
      Type: 'Succeed',
      Comment: 'The journey waits in DynamoDB; the sweeper or an event starts its continuation',
    };
    for (const target of Object.values(targets))
      if (typeof target === 'string') this.built.resumeTargets.add(target);
  }

  private step(step: Step, next: string): void {
    const states = this.built.states;
    switch (step.type) {
      case 'award_points':
        states[step.id] = task(
          ref(PLACEHOLDERS.awardPoints),
          {
            ...this.ids(),
            stepId: step.id,
            'eventId.$': '$.journey.journeyId',
            ...(awardOf(step, this.program, this.flow.id) as JsonObject),
            program: this.program as unknown as Json,
          },
          `$.steps.${step.id}`,
          next,
        );
        return;
      case 'send_email': {
        const template = this.templates.get(step.template);
        if (!template)
          throw new ConfigError([{ file: this.flow.id, path: step.id, message: 'unknown template' }]);
        const topic = this.program.topics.find((t) => t.id === step.topic);
        states[step.id] = task(
          ref(PLACEHOLDERS.sendEmail),
          {
            'customerId.$': '$.journey.customerId',
            flowId: this.flow.id,
            stepId: step.id,
            'eventId.$': '$.journey.journeyId',
            template: { id: template.id, subject: template.subject, html: template.html },
            ...(topic ? { topic: { id: topic.id, transactional: topic.transactional } } : {}),
            sender: this.program.sender as unknown as Json,
            currency: this.program.currency,
            context: { 'event.$': '$.trigger', 'steps.$': '$.steps' },
          },
          `$.steps.${step.id}`,
          next,
        );
        return;
      }
      case 'wait':
        if (isWaitForEvent(step)) {
          const onEvent = this.steps(step.on_event ?? [], next);
          const onTimeout = this.steps(step.on_timeout ?? [], next);
          this.wait(
            step,
            { event: onEvent, timeout: onTimeout },
            {
              due: { minutes: durationMinutes(step.timeout) },
              listen: listenOf(step.for_event as EventTrigger),
            },
          );
        } else if ('duration' in step) {
          this.wait(step, { elapsed: next }, { due: { minutes: durationMinutes(step.duration) } });
        } else {
          this.wait(
            step,
            { elapsed: next },
            {
              due: {
                until: {
                  time: step.until.time,
                  ...(step.until.weekdays ? { weekdays: step.until.weekdays } : {}),
                },
              },
            },
          );
        }
        return;
      case 'branch':
        states[step.id] = {
          Type: 'Choice',
          Choices: step.if.map((c) => ({ ...allOf(c.when), Next: this.steps(c.steps, next) })),
          Default: this.steps(step.else ?? [], next),
        };
        return;
      case 'split': {
        let upTo = 0;
        const choices = step.paths.map((path) => {
          upTo += path.percent;
          const target = path.holdout ? this.holdout(step.id, path.name) : this.steps(path.steps ?? [], next);
          return { Variable: `$.journey.buckets.${step.id}`, NumericLessThan: upTo, Next: target };
        });
        states[step.id] = {
          Type: 'Choice',
          Choices: choices.slice(0, -1),
          Default: choices.at(-1)?.Next ?? next,
        };
        return;
      }
      case 'update_profile':
        states[step.id] = this.journeyTask(
          'update_profile',
          {
            stepId: step.id,
            ...(step.set ? { set: step.set } : {}),
            ...(step.add_tags ? { addTags: step.add_tags } : {}),
            ...(step.remove_tags ? { removeTags: step.remove_tags } : {}),
          },
          `$.steps.${step.id}`,
          next,
        );
        return;
      case 'issue_coupon':
        states[step.id] = this.journeyTask(
          'issue_coupon',
          {
            stepId: step.id,
            discount: step.discount as JsonObject,
            validMinutes: durationMinutes(step.valid),
            prefix: step.prefix,
          },
          `$.steps.${step.id}`,
          next,
        );
        return;
      case 'emit_event':
        states[step.id] = task(
          'arn:aws:states:::events:putEvents',
          {
            Entries: [
              {
                EventBusName: ref(PLACEHOLDERS.eventBus),
                Source: FLOW_SOURCE,
                DetailType: step.event,
                Detail: {
                  'customerId.$': '$.journey.customerId',
                  'journeyId.$': '$.journey.journeyId',
                  flowId: this.flow.id,
                  stepId: step.id,
                  data: (step.data ?? {}) as JsonObject,
                  meta: { 'eventId.$': `States.Format('{}:${step.id}', $.journey.journeyId)` },
                },
              },
            ],
          },
          null,
          next,
        );
        return;
      case 'exit':
        states[step.id] = this.journeyTask('end', { status: 'exited' }, null, 'Exited');
        return;
    }
  }

  private holdout(stepId: string, path: string): string {
    const name = `${stepId}:${path}`;
    this.built.states[name] = this.journeyTask('end', { status: 'holdout' }, null, 'HeldOut');
    return name;
  }
}

export const flowDefinition = (
  flow: Flow,
  revision: string,
  program: Program,
  templates: ReadonlyMap<string, EmailTemplate>,
): JsonObject => {
  const compiler = new FlowCompiler(flow, revision, program, templates);
  const first = compiler.steps(flow.steps, 'Complete');
  const { states: stepStates, resumeTargets } = compiler.built;
  const splits = allSteps(flow.steps)
    .filter((s) => s.type === 'split')
    .map((s) => s.id);
  const entry = flow.entry;
  const ids = { flowId: flow.id, revision };
  const journeyArn = ref(PLACEHOLDERS.journey);

  // A flow that never waits, measures no goal, has no exits, cap, splits or re-entry limit needs no
  // journey record: each step's idempotency key (trigger event + step) already makes it exactly-once.
  const steps = allSteps(flow.steps);
  const tracked =
    steps.some((s) => s.type === 'wait' || s.type === 'split' || s.type === 'exit') ||
    flow.goal !== undefined ||
    (flow.exit_on ?? []).length > 0 ||
    entry.cap !== undefined ||
    entry.reentry !== 'always';
  const needsProfile = entry.when !== undefined || steps.some((s) => s.type === 'branch');
  const afterNormalize = tracked || needsProfile ? 'LoadProfile' : first;
  const afterProfile = entry.when ? 'Eligible?' : tracked ? 'Enter' : first;
  const eligibleNext = tracked ? 'Enter' : first;

  const states: JsonObject = {
    Start: tracked
      ? {
          Type: 'Choice',
          Choices: [{ Variable: '$.resume', IsPresent: true, Next: 'Resume' }],
          Default: 'Normalize',
        }
      : { Type: 'Pass', Comment: 'Untracked: no waits, so no continuations', Next: 'Normalize' },
    Normalize: {
      Type: 'Pass',
      Comment: 'A trigger event: its detail is the trigger; its id names the journey',
      Parameters: {
        'trigger.$': '$.detail',
        steps: {},
        journey: { 'customerId.$': '$.detail.customerId', 'journeyId.$': '$.detail.meta.eventId' },
      },
      Next: afterNormalize,
    },
    LoadProfile: task(
      journeyArn,
      { action: 'profile', 'customerId.$': '$.journey.customerId', ...ids },
      '$.journey.profile',
      afterProfile,
    ),
    ...(entry.when
      ? {
          'Eligible?': {
            Type: 'Choice',
            Choices: [{ ...allOf(entry.when), Next: eligibleNext }],
            Default: 'NotEligible',
          },
        }
      : {}),
    NotEligible: { Type: 'Succeed', Comment: 'The profile does not meet the entry conditions' },
    Enter: task(
      journeyArn,
      {
        action: 'enter',
        'customerId.$': '$.journey.customerId',
        'journeyId.$': '$.journey.journeyId',
        'profile.$': '$.journey.profile',
        ...ids,
        reentry: entry.reentry as Json,
        ...(entry.cap ? { cap: entry.cap } : {}),
        exitOn: (flow.exit_on ?? []).map(listenOf),
        ...(flow.goal
          ? {
              goal: {
                ...listenOf(flow.goal as EventTrigger),
                withinMinutes: durationMinutes(flow.goal.within),
              },
            }
          : {}),
        splits,
      },
      '$.journey',
      'Entered?',
    ),
    'Entered?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.journey.entered', BooleanEquals: true, Next: first }],
      Default: 'NotEntered',
    },
    NotEntered: { Type: 'Succeed', Comment: 'Re-entry rules or the cap kept the customer out' },
    Resume: task(
      journeyArn,
      {
        action: 'resume',
        'customerId.$': '$.journey.customerId',
        'journeyId.$': '$.journey.journeyId',
        ...ids,
      },
      '$.journey',
      'Active?',
    ),
    'Active?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.journey.entered', BooleanEquals: true, Next: 'Dispatch' }],
      Default: 'NotActive',
    },
    NotActive: { Type: 'Succeed', Comment: 'The journey ended (an exit event) while it waited' },
    Dispatch: {
      Type: 'Choice',
      Choices: [...resumeTargets]
        .filter((target) => target !== 'Complete')
        .sort()
        .map((target) => ({ Variable: '$.resume.target', StringEquals: target, Next: target })),
      Default: 'Complete',
    },
    ...stepStates,
    Complete: tracked
      ? task(
          journeyArn,
          {
            action: 'end',
            status: 'completed',
            'customerId.$': '$.journey.customerId',
            'journeyId.$': '$.journey.journeyId',
            ...ids,
          },
          null,
          'Done',
        )
      : { Type: 'Pass', Next: 'Done' },
    Done: { Type: 'Succeed' },
    Exited: { Type: 'Succeed', Comment: 'An exit step ended the journey' },
    HeldOut: {
      Type: 'Succeed',
      Comment: 'A holdout receives nothing; the journey is kept to measure the goal',
    },
    DeadLetterFailed: { ...deadLetter(`flow:${flow.id}`, '$.error.Cause'), Next: 'Failed' },
    Failed: {
      Type: 'Fail',
      Error: 'FlowStepFailed',
      Cause: 'A step failed after retries; see the dead-letter queue',
    },
  };
  // A Choice with no rules is invalid ASL: without waits there is nothing to dispatch to.
  const dispatch = states.Dispatch as { Choices: Json[] };
  if (dispatch.Choices.length === 0) {
    states.Dispatch = { Type: 'Pass', Next: 'Complete' };
  }
  return {
    Comment: `Rapport flow ${flow.id} revision ${revision}: ${flow.name}`,
    StartAt: 'Start',
    States: reachable(states, 'Start'),
  };
};

/** Step Functions refuses unreachable states: keep only those a path leads to, in their order. */
const reachable = (states: JsonObject, start: string): JsonObject => {
  const seen = new Set<string>();
  const visit = (name: string | undefined) => {
    if (!name || seen.has(name) || !(name in states)) return;
    seen.add(name);
    const state = states[name] as {
      Next?: string;
      Default?: string;
      Choices?: { Next: string }[];
      Catch?: { Next: string }[];
    };
    visit(state.Next);
    visit(state.Default);
    for (const rule of [...(state.Choices ?? []), ...(state.Catch ?? [])]) visit(rule.Next);
  };
  visit(start);
  return Object.fromEntries(Object.entries(states).filter(([name]) => seen.has(name)));
};
