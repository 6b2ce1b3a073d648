import type middy from '@middy/core';
import type { z } from 'zod';
import { InvalidEventError } from '#domain/errors.ts';
import type { Logger } from './logger.ts';

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

/** Turns an invalid event into a rejection the state machine routes to the dead-letter queue. */
export const rejectInvalidEvents = (): Middleware => ({
  onError: (request) => {
    if (request.error instanceof InvalidEventError) {
      request.response = { ok: false, reason: request.error.message, field: request.error.field ?? null };
    }
  },
});

/** One line per invocation with correlation ids; never the event itself, never an address. */
export const logInvocation = (
  logger: () => Logger,
  correlate: (event: unknown) => Record<string, unknown>,
): Middleware => {
  if (typeof logger !== 'function' || typeof correlate !== 'function') {
    throw new TypeError('logInvocation needs a logger factory and a correlate function');
  }
  let started = 0;
  return {
    before: () => {
      started = performance.now();
    },
    after: (request) => {
      logger().info('done', { ...correlate(request.event), ms: Math.round(performance.now() - started) });
    },
    onError: (request) => {
      const error = request.error;
      logger().error('failed', {
        ...correlate(request.event),
        error: error?.name,
        reason: error?.message,
        ms: Math.round(performance.now() - started),
      });
    },
  };
};

export const correlationOf = (event: unknown): Record<string, unknown> => {
  if (typeof event !== 'object' || event === null) return {};
  const { eventId, flowId, stepId, customerId } = event as Record<string, unknown>;
  return { eventId, flowId, stepId, customerId };
};
