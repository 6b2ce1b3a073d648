import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '#domain/errors.ts';
import { TIMER_SHARDS } from '#domain/journeys.ts';
import type { IngestRun } from '#domain/use-cases/api-events.ts';
import type { CapacityMeter } from '#functions/adapters/dynamodb-customer-store.ts';
import { DynamoDbStore } from '#functions/adapters/dynamodb-journey-store.ts';
import type { RuntimeDeps } from '#functions/commons/runtime.ts';
import { fromRoot } from '#infra/paths.ts';
import {
  createTable,
  LOCAL_CREDENTIALS,
  type RunningEmulator,
  startDynamoDbLocal,
  startSesLocal,
} from './emulators.ts';
import { startFunctionUrl } from './function-url.ts';
import {
  AccessDeniedError,
  acceptEntries,
  type BusEvent,
  busNameOf,
  matchingTargets,
  type PutEventsEntry,
  type PutEventsResultEntry,
  RequestTooLargeError,
  transformInput,
} from './runtime/bus.ts';
import { VirtualClock } from './runtime/clock.ts';
import { bindHandlers } from './runtime/handlers.ts';
import { serviceIntegrations } from './runtime/integrations.ts';
import { LocalDeadLetters, LocalExportSink } from './runtime/privacy.ts';
import { ExecutionQueue } from './runtime/queue.ts';
import { LocalSesEvents, type SesFeedback } from './runtime/ses-events.ts';
import {
  type ExecutionRecord,
  type Invoke,
  runExecution,
  STATE_LIMIT_BYTES,
  StateMachines,
} from './runtime/state-machines.ts';
import { LOCAL_NAMES, synthLocalStack, usesTimers } from './runtime/synth.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalNames, type LocalStack } from './template.ts';

// Runs the synthesized stack on one machine: DynamoDB Local, SES v2 local, the synthesized ASL in
// aws-local-stepfunctions with every Lambda task bound to its real handler, and an event bus that
// matches the template's rules with EventBridge's semantics. The parts live in local/runtime/:
// synth, handlers, integrations, state-machines, bus, queue, clock; this class wires them.

export {
  AccessDeniedError,
  type ExecutionRecord,
  type Invoke,
  type PutEventsEntry,
  type PutEventsResultEntry,
  RequestTooLargeError,
  type SesFeedback,
  STATE_LIMIT_BYTES,
  VirtualClock,
};

/** What a function URL takes (6 MB): the Api function answers bodies over its own 1 MB limit itself. */
const API_REQUEST_LIMIT_BYTES = 6 * 1024 * 1024;

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
  /** The port of the Unsubscribe function's URL on localhost (default: a free one). */
  unsubscribePort?: number;
  /** The port of the signed API (the Api function's URL) on localhost (default: a free one). */
  apiPort?: number;
  /** Another workflows folder (simulations, tests); default workflows/. */
  workflowsDir?: string;
  /** Deploy only these flows (a simulation of one flow). */
  onlyFlows?: string[];
  /** Shopify's partner event source: its partner bus exists, with the stack's rules on it. */
  shopifySource?: string | undefined;
}

export class LocalRapport {
  readonly executions: ExecutionRecord[] = [];
  readonly deadLetters: DeadLetter[] = [];
  readonly invocations = new Map<string, number>();
  /** Sweeps that failed all three attempts (in AWS: the function's dead-letter queue). */
  readonly sweepFailures: { at: string; reason: string }[] = [];
  /** What the shop bus received, as its archive keeps it (the system bus is not archived). */
  readonly archive: Record<string, unknown>[] = [];
  /** Whether anything runs on the clock: a scheduled sweep with work, or a flow that waits. */
  usesTimers = false;
  private readonly queue: ExecutionQueue;
  private readonly rejectedFile: string;
  /** Where privacy exports are written, one directory per customer. */
  readonly exportsDir: string;
  private readonly log: WriteStream;
  private lambdas = new Map<string, Invoke>();
  private integrations: Record<string, Invoke> = {};
  private machines: StateMachines;
  private inspector?: DynamoDbStore;
  /** The Unsubscribe function's URL on localhost, which locally sent emails link to. */
  unsubscribeUrl = '';
  private unsubscribeServer?: Server;
  /** SES's event publishing, where the template's configuration set publishes to EventBridge. */
  private sesEvents?: LocalSesEvents;
  // ---- the signed API (functions/api.ts), on its own localhost port
  /** The signed API's key for this stack (no Secrets Manager locally): sign requests with it. */
  readonly apiKey = randomBytes(32).toString('base64url');
  /** The Api function's URL on localhost. */
  apiUrl = '';
  private apiServer?: Server;

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
    this.exportsDir = `${outputDir}/exports`;
    this.log = createWriteStream(`${outputDir}/lambda.log.ndjson`);
    this.queue = new ExecutionQueue(options.concurrency ?? 16);
    this.machines = new StateMachines(
      (resource) => this.lambdas.get(resource) ?? this.integrations[resource],
      options.retryDelayMs ?? 20,
    );
  }

  static async start(options: LocalRuntimeOptions = {}): Promise<LocalRapport> {
    const names = LOCAL_NAMES;
    const stack = synthLocalStack(names, { ...options, shopifyEventSource: options.shopifySource });
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
      const { server, url } = await startFunctionUrl(
        (event) => runtime.invoke('Unsubscribe', event),
        options.unsubscribePort,
      );
      runtime.unsubscribeServer = server;
      runtime.unsubscribeUrl = url;
      const api = await startFunctionUrl(
        (event) => runtime.invoke('Api', event),
        options.apiPort,
        API_REQUEST_LIMIT_BYTES,
      ).catch((error: unknown) => {
        server.close();
        throw error;
      });
      runtime.apiServer = api.server;
      runtime.apiUrl = api.url;
      try {
        await runtime.bind();
      } catch (error) {
        server.close();
        api.server.close();
        throw error;
      }
      return runtime;
    } catch (error) {
      await Promise.all([dynamo.stop(), ses.stop()]);
      throw error;
    }
  }

  /** Binds every Task state: Lambda ARNs to their handlers, service integrations to local stand-ins. */
  private async bind(): Promise<void> {
    const [destination] = this.stack.sesDestinations;
    if (destination) {
      this.sesEvents = new LocalSesEvents(
        destination,
        (entry) => this.publishAsAws(entry),
        () => this.clock.now(),
      );
    }
    const decorate = this.options.decorate;
    const sesEvents = this.sesEvents;
    this.lambdas = await bindHandlers(this.stack, {
      dynamoDbEndpoint: this.dynamo.endpoint,
      sesEndpoint: this.ses.endpoint,
      unsubscribeUrl: this.unsubscribeUrl,
      clock: this.clock,
      meter: this.options.meter,
      // A request still in flight when the stack stops (an HTTP call the client gave up on) logs nothing.
      write: (line) => {
        if (!this.log.writableEnded) this.log.write(`${line}\n`);
      },
      starter: { start: async (flowId, revision, input) => this.startFlow(flowId, revision, input) },
      broadcaster: { start: async (name, broadcast) => this.startBroadcast(name, broadcast) },
      fanOut: { start: async (work) => this.startExecution(this.machineArn('SweepShards'), work) },
      publisher: (eventBusName) => ({
        publish: async (events) => {
          const results = this.publishAsSystem(
            events.map((e) => ({
              Source: e.source,
              DetailType: e.detailType,
              Detail: e.detail,
              Time: e.time,
              EventBusName: eventBusName,
            })),
          );
          const failed = results.filter((r) => r.ErrorCode);
          if (failed.length > 0) throw new Error(`local PutEvents refused: ${JSON.stringify(failed)}`);
        },
      }),
      deadLetters: new LocalDeadLetters(this.rejectedFile, this.deadLetters),
      exports: new LocalExportSink(this.exportsDir),
      // Faults injected into the mailer come first: SES reports only what it took.
      decorate: (deps, id) => {
        const decorated = decorate ? decorate(deps, id) : deps;
        return sesEvents ? { ...decorated, mailer: sesEvents.wrap(decorated.mailer) } : decorated;
      },
      invoked: (id) => this.invocations.set(id, (this.invocations.get(id) ?? 0) + 1),
      api: {
        key: this.apiKey,
        ingest: { run: (envelope) => this.runIngestSync(envelope) },
        rejections: { keep: async (letter) => this.keepDeadLetter(this.names.deadLetterQueueUrl, letter) },
      },
    });
    const integrations = serviceIntegrations({
      publish: (entries) => this.publishAsSystem(entries),
      deadLetter: (queueUrl, body) => this.keepDeadLetter(queueUrl, body),
    });
    const decorateIntegration = this.options.decorateIntegration;
    if (decorateIntegration) {
      for (const [resource, invoke] of Object.entries(integrations))
        integrations[resource] = decorateIntegration(resource, invoke);
    }
    this.integrations = integrations;
    this.machines.register(this.stack);
    this.usesTimers = usesTimers(this.stack);
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
    const stack = synthLocalStack(this.names, {
      workflowsDir,
      onlyFlows: this.options.onlyFlows,
      shopifyEventSource: this.options.shopifySource,
    });
    this.machines.register(stack);
    this.stack = stack;
    this.usesTimers = usesTimers(stack);
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
  /** flow@revision -> the machine that runs it: continuations run on the revision they entered. */
  get revisions(): ReadonlyMap<string, string> {
    return this.machines.revisions;
  }

  private keepDeadLetter(queueUrl: string, body: unknown): void {
    this.deadLetters.push({ queueUrl, body });
    appendFileSync(this.rejectedFile, `${JSON.stringify(body)}\n`);
  }

  /**
   * StartSyncExecution on the Ingest machine, as the Api function calls it: run at once (not queued
   * behind the bus's executions), answered with its end. The flows it publishes to run as usual.
   */
  async runIngestSync(input: unknown): Promise<IngestRun> {
    const bound = this.machines.get(this.machineArn('Ingest'));
    if (!bound) throw new NotFoundError('no Ingest state machine is deployed');
    const record = await runExecution(bound, input, true);
    if (!record) throw new Error('a traced execution gave no record');
    if (record.status === 'FAILED' || this.options.trace) this.executions.push(record);
    return record.status === 'SUCCEEDED'
      ? { status: 'succeeded', output: record.output }
      : { status: 'failed', error: record.errorName ?? 'States.Runtime', cause: record.error };
  }

  /** Starts a flow execution on a given revision, as StartExecution on a published version does. */
  startFlow(flowId: string, revision: string, input: unknown): void {
    const arn = this.machines.revisions.get(`${flowId}@${revision}`);
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

  /** Invokes a deployed function directly (lambda:InvokeFunction), by the start of its logical id: `Storefront`. */
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

  /**
   * PutEvents by Rapport's own functions and state machines, which may publish to the system bus.
   * What they put on the shop's bus (events that waited for their order, after a minute's wait in
   * AWS) is delivered once nothing else runs, so the order's flows have entered first.
   */
  private publishAsSystem(entries: readonly PutEventsEntry[]): PutEventsResultEntry[] {
    const toShop = entries.filter((e) => busNameOf(e.EventBusName) === this.names.eventBusName);
    if (toShop.length === 0) return this.deliver(entries);
    const delivered = this.deliver(entries.filter((e) => !toShop.includes(e)));
    this.queue.whenIdle(() => {
      this.deliver(toShop);
    });
    // Answered in the entries' order, as PutEvents answers.
    let next = 0;
    return entries.map((e) =>
      toShop.includes(e) ? { EventId: randomUUID() } : (delivered[next++] as PutEventsResultEntry),
    );
  }

  /** What an AWS service (SES) publishes to the account's default bus: `aws.*` sources are its own. */
  private publishAsAws(entry: PutEventsEntry): void {
    const [accepted] = acceptEntries([entry], this.clock.now(), { awsService: true });
    if (accepted?.delivered) this.route(accepted.delivered.bus, accepted.delivered.event);
  }

  /** Every message SES local took, by message id, with the email as the mailer sent it. */
  get sentMail(): ReadonlyMap<
    string,
    { messageId: string; email: { to: string; tags: Record<string, string> } }
  > {
    return this.sesEvents?.sent ?? new Map();
  }

  /**
   * What SES would publish about a message it sent, as the recipient's server answered: a bounce
   * (permanent by default), a complaint, a delivery. Routed by the template's rules on the default
   * bus, as in AWS; false if SES local never took the message or no configuration set publishes.
   */
  reportSesEvent(messageId: string, feedback: SesFeedback): boolean {
    return this.sesEvents?.report(messageId, feedback) ?? false;
  }

  /** StartReplay of the shop bus's archive: every archived event again, with its id and `replay-name`. */
  replayArchive(name = `replay-${this.archive.length}`): number {
    const events = [...this.archive];
    for (const event of events) this.route(this.names.eventBusName, { ...event, 'replay-name': name });
    return events.length;
  }

  /** Validates entries as EventBridge does, then starts every machine whose rule on that bus matches. */
  private deliver(entries: readonly PutEventsEntry[]): PutEventsResultEntry[] {
    const partnerBus = this.options.shopifySource;
    return acceptEntries(entries, this.clock.now(), { partnerBus }).map(({ result, delivered }) => {
      if (delivered) {
        if (delivered.bus === this.names.eventBusName) this.archive.push(delivered.event);
        this.route(delivered.bus, delivered.event);
      }
      return result;
    });
  }

  private route(bus: string, event: BusEvent): void {
    for (const { arn, inputTransformer } of matchingTargets(this.stack, bus, event)) {
      const input = inputTransformer ? transformInput(inputTransformer, event) : event;
      const invoke = this.lambdas.get(arn);
      if (invoke) this.invokeAsync(invoke, input);
      else this.startExecution(arn, input);
    }
  }

  /**
   * A rule's function target: an asynchronous invocation, tried three times (Lambda's two retries),
   * then kept in the function's dead-letter queue.
   */
  private invokeAsync(invoke: Invoke, event: unknown): void {
    this.queue.push(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await invoke(event);
          return;
        } catch (error) {
          if (attempt < 3) continue;
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          const body = { stage: 'async-invoke', reason, event };
          this.deadLetters.push({ queueUrl: this.names.deadLetterQueueUrl, body });
          appendFileSync(this.rejectedFile, `${JSON.stringify(body)}\n`);
          return;
        }
      }
    });
  }

  /** Queues an execution; at most `concurrency` run at once. */
  startExecution(machineArn: string, input: unknown, name?: string): void {
    const bound = this.machines.get(machineArn);
    if (!bound) throw new Error(`no local state machine ${machineArn}`);
    this.queue.push(async () => {
      const record = await runExecution(bound, input, this.options.trace ?? false, name);
      if (record) this.executions.push(record);
    });
  }

  /** Executions queued or running. */
  get pending(): number {
    return this.queue.pending;
  }

  /** Resolves when nothing is queued or running, including executions started by executions. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.dynamo.stop(),
      this.ses.stop(),
      ...[this.unsubscribeServer, this.apiServer].map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server) return resolve();
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
      new Promise<void>((resolve) => this.log.end(() => resolve())),
    ]);
  }
}
