import type * as z from 'zod';
import type { Condition } from './contracts/conditions.ts';
import { SWEEPER_SOURCE } from './contracts/published-events.ts';
import type {
  broadcastSchema,
  scanKeySchema,
  scanPageInputSchema,
  segmentCursorSchema,
} from './contracts/tasks.ts';
import type { CustomerProfile } from './customer.ts';
import type { PublishedEvent } from './ports.ts';

// Broadcasts: one occurrence of a scheduled flow, sent to every customer its entry rules admit.
// The sweeper only starts one execution of the Broadcast state machine per flow and occurrence; the
// machine scans the table in parallel Scan segments and a Lambda starts the flow for each customer
// who matches, one bounded page budget at a time (see workflow/broadcast-machine.ts).

export type Broadcast = z.infer<typeof broadcastSchema>;
export type ScanKey = z.infer<typeof scanKeySchema>;
export type SegmentCursor = z.infer<typeof segmentCursorSchema>;
/** What one iteration of the scan loop hands the Lambda (contracts/tasks.ts). */
export type SegmentPage = z.infer<typeof scanPageInputSchema>;

export const FIRST_CURSOR: SegmentCursor = {
  after: null,
  done: false,
  scanned: 0,
  matched: 0,
  pages: 0,
  readUnits: 0,
  invocations: 0,
};

/**
 * The execution name: one per flow and occurrence, so a second StartExecution (a sweep that ran
 * twice, a retried invocation) is refused by Step Functions instead of sending the campaign again.
 * Names allow letters, digits, `-` and `_` (80 at most); a flow id has no `_`.
 */
export const broadcastName = (flowId: string, occurrence: Date): string =>
  `${flowId}_${occurrence
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')}`;

/** The trigger one customer gets for one occurrence; its id names the journey, so it starts once. */
export const scheduledTrigger = (broadcast: Broadcast, customerId: string): PublishedEvent => {
  const eventId = `schedule:${broadcast.flowId}:${broadcast.occurrence}:${customerId}`;
  return {
    source: SWEEPER_SOURCE,
    detailType: 'customer.scheduled',
    time: broadcast.occurrence,
    detail: { customerId, flowId: broadcast.flowId, occurredAt: broadcast.occurrence, meta: { eventId } },
  };
};

const fieldOf = (profile: Record<string, unknown>, path: string): unknown => {
  let value: unknown = profile;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
};

const sameTyped = (value: unknown, expected: string | number | boolean) =>
  typeof value === typeof expected && value === expected;

/**
 * One entry condition on a profile, with the compiled Choice rule's meaning (workflow/conditions.ts
 * conditionRule): a missing or mistyped field fails every comparison, `not_equals` holds for it.
 * The flow's own `Eligible?` still decides on a fresh profile; this only spares the rest a trigger.
 */
export const holds = (condition: Condition, profile: Record<string, unknown>): boolean => {
  if ('tag' in condition) return fieldOf(profile, `tags.${condition.tag}`) !== undefined;
  if ('not_tag' in condition) return fieldOf(profile, `tags.${condition.not_tag}`) === undefined;
  // Schedule triggers carry no event: compile refuses `event.` fields for them.
  if (!condition.field.startsWith('profile.')) return false;
  const value = fieldOf(profile, condition.field.slice('profile.'.length));
  const number = typeof value === 'number' ? value : undefined;
  if ('equals' in condition) return sameTyped(value, condition.equals);
  if ('not_equals' in condition) return !sameTyped(value, condition.not_equals);
  if ('gt' in condition) return number !== undefined && number > condition.gt;
  if ('gte' in condition) return number !== undefined && number >= condition.gte;
  if ('lt' in condition) return number !== undefined && number < condition.lt;
  if ('lte' in condition) return number !== undefined && number <= condition.lte;
  if ('starts_with' in condition) return typeof value === 'string' && value.startsWith(condition.starts_with);
  return condition.exists === (value !== undefined);
};

export const admits = (broadcast: Broadcast, profile: CustomerProfile): boolean =>
  (broadcast.when ?? []).every((condition) => holds(condition, { ...profile }));

/** One Scan page of one segment: the profiles on it and where the next begins. */
export interface ProfileScanPage {
  profiles: CustomerProfile[];
  /** Items the page evaluated, profiles or not. */
  scanned: number;
  /** Read units the page consumed, as DynamoDB reports them. */
  readUnits: number;
  after?: ScanKey | undefined;
}

/** Reads a table segment by segment (a parallel Scan). */
export interface ProfileScanner {
  scanSegment(segment: number, totalSegments: number, after: ScanKey | undefined): Promise<ProfileScanPage>;
}

/** Starts one Broadcast execution by name; a name already used is refused, and said so. */
export interface BroadcastStarter {
  start(name: string, broadcast: Broadcast): Promise<'started' | 'already started'>;
}
