import { buildApp, STACK_NAME } from '#infra/app.ts';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalNames,
  type LocalStack,
  readLocalStack,
} from '../template.ts';

// The stack as CDK synthesizes it (without bundling: the local runtime runs the handlers from
// source), read into what the local runtime binds.

export const LOCAL_NAMES: LocalNames = {
  tableName: 'rapport-local',
  eventBusName: 'rapport-local',
  systemBusName: 'rapport-local-system',
  deadLetterQueueUrl: `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/rapport-local-dead-letters`,
};

export const synthLocalStack = (
  names: LocalNames,
  options: {
    workflowsDir?: string | undefined;
    onlyFlows?: string[] | undefined;
    shopifyEventSource?: string | undefined;
  },
): LocalStack => {
  const { app, project } = buildApp({
    bundle: false,
    workflowsDir: options.workflowsDir,
    onlyFlows: options.onlyFlows,
    shopifyEventSource: options.shopifyEventSource,
  });
  const stack = readLocalStack(app.synth().getStackByName(STACK_NAME).template, names);
  // What the bundle would carry, handed over as the environment (in process: no 4 KB limit).
  for (const fn of stack.functions)
    if (fn.carriesProgram) fn.environment.RAPPORT_PROGRAM = JSON.stringify(project.program);
  return stack;
};

/** Whether anything runs on the clock: a scheduled sweep with work, or a flow that waits. */
export const usesTimers = (stack: LocalStack): boolean =>
  stack.rules.some((rule) => {
    const input = rule.targets[0]?.input as Record<string, unknown> | undefined;
    return (
      rule.schedule &&
      input &&
      (input.program !== undefined || Object.values(input).some((v) => Array.isArray(v) && v.length > 0))
    );
  }) || stack.machines.some((m) => JSON.stringify(m.definition).includes('"action":"wait"'));
