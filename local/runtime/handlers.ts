import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { BroadcastStarter } from '#domain/broadcast.ts';
import type { DeadLetterStore, EventPublisher, ExportSink, JourneyStarter } from '#domain/ports.ts';
import type { EventIngest, RejectedEvents } from '#domain/use-cases/api-events.ts';
import type { SweepFanOut } from '#domain/use-cases/sweep.ts';
import type { CapacityMeter } from '#functions/adapters/dynamodb-customer-store.ts';
import { createObservability } from '#functions/commons/observability.ts';
import { createRuntime, type RuntimeDeps } from '#functions/commons/runtime.ts';
import { fromRoot } from '#infra/paths.ts';
import type { LocalStack } from '../template.ts';
import type { VirtualClock } from './clock.ts';
import type { Invoke } from './state-machines.ts';

// Every function of the template bound to its real handler module, with its ports pointed at the
// emulators, as Lambda invokes it: a context with a request id and the deployed timeout counting down.

type HandlerFactory = (runtime: () => RuntimeDeps) => (event: unknown, context: unknown) => Promise<unknown>;
const isHandlerModule = (module: unknown): module is { createHandler: HandlerFactory } =>
  typeof (module as { createHandler?: unknown }).createHandler === 'function';

export interface HandlerBindings {
  dynamoDbEndpoint: string;
  sesEndpoint: string;
  /** Where the Unsubscribe function is served locally: SendEmail's links point there. */
  unsubscribeUrl: string;
  clock: VirtualClock;
  meter?: CapacityMeter | undefined;
  /** Where the functions' log and EMF lines go. */
  write: (line: string) => void;
  starter: JourneyStarter;
  /** StartExecution on the Broadcast machine, under the occurrence's name (the sweeper). */
  broadcaster: BroadcastStarter;
  /** StartExecution on the SweepShards machine (the sweeper). */
  fanOut: SweepFanOut;
  /** PutEvents on the function's own bus (EVENT_BUS_NAME). */
  publisher: (eventBusName: string | undefined) => EventPublisher;
  /** The local dead letters and exports (files under the output directory). */
  deadLetters: DeadLetterStore;
  exports: ExportSink;
  decorate?: ((deps: RuntimeDeps, functionLogicalId: string) => RuntimeDeps) | undefined;
  /** Counts each invocation by the function's logical id. */
  invoked: (functionLogicalId: string) => void;
  /** The signed API: its key (the stack's own) and the Ingest machine run synchronously. */
  api: { key: string; ingest: EventIngest; rejections: RejectedEvents };
}

/** Function ARN -> its handler, invoked as Lambda invokes it. */
export const bindHandlers = async (
  stack: LocalStack,
  bindings: HandlerBindings,
): Promise<Map<string, Invoke>> => {
  const lambdas = new Map<string, Invoke>();
  // As Lambda sets it for an on-demand function: Powertools reports cold starts only then.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE ??= 'on-demand';
  // No Secrets Manager locally: one random key per local stack, handed over in the environment.
  const couponKey = randomBytes(32).toString('base64url');
  const unsubscribeKey = randomBytes(32).toString('base64url');
  for (const fn of stack.functions) {
    const environment = { ...fn.environment };
    if (environment.COUPON_KEY_SECRET_ARN) environment.COUPON_KEY = couponKey;
    if (environment.UNSUBSCRIBE_KEY_SECRET_ARN) environment.UNSUBSCRIBE_KEY = unsubscribeKey;
    if (environment.API_KEY_SECRET_ARN) environment.API_KEY = bindings.api.key;
    // The template names the function URL AWS will give; locally it is the localhost server's.
    if (environment.UNSUBSCRIBE_URL) environment.UNSUBSCRIBE_URL = bindings.unsubscribeUrl;
    const module: unknown = await import(pathToFileURL(fromRoot(fn.entry)).href);
    if (!isHandlerModule(module)) throw new Error(`${fn.entry} does not export createHandler(runtime)`);
    let deps = createRuntime(environment, {
      dynamoDbEndpoint: bindings.dynamoDbEndpoint,
      sesEndpoint: bindings.sesEndpoint,
      clock: bindings.clock,
      meter: bindings.meter,
      observability: createObservability({
        write: bindings.write,
        persistentKeys: { function: fn.logicalId },
      }),
      starter: bindings.starter,
      broadcaster: bindings.broadcaster,
      fanOut: bindings.fanOut,
      publisher: bindings.publisher(fn.environment.EVENT_BUS_NAME),
      deadLetters: bindings.deadLetters,
      exports: bindings.exports,
      ingest: bindings.api.ingest,
      rejections: bindings.api.rejections,
    });
    if (bindings.decorate) deps = bindings.decorate(deps, fn.logicalId);
    const handler = module.createHandler(() => deps);
    lambdas.set(fn.arn, async (input) => {
      bindings.invoked(fn.logicalId);
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
  return lambdas;
};
