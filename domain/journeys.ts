import type { Signer } from './ports.ts';
import type { Duration } from './workflow/flow-schema.ts';

// Journeys: one customer's run through one flow revision. Pure rules only; storage is a port.

export type JourneyStatus = 'active' | 'completed' | 'exited' | 'holdout';

export interface EventListen {
  event: string;
  /** EventBridge pattern on the accepted event's detail. */
  where?: Record<string, unknown> | undefined;
}

export interface Journey {
  customerId: string;
  flowId: string;
  journeyId: string;
  revision: string;
  status: JourneyStatus;
  enteredAt: string;
  triggerEventId: string;
  endedAt?: string | undefined;
  /** Events that end this journey wherever it is, fixed when it entered. */
  exitOn: EventListen[];
  goal?: (EventListen & { deadline: string }) | undefined;
  convertedAt?: string | undefined;
  /** Stable random numbers 0-99 per split step, drawn once at entry. */
  buckets: Record<string, number>;
  /** Whether the flow has a cap, so ending the journey frees a place. */
  capped: boolean;
}

/** Where a resumed journey goes on, by outcome; `event` only for waits on an event. */
export interface ResumeTargets {
  elapsed?: string | undefined;
  event?: string | undefined;
  timeout?: string | undefined;
}

export interface Wait {
  customerId: string;
  flowId: string;
  journeyId: string;
  revision: string;
  stepId: string;
  dueAt: string;
  listen?: EventListen | undefined;
  targets: ResumeTargets;
  /** What the execution had when it stopped: the trigger and earlier steps' results. */
  context: { trigger: unknown; steps: unknown };
  status: 'waiting' | 'resuming';
  outcome?: 'elapsed' | 'event' | 'timeout' | undefined;
  claimedAt?: string | undefined;
}

export type ResumeOutcome = NonNullable<Wait['outcome']>;

/** The input a continuation execution starts with. */
export const resumeInput = (wait: Wait, outcome: ResumeOutcome, event?: unknown) => ({
  resume: {
    target:
      (outcome === 'event'
        ? wait.targets.event
        : outcome === 'timeout'
          ? wait.targets.timeout
          : wait.targets.elapsed) ?? 'Complete',
    outcome,
    stepId: wait.stepId,
  },
  journey: { journeyId: wait.journeyId, customerId: wait.customerId },
  trigger: wait.context.trigger,
  steps: {
    ...(wait.context.steps as object),
    ...(event === undefined ? {} : { [wait.stepId]: { outcome, event } }),
  },
});

export const durationMs = (d: Duration): number =>
  ((d.days ?? 0) * 1440 + (d.hours ?? 0) * 60 + (d.minutes ?? 0)) * 60_000;

export const addDuration = (from: Date, d: Duration): Date => new Date(from.getTime() + durationMs(d));

/** FNV-1a: a small, stable hash so the same customer always lands in the same split bucket. */
export const stableHash = (text: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
};

export const bucketOf = (journeyId: string, stepId: string): number =>
  stableHash(`${journeyId}/${stepId}`) % 100;

export type Reentry = 'once' | 'always' | { after: Duration };

export interface FlowMemory {
  /** Journeys this customer began in this flow. */
  entries: number;
  lastEnteredAt?: string | undefined;
  activeJourneyId?: string | undefined;
}

export type EntryDecision = { enter: true } | { enter: false; reason: string };

/**
 * Whether a customer may enter a flow again. `always`: every trigger starts a journey, even while
 * another runs (a thank-you per order). `once` and `after`: one journey at a time, and then only
 * once ever, or again after the given time.
 */
export const mayEnter = (memory: FlowMemory | undefined, reentry: Reentry, now: Date): EntryDecision => {
  if (reentry === 'always' || !memory || memory.entries === 0) return { enter: true };
  if (memory.activeJourneyId) return { enter: false, reason: 'already in this flow' };
  if (reentry === 'once') return { enter: false, reason: 'enters this flow only once' };
  const since = memory.lastEnteredAt
    ? now.getTime() - Date.parse(memory.lastEnteredAt)
    : Number.POSITIVE_INFINITY;
  return since >= durationMs(reentry.after)
    ? { enter: true }
    : { enter: false, reason: 'entered this flow too recently' };
};

const COUPON_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * A coupon code derived from a keyed signature of whom and what it is for (`subject`): the same on
 * every retry, different for every customer, and not computable by anyone without the key. Ten
 * characters of 5 bits each (32 symbols, so no modulo bias) take the first 50 bits of the signature;
 * `attempt` moves to the next code when the table says this one is already taken.
 */
export const couponCode = async (
  signer: Signer,
  prefix: string,
  subject: readonly string[],
  attempt = 0,
): Promise<string> => {
  // JSON keeps the parts apart: ('a/b', 'c') and ('a', 'b/c') sign different messages.
  const digest = await signer.sign(JSON.stringify(['coupon', prefix, ...subject, attempt]));
  let code = '';
  for (let i = 0; i < 10; i++) {
    const bit = i * 5;
    const pair = ((digest[bit >> 3] ?? 0) << 8) | (digest[(bit >> 3) + 1] ?? 0);
    code += COUPON_ALPHABET[(pair >> (11 - (bit & 7))) & 31];
  }
  return `${prefix}-${code.slice(0, 5)}-${code.slice(5)}`;
};

/** How often a coupon step moves on to the next code before it gives up (each is 1 in 2^50 taken). */
export const COUPON_ATTEMPTS = 5;

/** A timer shard for a wait: spreads due waits over a few index partitions. */
export const TIMER_SHARDS = 8;
export const shardOf = (key: string, shards = TIMER_SHARDS): number => stableHash(key) % shards;
