import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import * as z from 'zod';
import { RELEASE_WAIT } from '#domain/workflow/ingest-machine.ts';
import type { LocalMachine, LocalStack } from '../template.ts';

// Every state machine of the template in aws-local-stepfunctions, each Task state bound to a local
// function or service integration, and one execution run as Step Functions runs it (with its
// 256 KB state limit, which the library does not enforce).

export type Invoke = (input: unknown) => Promise<unknown>;

/** Step Functions' limit on a state's input or output and an execution's input. */
export const STATE_LIMIT_BYTES = 256 * 1024;

export interface ExecutionRecord {
  machine: string;
  executionArn: string;
  input: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string | undefined;
  /** The failed execution's error name (a Fail state's `Error`: IngestFailed), as DescribeExecution gives it. */
  errorName?: string | undefined;
  /** The states entered, in order: the ASL path the execution took. */
  path: string[];
  /** How often each state was retried by its Retry clause. */
  retries: Record<string, number>;
}

export interface BoundMachine {
  machine: LocalMachine;
  runner: StateMachine;
  tasks: Record<string, Invoke>;
  /** Milliseconds between retries per state, instead of the definition's seconds. */
  retryIntervals: Record<string, number>;
}

const stateSchema = z
  .object({
    Type: z.string(),
    Resource: z.string().optional(),
    Retry: z.array(z.unknown()).optional(),
    Iterator: z.object({ States: z.record(z.string(), z.unknown()) }).optional(),
    ItemProcessor: z.object({ States: z.record(z.string(), z.unknown()) }).optional(),
  })
  .passthrough();

/** Binds one machine's Task states (nested Map states too) through `resolve`. */
export const bindMachine = (
  machine: LocalMachine,
  resolve: (resource: string) => Invoke | undefined,
  retryDelayMs: number,
): BoundMachine => {
  const tasks: Record<string, Invoke> = {};
  const retryIntervals: Record<string, number> = {};
  const visit = (states: Record<string, unknown>) => {
    for (const [name, raw] of Object.entries(states)) {
      const state = stateSchema.parse(raw);
      if (state.Type === 'Task' && state.Resource) {
        const bound = resolve(state.Resource);
        if (!bound) throw new Error(`${machine.logicalId}.${name}: no local binding for ${state.Resource}`);
        tasks[name] = bound;
      }
      if (state.Retry) retryIntervals[name] = retryDelayMs;
      for (const nested of [state.Iterator, state.ItemProcessor]) if (nested) visit(nested.States);
    }
  };
  visit(z.record(z.string(), z.unknown()).parse(machine.definition.States));
  const runner = new StateMachine(machine.definition as never, { validationOptions: { checkArn: false } });
  return { machine, runner, tasks, retryIntervals };
};

/**
 * The deployed machines by ARN; a flow's machine also under `arn:revision` (its published version),
 * and `flow@revision` names the ARN continuations start on. A new kind of machine needs nothing
 * here: whatever the template holds is registered, and its Task resources resolved.
 */
export class StateMachines {
  private readonly byArn = new Map<string, BoundMachine>();
  /** flow@revision -> the machine that runs it: continuations run on the revision they entered. */
  readonly revisions = new Map<string, string>();

  constructor(
    private readonly resolve: (resource: string) => Invoke | undefined,
    private readonly retryDelayMs: number,
  ) {}

  /** Registers every machine of the stack; a redeploy registers the new revisions beside the old. */
  register(stack: LocalStack): void {
    for (const machine of stack.machines) {
      const bound = bindMachine(machine, this.resolve, this.retryDelayMs);
      this.byArn.set(machine.arn, bound);
      if (machine.flow) {
        const versioned = `${machine.arn}:${machine.flow.revision}`;
        this.byArn.set(versioned, bound);
        this.revisions.set(`${machine.flow.flowId}@${machine.flow.revision}`, versioned);
      }
    }
  }

  get(arn: string): BoundMachine | undefined {
    return this.byArn.get(arn);
  }
}

const tooLarge = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null)) > STATE_LIMIT_BYTES;

/**
 * Runs one execution to its end; a failed one always gives its record, a succeeded one when traced.
 * A `name` is a Standard execution's, chosen by the caller; an Express execution gets a random one.
 */
export const runExecution = async (
  bound: BoundMachine,
  input: unknown,
  trace: boolean,
  named?: string,
): Promise<ExecutionRecord | undefined> => {
  const { machine, runner, tasks, retryIntervals } = bound;
  const name = named ?? randomUUID();
  const executionArn = `${machine.arn.replace(':stateMachine:', named ? ':execution:' : ':express:')}:${name}`;
  const path: string[] = [];
  const retries: Record<string, number> = {};
  const failed = (error: string): ExecutionRecord => ({
    machine: machine.logicalId,
    executionArn,
    input,
    status: 'FAILED',
    error,
    path,
    retries,
  });
  if (tooLarge(input)) {
    // StartExecution refuses it: nothing runs.
    return failed(
      `States.DataLimitExceeded: the execution input exceeds the maximum of ${STATE_LIMIT_BYTES} bytes`,
    );
  }
  const execution = runner.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: tasks as never,
      retryIntervalOverrides: retryIntervals,
      // Locally "after its flows started" is "once nothing else runs" (the runtime defers the put).
      waitTimeOverrides: { [RELEASE_WAIT]: 0 },
    },
    context: { Execution: { Id: executionArn, Name: name } },
  });
  // Step Functions fails an execution whose state grows past 256 KB with States.DataLimitExceeded,
  // which no Catch can catch; aws-local-stepfunctions has no such limit, so it is watched here.
  let overLimit: string | undefined;
  const collecting = (async () => {
    for await (const log of execution.eventLogs) {
      if (log.type === 'StateEntered') path.push(log.state.name);
      if (log.type === 'StateRetried') retries[log.state.name] = (retries[log.state.name] ?? 0) + 1;
      if (log.type === 'StateExited' && overLimit === undefined && tooLarge(log.state.output)) {
        overLimit = `the output of state ${log.state.name}`;
        execution.abort();
      }
    }
  })();
  const limitExceeded = () =>
    failed(`States.DataLimitExceeded: ${overLimit} exceeds the maximum of ${STATE_LIMIT_BYTES} bytes`);
  try {
    const output = await execution.result;
    await collecting;
    if (overLimit) return limitExceeded();
    if (!trace) return undefined;
    return { machine: machine.logicalId, executionArn, input, status: 'SUCCEEDED', output, path, retries };
  } catch (error) {
    await collecting.catch(() => undefined);
    if (overLimit) return limitExceeded();
    const record = failed(
      error instanceof ExecutionError || error instanceof Error ? error.message : String(error),
    );
    const cause = error instanceof Error ? error.cause : undefined;
    return cause instanceof Error ? { ...record, errorName: cause.name } : record;
  }
};
