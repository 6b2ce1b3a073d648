import {
  admits,
  type ProfileScanner,
  type SegmentCursor,
  type SegmentPage,
  scheduledTrigger,
} from '../broadcast.ts';
import { checkPublished } from '../contracts/published-events.ts';
import { profileAsOf } from '../customer.ts';
import type { Clock, EventPublisher, PublishedEvent } from '../ports.ts';

// One iteration of the Broadcast machine's scan loop: a bounded budget of Scan pages of one
// segment, a trigger for every customer the flow admits, and the cursor to go on from. A crash
// anywhere in it returns nothing, so the machine retries from the cursor it had: the pages since
// are read again and their triggers published again under the same event ids, which start no
// journey twice (enterJourney) and send no email twice (the send claim).

export interface BroadcastDeps {
  scanner: ProfileScanner;
  publisher: EventPublisher;
  /** Points figures are derived as of now (maturity and expiry are not written when they happen). */
  clock: Clock;
  /** Milliseconds left before the invocation times out. */
  timeLeft?: (() => number) | undefined;
}

export interface BroadcastLimits {
  /** PutEvents calls (10 triggers each) in flight at once. */
  publishConcurrency: number;
  /** Stop taking pages with this much time left. */
  safetyMs: number;
}

export const BROADCAST_LIMITS: BroadcastLimits = {
  publishConcurrency: 8,
  safetyMs: 30_000,
};

/** EventBridge takes at most 10 entries per PutEvents. */
const BATCH = 10;

const publishAll = async (publisher: EventPublisher, events: PublishedEvent[], concurrency: number) => {
  const batches: PublishedEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as PublishedEvent[];
      await publisher.publish(batch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
};

export const scanSegmentPages = async (
  { broadcast, segment, totalSegments, pagesPerCall, cursor }: SegmentPage,
  deps: BroadcastDeps,
  limits: BroadcastLimits = BROADCAST_LIMITS,
): Promise<SegmentCursor> => {
  // A retry of a finished segment's last call (its answer lost) changes nothing.
  if (cursor.done) return cursor;
  const next: SegmentCursor = { ...cursor, invocations: cursor.invocations + 1 };
  for (let page = 0; page < pagesPerCall; page++) {
    if (page > 0 && deps.timeLeft !== undefined && deps.timeLeft() < limits.safetyMs) break;
    const found = await deps.scanner.scanSegment(segment, totalSegments, next.after ?? undefined);
    const now = deps.clock.now();
    const admitted = found.profiles.filter((profile) => admits(broadcast, profileAsOf(profile, now)));
    await publishAll(
      deps.publisher,
      admitted.map((profile) => checkPublished(scheduledTrigger(broadcast, profile.customerId))),
      limits.publishConcurrency,
    );
    next.scanned += found.scanned;
    next.matched += admitted.length;
    next.readUnits += found.readUnits;
    next.pages++;
    next.after = found.after ?? null;
    if (!found.after) {
      next.done = true;
      break;
    }
  }
  return next;
};
