import { FLOW_SOURCE, flowEventSchema } from '../contracts/published-events.ts';
import { awardPointsInputSchema, journeyActionSchemas, sendEmailInputSchema } from '../contracts/tasks.ts';
import { ConfigError } from '../errors.ts';
import type { Program } from '../program.ts';
import type { EmailTemplate } from '../templates.ts';
import { deadLetter, type Json, type JsonObject, PLACEHOLDERS, reachable, ref, task } from './asl.ts';
import { allOf } from './conditions.ts';
import { allSteps, durationMinutes, type Flow, isWaitForEvent, type Step } from './flow-schema.ts';
import { constant, fields, fromPath, parametersFor } from './task-parameters.ts';

// A flow compiles to one Express state machine that a journey runs through in segments: the first
// segment starts from the trigger; a wait parks the journey in DynamoDB and ends the execution; the
// sweeper (timeouts) or an arriving event starts a continuation, which `Dispatch` sends to the state
// after the wait. Continuations run on the revision the journey entered with.

/** What an award_points step gives: a named program award, or fixed points under the flow's name. */
const awardOf = (
  step: Extract<Step, { type: 'award_points' }>,
  program: Program,
  flowId: string,
): { points: number; rule: { id: string; version: number } } => {
  const named = step.award ? program.awards[step.award] : undefined;
  if (named) return { points: named.points, rule: { id: named.id, version: named.version } };
  return { points: step.points ?? 0, rule: { id: `flow-${flowId}`, version: 1 } };
};

interface Built {
  states: JsonObject;
  /** States a continuation may start at, for Dispatch. */
  resumeTargets: Set<string>;
}

/** The journey a task acts on: from the execution's state, on this flow's revision. */
const journeyIds = (flowId: string, revision: string) => ({
  customerId: fromPath('$.journey.customerId'),
  journeyId: fromPath('$.journey.journeyId'),
  flowId: constant(flowId),
  revision: constant(revision),
});

const endParameters = (flowId: string, revision: string, status: 'completed' | 'exited' | 'holdout') =>
  parametersFor('journey.end', journeyActionSchemas.end, {
    action: constant('end'),
    ...journeyIds(flowId, revision),
    status: constant(status),
  });

const listenOf = (trigger: { event: string; where?: Record<string, unknown> | undefined }): JsonObject => ({
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

  private ids() {
    return journeyIds(this.flow.id, this.revision);
  }

  private journeyTask(parameters: JsonObject, resultPath: string | null, next: string): JsonObject {
    return task(ref(PLACEHOLDERS.journey), parameters, resultPath, next);
  }

  /** Compiles a list of steps that continues at `next` when it ends; returns its first state. */
  steps(list: readonly Step[], next: string): string {
    list.forEach((step, index) => {
      this.step(step, list[index + 1]?.id ?? next);
    });
    return list[0]?.id ?? next;
  }

  private wait(
    step: Step & { type: 'wait' },
    targets: Record<string, string>,
    wait: { due: JsonObject; listen?: JsonObject },
  ): void {
    this.built.states[step.id] = this.journeyTask(
      parametersFor('journey.wait', journeyActionSchemas.wait, {
        action: constant('wait'),
        ...this.ids(),
        stepId: constant(step.id),
        targets: constant(targets),
        due: constant(wait.due),
        listen: constant(wait.listen),
        context: fields({ trigger: fromPath('$.trigger'), steps: fromPath('$.steps') }),
      }),
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
      case 'award_points': {
        const award = awardOf(step, this.program, this.flow.id);
        states[step.id] = task(
          ref(PLACEHOLDERS.awardPoints),
          parametersFor('award_points', awardPointsInputSchema, {
            ...this.ids(),
            stepId: constant(step.id),
            eventId: fromPath('$.journey.journeyId'),
            points: constant(award.points),
            rule: constant(award.rule),
            program: constant(this.program),
          }),
          `$.steps.${step.id}`,
          next,
        );
        return;
      }
      case 'send_email': {
        const template = this.templates.get(step.template);
        if (!template)
          throw new ConfigError([{ file: this.flow.id, path: step.id, message: 'unknown template' }]);
        const topic = this.program.topics.find((t) => t.id === step.topic);
        states[step.id] = task(
          ref(PLACEHOLDERS.sendEmail),
          parametersFor('send_email', sendEmailInputSchema, {
            customerId: fromPath('$.journey.customerId'),
            flowId: constant(this.flow.id),
            stepId: constant(step.id),
            eventId: fromPath('$.journey.journeyId'),
            template: constant({
              id: template.id,
              subject: template.subject,
              html: template.html,
              ...(template.text === undefined ? {} : { text: template.text }),
            }),
            topic: topic ? constant({ id: topic.id, transactional: topic.transactional }) : undefined,
            sender: constant(this.program.sender),
            currency: constant(this.program.currency),
            context: fields({ event: fromPath('$.trigger'), steps: fromPath('$.steps') }),
          }),
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
              listen: listenOf(step.for_event),
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
          parametersFor('journey.update_profile', journeyActionSchemas.update_profile, {
            action: constant('update_profile'),
            ...this.ids(),
            stepId: constant(step.id),
            set: constant(step.set),
            addTags: constant(step.add_tags),
            removeTags: constant(step.remove_tags),
          }),
          `$.steps.${step.id}`,
          next,
        );
        return;
      case 'issue_coupon':
        states[step.id] = this.journeyTask(
          parametersFor('journey.issue_coupon', journeyActionSchemas.issue_coupon, {
            action: constant('issue_coupon'),
            ...this.ids(),
            stepId: constant(step.id),
            discount: constant(step.discount),
            validMinutes: constant(durationMinutes(step.valid)),
            prefix: constant(step.prefix),
          }),
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
                Detail: parametersFor('emit_event', flowEventSchema, {
                  customerId: fromPath('$.journey.customerId'),
                  journeyId: fromPath('$.journey.journeyId'),
                  flowId: constant(this.flow.id),
                  stepId: constant(step.id),
                  data: constant(step.data ?? {}),
                  meta: fields({ eventId: fromPath(`States.Format('{}:${step.id}', $.journey.journeyId)`) }),
                }),
              },
            ],
          },
          null,
          next,
        );
        return;
      case 'exit':
        states[step.id] = this.journeyTask(
          endParameters(this.flow.id, this.revision, 'exited'),
          null,
          'Exited',
        );
        return;
    }
  }

  private holdout(stepId: string, path: string): string {
    const name = `${stepId}:${path}`;
    this.built.states[name] = this.journeyTask(
      endParameters(this.flow.id, this.revision, 'holdout'),
      null,
      'HeldOut',
    );
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
      parametersFor('journey.profile', journeyActionSchemas.profile, {
        action: constant('profile'),
        customerId: fromPath('$.journey.customerId'),
        flowId: constant(flow.id),
        revision: constant(revision),
      }),
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
      parametersFor('journey.enter', journeyActionSchemas.enter, {
        action: constant('enter'),
        ...journeyIds(flow.id, revision),
        profile: fromPath('$.journey.profile'),
        reentry: constant(entry.reentry),
        cap: constant(entry.cap),
        exitOn: constant((flow.exit_on ?? []).map(listenOf)),
        goal: constant(
          flow.goal
            ? { ...listenOf(flow.goal), withinMinutes: durationMinutes(flow.goal.within) }
            : undefined,
        ),
        splits: constant(splits),
      }),
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
      parametersFor('journey.resume', journeyActionSchemas.resume, {
        action: constant('resume'),
        ...journeyIds(flow.id, revision),
      }),
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
      ? task(journeyArn, endParameters(flow.id, revision, 'completed'), null, 'Done')
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
