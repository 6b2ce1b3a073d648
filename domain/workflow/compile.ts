import { ConfigError, type ConfigProblem, RETRYABLE_ERROR_NAMES } from '../errors.ts';
import { validateEventPattern } from '../event-pattern.ts';
import { ACCEPTED_SOURCE, EVENT_TYPES } from '../events.ts';
import { type Program, programSchema } from '../program.ts';
import { type EmailTemplate, parseEmailTemplate, TemplateSyntaxError } from '../templates.ts';
import { type Flow, flowSchema, type Step } from './flow-schema.ts';
import { parseYamlWith, type SourceFile } from './yaml-source.ts';

// YAML in, Amazon States Language (JSONPath) and EventBridge patterns out. Pure and deterministic:
// the same files always give byte-identical output. ARNs are `${Placeholders}` that CDK fills through
// DefinitionSubstitutions and the local runtime fills with its own bindings.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const PLACEHOLDERS = {
  recordEvent: 'RecordEventFunctionArn',
  awardPoints: 'AwardPointsFunctionArn',
  sendEmail: 'SendEmailFunctionArn',
  eventBus: 'EventBusName',
  deadLetterQueue: 'DeadLetterQueueUrl',
} as const;
const ref = (name: (typeof PLACEHOLDERS)[keyof typeof PLACEHOLDERS]): string => `\${${name}}`;

export interface WorkflowSources {
  program: SourceFile;
  flows: SourceFile[];
  emails: SourceFile[];
}

export interface CompiledFlow {
  id: string;
  file: string;
  flow: Flow;
  definition: JsonObject;
  pattern: JsonObject;
}

export interface CompiledProject {
  program: Program;
  templates: ReadonlyMap<string, EmailTemplate>;
  ingest: { definition: JsonObject; pattern: JsonObject };
  flows: CompiledFlow[];
}

export const templateIdOf = (file: string): string => file.replace(/^.*\//, '').replace(/\.liquid$/, '');

/** Validates every file, cross-checks references, compiles; throws one ConfigError listing all problems. */
export const compileProject = (sources: WorkflowSources): CompiledProject => {
  const problems: ConfigProblem[] = [];

  const program = parseYamlWith(sources.program, programSchema);
  if (!program.ok) problems.push(...program.problems);

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
    checkFlowReferences(flow, templates, here);
    flows.push({ file: source.file, flow });
  }

  if (!program.ok || problems.length > 0) throw new ConfigError(problems);
  return {
    program: program.value,
    templates,
    ingest: { definition: ingestDefinition(program.value), pattern: ingestPattern() },
    flows: flows
      .filter(({ flow }) => flow.status === 'active')
      .map(({ file, flow }) => ({
        id: flow.id,
        file,
        flow,
        definition: flowDefinition(flow, program.value, templates),
        pattern: flowPattern(flow),
      })),
  };
};

const checkFlowReferences = (
  flow: Flow,
  templates: ReadonlyMap<string, EmailTemplate>,
  problem: (path: string, message: string) => void,
): void => {
  const ids = new Set<string>();
  flow.steps.forEach((step, index) => {
    const at = `steps[${index}]`;
    if (ids.has(step.id)) problem(`${at}.id`, `step id "${step.id}" is used twice in this flow`);
    ids.add(step.id);
    if (step.type === 'send_email' && !templates.has(step.template)) {
      const known = [...templates.keys()].join(', ') || 'none';
      problem(`${at}.template`, `no template workflows/emails/${step.template}.liquid (templates: ${known})`);
    }
    if (step.type === 'award_points' && flow.trigger.event !== 'order.placed') {
      problem(`${at}.for`, `"for: order" needs a flow triggered by order.placed, not ${flow.trigger.event}`);
    }
  });
  if (flow.trigger.where) {
    for (const error of validateEventPattern({ detail: flow.trigger.where })) problem('trigger.where', error);
  }
};

// Retries: our retryable errors and Lambda's own transient failures, with jittered backoff.
// Everything else is caught and dead-lettered with its cause, so no event is lost silently.
const RETRY: Json = [
  {
    ErrorEquals: [
      ...RETRYABLE_ERROR_NAMES,
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    IntervalSeconds: 1,
    BackoffRate: 2,
    MaxAttempts: 4,
    MaxDelaySeconds: 8,
    JitterStrategy: 'FULL',
  },
];

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

export const ingestPattern = (): JsonObject => ({
  source: [{ 'anything-but': { prefix: 'rapport.' } }],
  'detail-type': [...EVENT_TYPES],
});

/** The built-in machine every commerce event goes through before any flow sees it. */
export const ingestDefinition = (program: Program): JsonObject => ({
  Comment: 'Rapport ingest: validate and record a commerce event, then publish it to the flows',
  StartAt: 'Record',
  States: {
    Record: {
      Type: 'Task',
      Resource: ref(PLACEHOLDERS.recordEvent),
      Parameters: { 'event.$': '$', program: program as unknown as Json },
      ResultPath: '$.record',
      Retry: RETRY,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' }],
      Next: 'Valid?',
    },
    'Valid?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.record.ok', BooleanEquals: true, Next: 'Publish' }],
      Default: 'DeadLetterInvalid',
    },
    Publish: {
      Type: 'Task',
      Resource: 'arn:aws:states:::events:putEvents',
      Parameters: {
        Entries: [
          {
            EventBusName: ref(PLACEHOLDERS.eventBus),
            Source: ACCEPTED_SOURCE,
            'DetailType.$': '$.detail-type',
            'Detail.$': '$.record.detail',
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
      End: true,
    },
    DeadLetterInvalid: { ...deadLetter('ingest', '$.record.reason'), Next: 'Rejected' },
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
  },
});

export const flowPattern = (flow: Flow): JsonObject => ({
  source: [ACCEPTED_SOURCE],
  'detail-type': [flow.trigger.event],
  ...(flow.trigger.where ? { detail: flow.trigger.where as JsonObject } : {}),
});

const stepState = (
  flow: Flow,
  step: Step,
  program: Program,
  templates: ReadonlyMap<string, EmailTemplate>,
): JsonObject => {
  const common = {
    'customerId.$': '$.detail.customerId',
    'eventId.$': '$.detail.meta.eventId',
    flowId: flow.id,
    stepId: step.id,
  };
  switch (step.type) {
    case 'award_points':
      return {
        Type: 'Task',
        Resource: ref(PLACEHOLDERS.awardPoints),
        Parameters: { ...common, 'orderId.$': '$.detail.orderId', rule: program.earn as unknown as Json },
        ResultPath: `$.steps.${step.id}`,
        Retry: RETRY,
      };
    case 'send_email': {
      const template = templates.get(step.template);
      if (!template) throw new ConfigError([{ file: flow.id, path: step.id, message: 'unknown template' }]);
      return {
        Type: 'Task',
        Resource: ref(PLACEHOLDERS.sendEmail),
        Parameters: {
          ...common,
          template: { id: template.id, subject: template.subject, html: template.html },
          sender: program.sender as unknown as Json,
          currency: program.currency,
          context: { 'event.$': '$.detail', 'steps.$': '$.steps' },
        },
        ResultPath: `$.steps.${step.id}`,
        Retry: RETRY,
      };
    }
  }
};

export const flowDefinition = (
  flow: Flow,
  program: Program,
  templates: ReadonlyMap<string, EmailTemplate>,
): JsonObject => {
  const states: JsonObject = {
    Start: { Type: 'Pass', Result: {}, ResultPath: '$.steps', Next: flow.steps[0]?.id ?? 'Done' },
  };
  flow.steps.forEach((step, index) => {
    const next = flow.steps[index + 1]?.id ?? 'Done';
    states[step.id] = {
      ...stepState(flow, step, program, templates),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' }],
      Next: next,
    };
  });
  states.Done = { Type: 'Succeed' };
  states.DeadLetterFailed = { ...deadLetter(`flow:${flow.id}`, '$.error.Cause'), Next: 'Failed' };
  states.Failed = {
    Type: 'Fail',
    Error: 'FlowStepFailed',
    Cause: 'A step failed after retries; see the dead-letter queue',
  };
  return {
    Comment: `Rapport flow ${flow.id} (v${flow.version}): ${flow.name}`,
    StartAt: 'Start',
    States: states,
  };
};
