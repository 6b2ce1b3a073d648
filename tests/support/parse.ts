import { type EventContext, orderPlacedV1 } from '../../domain/events.ts';
import type { Program } from '../../domain/program.ts';
import { testProgram } from './program.ts';

export const parseOrderPlaced = (detail: unknown) => orderPlacedV1.parse(detail);

/** What parseCommerceEvent needs besides the event: the clock's now and the program's limits. */
export const eventContext = (now: Date | string, program: Program = testProgram): EventContext => ({
  now: new Date(now),
  limits: program.limits,
});
