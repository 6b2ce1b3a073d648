import { RETRYABLE_ERROR_NAMES } from '../errors.ts';

// The Amazon States Language (JSONPath) pieces every machine is built from: ARNs as `${Placeholders}`
// that CDK fills through DefinitionSubstitutions and the local runtime fills with its own bindings.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const PLACEHOLDERS = {
  recordEvent: 'RecordEventFunctionArn',
  awardPoints: 'AwardPointsFunctionArn',
  sendEmail: 'SendEmailFunctionArn',
  journey: 'JourneyFunctionArn',
  eventBus: 'EventBusName',
  /** The shop's bus: where events that waited for their order are put again. */
  shopBus: 'ShopBusName',
  deadLetterQueue: 'DeadLetterQueueUrl',
} as const;
export const ref = (name: (typeof PLACEHOLDERS)[keyof typeof PLACEHOLDERS]): string => `\${${name}}`;

// Retries: our retryable errors and Lambda's own transient failures, with jittered backoff.
// A function that crashed or timed out may have written before it died: every task is idempotent
// (its writes are keyed), so it is retried too, and the retry finds what the crash left.
// Everything else is caught and dead-lettered with its cause, so no event is lost silently.
export const RETRY: Json = [
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
export const CATCH: Json = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' }];

export const deadLetter = (stage: string, reasonPath: string): JsonObject => ({
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

export const task = (
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

/** Step Functions refuses unreachable states: keep only those a path leads to, in their order. */
export const reachable = (states: JsonObject, start: string): JsonObject => {
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
