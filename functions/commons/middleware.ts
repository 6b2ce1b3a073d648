import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type middy from '@middy/core';
import type { z } from 'zod';
import { InvalidEventError } from '#domain/errors.ts';
import { countMetric, type Observability, redactAddresses } from './observability.ts';

// biome-ignore lint/suspicious/noExplicitAny: middleware is shared by handlers of any input type
type Middleware = middy.MiddlewareObj<any, unknown, Error>;

/** Parses the state's input with zod; a malformed input is an InvalidEventError naming the field. */
export const parseInput = <S extends z.ZodType>(
  schema: S,
): middy.MiddlewareObj<z.infer<S>, unknown, Error> => {
  if (typeof schema?.safeParse !== 'function') throw new TypeError('parseInput needs a zod schema');
  return {
    before: (request) => {
      const parsed = schema.safeParse(request.event);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.map(String).join('.') ?? '';
        throw new InvalidEventError(`input.${field}: ${issue?.message ?? 'invalid'}`, field, {
          cause: parsed.error,
        });
      }
      request.event = parsed.data;
    },
  };
};

/**
 * Turns an invalid event into a rejection the state machine routes to the dead-letter queue, and
 * counts it (`EventsRejected`): a shop sending malformed events is something an operator must see.
 */
export const rejectInvalidEvents = (observability: () => Observability): Middleware => {
  if (typeof observability !== 'function')
    throw new TypeError('rejectInvalidEvents needs an observability factory');
  return {
    onError: (request) => {
      if (request.error instanceof InvalidEventError) {
        countMetric(observability().metrics, 'EventsRejected', 1);
        request.response = { ok: false, reason: request.error.message, field: request.error.field ?? null };
      }
    },
  };
};

export { redactAddresses };

/**
 * Powertools' Logger context (request id, cold start) on every line of the invocation, one line per
 * invocation with the ids `correlate` picks from the input and its `durationMs`, and the
 * invocation's metrics flushed as EMF. Never the event itself, never an address. The ports (and so
 * the logger) are built on first use, so Powertools' middleware is too. The ids go on the line, not
 * into the logger's keys: the local runtime runs invocations of one function concurrently.
 */
export const observeInvocation = (
  observability: () => Observability,
  correlate: (event: unknown) => Record<string, unknown>,
): Middleware => {
  if (typeof observability !== 'function' || typeof correlate !== 'function') {
    throw new TypeError('observeInvocation needs an observability factory and a correlate function');
  }
  let context: ReturnType<typeof injectLambdaContext> | undefined;
  const powertools = () => {
    context ??= injectLambdaContext(observability().logger, { logEvent: false });
    return context;
  };
  const started = new WeakMap<object, number>();
  const durationMs = (request: object) => Math.round(performance.now() - (started.get(request) ?? 0));
  const flush = () => {
    const { metrics } = observability();
    // Only when there is something: Powertools warns on every empty flush otherwise.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: async (request) => {
      started.set(request, performance.now());
      await powertools().before?.(request);
    },
    after: async (request) => {
      observability().logger.info('done', { ...correlate(request.event), durationMs: durationMs(request) });
      flush();
      await powertools().after?.(request);
    },
    onError: async (request) => {
      const error = request.error;
      const fields = {
        ...correlate(request.event),
        error: error?.name,
        reason: redactAddresses(error?.message ?? ''),
        durationMs: durationMs(request),
      };
      // A rejected input is answered (the state machine dead-letters it), not a failure of ours.
      if (request.response !== undefined) observability().logger.warn('rejected', fields);
      else observability().logger.error('failed', fields);
      flush();
      await powertools().onError?.(request);
    },
  };
};

export const correlationOf = (event: unknown): Record<string, unknown> => {
  if (typeof event !== 'object' || event === null) return {};
  const { eventId, flowId, stepId, customerId } = event as Record<string, unknown>;
  return { eventId, flowId, stepId, customerId };
};
