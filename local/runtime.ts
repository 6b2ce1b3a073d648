import './polyfills.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import * as z from 'zod';
import { NotFoundError } from '#domain/errors.ts';
import { matchesEventPattern } from '#domain/event-pattern.ts';
import { TIMER_SHARDS } from '#domain/journeys.ts';
import type { Clock } from '#domain/ports.ts';
import type { CapacityMeter } from '#functions/adapters/dynamodb-customer-store.ts';
import { DynamoDbStore } from '#functions/adapters/dynamodb-journey-store.ts';
import { createLogger } from '#functions/commons/logger.ts';
import { createRuntime, type RuntimeDeps } from '#functions/commons/runtime.ts';
import { buildApp, STACK_NAME } from '#infra/app.ts';
import { fromRoot } from '#infra/paths.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  type RunningEmulator,
  startDynamoDbLocal,
  startSesLocal,
} from './emulators.ts';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalMachine,
  type LocalNames,
  type LocalStack,
  readLocalStack,
} from './template.ts';

// Runs the synthesized stack on one machine: DynamoDB Local, SES v2 local, the synthesized ASL in
// aws-local-stepfunctions with every Lambda task bound to its real handler, and an event bus that
// matches the template's rules with EventBridge's semantics.

/** Business time that the replay moves forward; backoff sleeps stay real. */
export class VirtualClock implements Clock {
  private time: number;
  constructor(start = Date.now()) {
    this.time = start;
  }
  now(): Date {
    return new Date(this.time);
  }
  advanceTo(date: Date | string): void {
    this.time = Math.max(this.time, new Date(date).getTime());
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export interface PutEventsEntry {
  Source?: string | undefined;
  DetailType?: string | undefined;
  Detail?: string | Record<string, unknown> | undefined;
  Time?: string | Date | undefined;
  Resources?: string[] | undefined;
  EventBusName?: string | undefined;
}

/** EventBridge refuses a PutEvents request over its size limit as a whole. */
export class RequestTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

/** What IAM answers a caller who may not publish to a bus: the whole request is refused. */
export class AccessDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccessDeniedException';
  }
}

/** EventBridge's limits: an entry and a whole request at most 256 KB. */
const PUT_EVENTS_LIMIT_BYTES = 256 * 1024;
/** Step Functions' limit on a state's input or output and an execution's input. */
export const STATE_LIMIT_BYTES = 256 * 1024;

/** An entry's size as EventBridge counts it: UTF-8 bytes of its fields, 14 for a time. */
const entrySize = (entry: PutEventsEntry): number =>
  (entry.Time ? 14 : 0) +
  Buffer.byteLength(entry.Source ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail ?? '')) +
  (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0);

/** A bus named or given by ARN; no name is the account's default bus. */
const busNameOf = (nameOrArn: string | undefined): string =>
  nameOrArn === undefined ? 'default' : nameOrArn.replace(/^arn:[^:]+:events:[^:]*:[^:]*:event-bus\//, '');

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface ExecutionRecord {
  machine: string;
  executionArn: string;
  input: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string | undefined;
  /** The states entered, in order: the ASL path the execution took. */
  path: string[];
  /** How often each state was retried by its Retry clause. */
  retries: Record<string, number>;
}

export interface DeadLetter {
  queueUrl: string;
  body: unknown;
}

export interface LocalRuntimeOptions {
  /** Where rejected events and logs are written (default .rapport/). */
  outputDir?: string;
  clock?: VirtualClock;
  /** Executions running at once. */
  concurrency?: number;
  /** Record each execution's path and output (tests); off for replays. */
  trace?: boolean;
  /** Milliseconds between ASL retries locally instead of the definition's seconds; only timing changes. */
  retryDelayMs?: number;
  meter?: CapacityMeter;
  /** Virtual time between sweeps when the clock jumps (AWS sweeps every minute); default a day. */
  sweepEveryMs?: number;
  /** Wraps a function's ports, for fault injection in tests. */
  decorate?: (deps: RuntimeDeps, functionLogicalId: string) => RuntimeDeps;
  /** Wraps a service integration (`arn:aws:states:::events:putEvents`, ...), for fault injection in tests. */
  decorateIntegration?: (resource: string, invoke: Invoke) => Invoke;
  dynamoDbPort?: number;
  sesPort?: number;
  /** Another workflows folder (simulations, tests); default workflows/. */
  workflowsDir?: string;
  /** Deploy only these flows (a simulation of one flow). */
  onlyFlows?: string[];
}

export type Invoke = (input: unknown) => Promise<unknown>;

type HandlerFactory = (runtime: () => RuntimeDeps) => (event: unknown, context: unknown) => Promise<unknown>;
const isHandlerModule = (module: unknown): module is { createHandler: HandlerFactory } =>
  typeof (module as { createHandler?: unknown }).createHandler === 'function';

export class LocalRapport {
  readonly executions: ExecutionRecord[] = [];
  readonly deadLetters: DeadLetter[] = [];
  readonly invocations = new Map<string, number>();
  private readonly queue: (() => Promise<void>)[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private machines = new Map<
    string,
    { machine: LocalMachine; runner: StateMachine; tasks: Record<string, Invoke> }
  >();
  private readonly rejectedFile: string;

  private constructor(
    public stack: LocalStack,
    readonly dynamo: RunningEmulator,
    readonly ses: RunningEmulator,
    readonly clock: VirtualClock,
    readonly names: LocalNames,
    private readonly options: LocalRuntimeOptions,
  ) {
    const outputDir = options.outputDir ?? fromRoot('.rapport');
    mkdirSync(outputDir, { recursive: true });
    this.rejectedFile = `${outputDir}/rejected.ndjson`;
    writeFileSync(this.rejectedFile, '');
    this.log = createWriteStream(`${outputDir}/lambda.log.ndjson`);
  }
  private readonly log: WriteStream;

  static async start(options: LocalRuntimeOptions = {}): Promise<LocalRapport> {
    const { app } = buildApp({
      bundle: false,
      workflowsDir: options.workflowsDir,
      onlyFlows: options.onlyFlows,
    });
    const template = app.synth().getStackByName(STACK_NAME).template;
    const names: LocalNames = {
      tableName: 'rapport-local',
      eventBusName: 'rapport-local',
      systemBusName: 'rapport-local-system',
      deadLetterQueueUrl: `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/rapport-local-dead-letters`,
    };
    const stack = readLocalStack(template, names);
    const [dynamo, ses] = await Promise.all([
      startDynamoDbLocal(options.dynamoDbPort),
      startSesLocal(options.sesPort),
    ]);
    try {
      const props = stack.table.properties;
      await createTable(dynamo.endpoint, {
        TableName: names.tableName,
        KeySchema: props.KeySchema as never,
        AttributeDefinitions: props.AttributeDefinitions as never,
        GlobalSecondaryIndexes: props.GlobalSecondaryIndexes as never,
        BillingMode: 'PAY_PER_REQUEST',
      });
      // TTL stays off here: DynamoDB Local would expire items by the wall clock, while a replay runs
      // on a virtual one (1997); reads filter on `ttl` by the virtual clock either way.
      const runtime = new LocalRapport(
        stack,
        dynamo,
        ses,
        options.clock ?? new VirtualClock(),
        names,
        options,
      );
      await runtime.bind();
      return runtime;
    } catch (error) {
      await Promise.all([dynamo.stop(), ses.stop()]);
      throw error;
    }
  }

  /** Binds every Task state: Lambda ARNs to their handlers, service integrations to local stand-ins. */
  private async bind(): Promise<void> {
    const write = (line: string) => this.log.write(`${line}\n`);
    const lambdas = new Map<string, Invoke>();
    // No Secrets Manager locally: one random key per local stack, handed over in the environment.
    const couponKey = randomBytes(32).toString('base64url');
    for (const fn of this.stack.functions) {
      const environment = fn.environment.COUPON_KEY_SECRET_ARN
        ? { ...fn.environment, COUPON_KEY: couponKey }
        : fn.environment;
      const module: unknown = await import(pathToFileURL(fromRoot(fn.entry)).href);
      if (!isHandlerModule(module)) throw new Error(`${fn.entry} does not export createHandler(runtime)`);
      let deps = createRuntime(environment, {
        dynamoDbEndpoint: this.dynamo.endpoint,
        sesEndpoint: this.ses.endpoint,
        clock: this.clock,
        meter: this.options.meter,
        logger: createLogger('info', { service: 'rapport', function: fn.logicalId }, write),
        starter: { start: async (flowId, revision, input) => this.startFlow(flowId, revision, input) },
        broadcaster: { start: async (name, broadcast) => this.startBroadcast(name, broadcast) },
        fanOut: { start: async (work) => this.startExecution(this.machineArn('SweepShards'), work) },
        publisher: {
          publish: async (events) => {
            const results = this.publishAsSystem(
              events.map((e) => ({
                Source: e.source,
                DetailType: e.detailType,
                Detail: e.detail,
                Time: e.time,
                EventBusName: fn.environment.EVENT_BUS_NAME,
              })),
            );
            const failed = results.filter((r) => r.ErrorCode);
            if (failed.length > 0) throw new Error(`local PutEvents refused: ${JSON.stringify(failed)}`);
          },
        },
      });
      if (this.options.decorate) deps = this.options.decorate(deps, fn.logicalId);
      const handler = module.createHandler(() => deps);
      lambdas.set(fn.arn, async (input) => {
        this.invocations.set(fn.logicalId, (this.invocations.get(fn.logicalId) ?? 0) + 1);
        // The deployed timeout, counting down (at least 15 s: local handlers share two cores with the emulators).
        const deadline = Date.now() + Math.max(15, fn.timeoutSeconds) * 1000;
        const context = {
          awsRequestId: randomUUID(),
          functionName: fn.logicalId,
          getRemainingTimeInMillis: () => deadline - Date.now(),
        };
        return JSON.parse(JSON.stringify((await handler(structuredClone(input), context)) ?? null));
      });
    }
    const integrations: Record<string, Invoke> = {
      'arn:aws:states:::events:putEvents': async (input) => {
        const { Entries } = z.object({ Entries: z.array(z.record(z.string(), z.unknown())) }).parse(input);
        const results = this.publishAsSystem(Entries as PutEventsEntry[]);
        return { Entries: results, FailedEntryCount: results.filter((r) => r.ErrorCode).length };
      },
      'arn:aws:states:::sqs:sendMessage': async (input) => {
        const { QueueUrl, MessageBody } = z
          .object({ QueueUrl: z.string(), MessageBody: z.unknown() })
          .parse(input);
        this.deadLetters.push({ queueUrl: QueueUrl, body: MessageBody });
        appendFileSync(this.rejectedFile, `${JSON.stringify(MessageBody)}\n`);
        return { MessageId: randomUUID() };
      },
    };
    const decorateIntegration = this.options.decorateIntegration;
    if (decorateIntegration) {
      for (const [resource, invoke] of Object.entries(integrations))
        integrations[resource] = decorateIntegration(resource, invoke);
    }
    this.lambdas = lambdas;
    this.integrations = integrations;
    this.bindMachines(this.stack);
    this.usesTimers = LocalRapport.usesTimers(this.stack);
  }

  private integrations: Record<string, Invoke> = {};

  /** Builds a runner per state machine; flow machines also under `arn:revision`, for continuations. */
  private bindMachines(stack: LocalStack): void {
    const lambdas = this.lambdas;
    const integrations = this.integrations;
    for (const machine of stack.machines) {
      const tasks: Record<string, Invoke> = {};
      const retries: Record<string, number> = {};
      const visit = (states: Record<string, unknown>) => {
        for (const [name, raw] of Object.entries(states)) {
          const state = z
            .object({
              Type: z.string(),
              Resource: z.string().optional(),
              Retry: z.array(z.unknown()).optional(),
            })
            .passthrough()
            .parse(raw);
          if (state.Type === 'Task' && state.Resource) {
            const bound = lambdas.get(state.Resource) ?? integrations[state.Resource];
            if (!bound)
              throw new Error(`${machine.logicalId}.${name}: no local binding for ${state.Resource}`);
            tasks[name] = bound;
          }
          if (state.Retry) retries[name] = this.options.retryDelayMs ?? 20;
          for (const nested of ['Iterator', 'ItemProcessor'] as const) {
            const inner = (raw as Record<string, { States?: Record<string, unknown> }>)[nested];
            if (inner?.States) visit(inner.States);
          }
        }
      };
      visit(machine.definition.States as Record<string, unknown>);
      const runner = new StateMachine(machine.definition as never, {
        validationOptions: { checkArn: false },
      });
      this.machines.set(machine.arn, { machine, runner, tasks });
      this.retryOverrides.set(machine.arn, retries);
      if (machine.flow) {
        const versioned = `${machine.arn}:${machine.flow.revision}`;
        this.machines.set(versioned, { machine, runner, tasks });
        this.retryOverrides.set(versioned, retries);
        this.revisions.set(`${machine.flow.flowId}@${machine.flow.revision}`, versioned);
      }
    }
  }

  /**
   * A deploy of changed workflows while journeys are in flight: rules and new journeys move to the
   * new revisions; journeys parked on an old revision keep resuming on it. Says, per changed flow,
   * how many journeys are still in flight on the old revision.
   */
  async redeploy(
    workflowsDir: string,
  ): Promise<{ flowId: string; from: string; to: string; inFlight: number }[]> {
    await this.drain();
    const before = new Map(
      this.stack.machines.flatMap((m) => (m.flow ? [[m.flow.flowId, m.flow.revision]] : [])),
    );
    const { app } = buildApp({ bundle: false, workflowsDir, onlyFlows: this.options.onlyFlows });
    const stack = readLocalStack(app.synth().getStackByName(STACK_NAME).template, this.names);
    this.bindMachines(stack);
    this.stack = stack;
    this.usesTimers = LocalRapport.usesTimers(stack);
    const active = new Map<string, number>();
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: this.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    for await (const page of paginateScan(
      { client },
      {
        TableName: this.names.tableName,
        FilterExpression: '#type = :journey AND #status = :active',
        ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
        ExpressionAttributeValues: { ':journey': 'journey', ':active': 'active' },
      },
    )) {
      for (const item of page.Items ?? []) {
        const key = `${item.flowId}@${item.revision}`;
        active.set(key, (active.get(key) ?? 0) + 1);
      }
    }
    client.destroy();
    return stack.machines.flatMap((m) => {
      const from = m.flow ? before.get(m.flow.flowId) : undefined;
      if (!m.flow || !from || from === m.flow.revision) return [];
      return [
        {
          flowId: m.flow.flowId,
          from,
          to: m.flow.revision,
          inFlight: active.get(`${m.flow.flowId}@${from}`) ?? 0,
        },
      ];
    });
  }
  private readonly retryOverrides = new Map<string, Record<string, number>>();
  private lambdas = new Map<string, Invoke>();
  /** Whether anything runs on the clock: a scheduled sweep with work, or a flow that waits. */
  usesTimers = false;
  private static usesTimers(stack: LocalStack): boolean {
    return (
      stack.rules.some((rule) => {
        const input = rule.targets[0]?.input as Record<string, unknown> | undefined;
        return (
          rule.schedule &&
          input &&
          (input.program !== undefined || Object.values(input).some((v) => Array.isArray(v) && v.length > 0))
        );
      }) || stack.machines.some((m) => JSON.stringify(m.definition).includes('"action":"wait"'))
    );
  }
  /** flow@revision -> the machine that runs it: continuations run on the revision they entered. */
  readonly revisions = new Map<string, string>();

  /** Starts a flow execution on a given revision, as StartExecution on a published version does. */
  startFlow(flowId: string, revision: string, input: unknown): void {
    const arn = this.revisions.get(`${flowId}@${revision}`);
    if (!arn) throw new NotFoundError(`flow ${flowId} revision ${revision} is not deployed locally`);
    this.startExecution(arn, input);
  }

  private machineArn(logicalIdStart: string): string {
    const machine = this.stack.machines.find((m) => m.logicalId.startsWith(logicalIdStart));
    if (!machine) throw new NotFoundError(`no ${logicalIdStart} state machine is deployed`);
    return machine.arn;
  }

  /** Broadcast execution names used so far: Step Functions refuses a Standard execution's name for 90 days. */
  readonly broadcasts = new Map<string, unknown>();

  /** StartExecution on the Broadcast machine under a name, refused (`already started`) when the name was used. */
  startBroadcast(name: string, input: unknown): 'started' | 'already started' {
    const arn = this.machineArn('BroadcastMachine');
    if (this.broadcasts.has(name)) return 'already started';
    this.broadcasts.set(name, input);
    this.startExecution(arn, input, name);
    return 'started';
  }

  /** Invokes a deployed function directly (lambda:InvokeFunction), by the start of its logical id: `Redeem`. */
  async invoke(name: string, input: unknown): Promise<unknown> {
    const fn = this.stack.functions.find((f) => f.logicalId.startsWith(name));
    const invoke = fn && this.lambdas.get(fn.arn);
    if (!invoke) throw new NotFoundError(`no local function ${name}`);
    return invoke(input);
  }

  /**
   * Runs the scheduled sweep once, at the virtual clock's now, as the every-minute rule does: an
   * asynchronous invocation, tried three times (two retries), then kept in the dead-letter queue,
   * and the next sweep comes all the same.
   */
  async sweep(): Promise<unknown> {
    const results: unknown[] = [];
    for (const rule of this.stack.rules.filter((r) => r.schedule)) {
      for (const target of rule.targets) {
        const invoke = this.lambdas.get(target.arn);
        if (!invoke) throw new Error(`${rule.logicalId}: no local function ${target.arn}`);
        for (let attempt = 1; ; attempt++) {
          try {
            results.push(await invoke(target.input ?? {}));
            break;
          } catch (error) {
            if (attempt < 3) continue;
            const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            this.sweepFailures.push({ at: this.clock.now().toISOString(), reason });
            this.deadLetters.push({
              queueUrl: this.names.deadLetterQueueUrl,
              body: { stage: 'sweep', reason },
            });
            appendFileSync(this.rejectedFile, `${JSON.stringify({ stage: 'sweep', reason })}\n`);
            break;
          }
        }
      }
    }
    return results;
  }

  /** Sweeps that failed all three attempts (in AWS: the function's dead-letter queue). */
  readonly sweepFailures: { at: string; reason: string }[] = [];

  /**
   * Moves the virtual clock to `time`, sweeping on the way as the every-minute rule does in AWS: at
   * every due wait, and at least every `sweepEveryMs` (a day by default) so inactivity, birthdays and
   * schedules are found within that step. Continuations run (and may park new waits) before it goes on.
   */
  async advanceTo(time: Date | string): Promise<void> {
    const target = new Date(time).getTime();
    const step = this.options.sweepEveryMs ?? 86_400_000;
    await this.drain();
    for (let guard = 0; guard < 1_000_000; guard++) {
      // A sweep that ran out of time left work for the next one: in AWS a minute later, here at once.
      // One that stepped over failures (a throttle, a failing customer) is retried by the next
      // minute's sweep in AWS: here too, a virtual minute later, a few times, before the clock jumps.
      for (let round = 0, retries = 0; round < 1000; round++) {
        const results = await this.sweep();
        await this.drain();
        const answers = Array.isArray(results)
          ? (results as ({ more?: boolean; failed?: number } | null)[])
          : [];
        if (answers.some((r) => r?.more)) continue;
        if (!answers.some((r) => (r?.failed ?? 0) > 0) || ++retries > 30) break;
        this.clock.advanceTo(new Date(Math.min(target, this.clock.now().getTime() + 60_000)));
      }
      const now = this.clock.now().getTime();
      if (now >= target) break;
      const next = await this.nextDue();
      const dueAhead = next !== undefined && next > now ? next : Number.POSITIVE_INFINITY;
      this.clock.advanceTo(new Date(Math.min(target, now + step, dueAhead)));
    }
  }

  private inspector?: DynamoDbStore;
  /** The table as the functions see it: for inspecting what they wrote. */
  store(): DynamoDbStore {
    this.inspector ??= new DynamoDbStore(
      new DynamoDBClient({
        endpoint: this.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      this.names.tableName,
    );
    return this.inspector;
  }

  /** The earliest due time of any wait, in milliseconds. */
  private async nextDue(): Promise<number | undefined> {
    let earliest: number | undefined;
    for (let shard = 0; shard < TIMER_SHARDS; shard++) {
      const [first] = await this.store().dueWaits(shard, '9999-12-31T23:59:59.999Z', 1);
      if (first && (earliest === undefined || Date.parse(first.dueAt) < earliest))
        earliest = Date.parse(first.dueAt);
    }
    return earliest;
  }

  /**
   * PutEvents as the shop calls it, with the shop's grant: the shop bus only. An entry for the system
   * bus is refused as IAM refuses it (the whole request, AccessDeniedException), so nothing the shop
   * sends can speak for Rapport.
   */
  putEvents(entries: readonly PutEventsEntry[]): PutEventsResultEntry[] {
    const forbidden = entries.find((e) => busNameOf(e.EventBusName) === this.names.systemBusName);
    if (forbidden) {
      throw new AccessDeniedError(
        `User: shop is not authorized to perform: events:PutEvents on resource: arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${this.names.systemBusName} because no identity-based policy allows the events:PutEvents action`,
      );
    }
    return this.deliver(entries);
  }

  /** PutEvents by Rapport's own functions and state machines, which may publish to the system bus. */
  private publishAsSystem(entries: readonly PutEventsEntry[]): PutEventsResultEntry[] {
    return this.deliver(entries);
  }

  /** What the shop bus received, as its archive keeps it (the system bus is not archived). */
  readonly archive: Record<string, unknown>[] = [];

  /** StartReplay of the shop bus's archive: every archived event again, with its id and `replay-name`. */
  replayArchive(name = `replay-${this.archive.length}`): number {
    const events = [...this.archive];
    for (const event of events) this.route(this.names.eventBusName, { ...event, 'replay-name': name });
    return events.length;
  }

  /** Validates entries as EventBridge does, then starts every machine whose rule on that bus matches. */
  private deliver(entries: readonly PutEventsEntry[]): PutEventsResultEntry[] {
    const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total > PUT_EVENTS_LIMIT_BYTES) {
      throw new RequestTooLargeError(
        `Total size of the entries in the request is over the limit (${total} bytes; at most ${PUT_EVENTS_LIMIT_BYTES})`,
      );
    }
    return entries.map((entry) => {
      if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
        };
      }
      if (entry.Source.startsWith('aws.')) {
        return {
          ErrorCode: 'NotAuthorizedForSourceException',
          ErrorMessage: 'Not authorized for the source.',
        };
      }
      let detail: unknown;
      try {
        detail = typeof entry.Detail === 'string' ? JSON.parse(entry.Detail) : entry.Detail;
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' };
      }
      const id = randomUUID();
      const time = entry.Time ? new Date(entry.Time) : this.clock.now();
      const event = {
        version: '0',
        id,
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: LOCAL_ACCOUNT,
        time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: LOCAL_REGION,
        resources: entry.Resources ?? [],
        detail,
      };
      const bus = busNameOf(entry.EventBusName);
      if (bus === this.names.eventBusName) this.archive.push(event);
      this.route(bus, event);
      return { EventId: id };
    });
  }

  private route(bus: string, event: Record<string, unknown>): void {
    for (const rule of this.stack.rules) {
      if (rule.eventBusName !== bus || !rule.pattern || !matchesEventPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) this.startExecution(target.arn, event);
    }
  }

  /** Queues an execution; at most `concurrency` run at once. */
  startExecution(machineArn: string, input: unknown, name?: string): void {
    const bound = this.machines.get(machineArn);
    if (!bound) throw new Error(`no local state machine ${machineArn}`);
    this.queue.push(() => this.execute(bound.machine, bound.runner, bound.tasks, input, name));
    this.pump();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 16;
    while (this.active < limit && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.active++;
      void next().finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
      });
    }
  }

  /** Executions queued or running. */
  get pending(): number {
    return this.active + this.queue.length;
  }

  /** Resolves when nothing is queued or running, including executions started by executions. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async execute(
    machine: LocalMachine,
    runner: StateMachine,
    tasks: Record<string, Invoke>,
    input: unknown,
    named?: string,
  ): Promise<void> {
    const name = named ?? randomUUID();
    const executionArn = `${machine.arn.replace(':stateMachine:', named ? ':execution:' : ':express:')}:${name}`;
    const tooLarge = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null)) > STATE_LIMIT_BYTES;
    if (tooLarge(input)) {
      // StartExecution refuses it: nothing runs.
      this.executions.push({
        machine: machine.logicalId,
        executionArn,
        input,
        status: 'FAILED',
        error: `States.DataLimitExceeded: the execution input exceeds the maximum of ${STATE_LIMIT_BYTES} bytes`,
        path: [],
        retries: {},
      });
      return;
    }
    const execution = runner.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: tasks as never,
        retryIntervalOverrides: this.retryOverrides.get(machine.arn) ?? {},
      },
      context: { Execution: { Id: executionArn, Name: name } },
    });
    const path: string[] = [];
    const retries: Record<string, number> = {};
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
    const fail = (message: string) =>
      this.executions.push({
        machine: machine.logicalId,
        executionArn,
        input,
        status: 'FAILED',
        error: message,
        path,
        retries,
      });
    try {
      const output = await execution.result;
      await collecting;
      if (overLimit) {
        fail(`States.DataLimitExceeded: ${overLimit} exceeds the maximum of ${STATE_LIMIT_BYTES} bytes`);
      } else if (this.options.trace) {
        this.executions.push({
          machine: machine.logicalId,
          executionArn,
          input,
          status: 'SUCCEEDED',
          output,
          path,
          retries,
        });
      }
    } catch (error) {
      await collecting.catch(() => undefined);
      if (overLimit) {
        fail(`States.DataLimitExceeded: ${overLimit} exceeds the maximum of ${STATE_LIMIT_BYTES} bytes`);
        return;
      }
      const message =
        error instanceof ExecutionError || error instanceof Error ? error.message : String(error);
      fail(message);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.dynamo.stop(),
      this.ses.stop(),
      new Promise<void>((resolve) => this.log.end(() => resolve())),
    ]);
  }
}
