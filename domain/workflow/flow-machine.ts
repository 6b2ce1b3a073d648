import { FLOW_SOURCE } from '../contracts/published-events.ts';
import { ConfigError } from '../errors.ts';
import type { Program } from '../program.ts';
import type { EmailTemplate } from '../templates.ts';
import { deadLetter, type Json, type JsonObject, PLACEHOLDERS, reachable, ref, task } from './asl.ts';
import { allOf } from './conditions.ts';
import {
  allSteps,
  durationMinutes,
  type EventTrigger,
  type Flow,
  isWaitForEvent,
  type Step,
} from './flow-schema.ts';

// A flow compiles to one Express state machine that a journey runs through in segments: the first
// segment starts from the trigger; a wait parks the journey in DynamoDB and ends the execution; the
// sweeper (timeouts) or an arriving event starts a continuation, which `Dispatch` sends to the state
// after the wait. Continuations run on the revision the journey entered with.

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
