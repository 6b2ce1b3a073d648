import { randomUUID } from 'node:crypto';
import { matchesEventPattern } from '#domain/event-pattern.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalStack } from '../template.ts';

// The event bus as EventBridge behaves: PutEvents validated entry by entry (and refused as a whole
// over its size limit), each accepted entry an event with an id and a time, routed to the targets
// of every rule on its bus whose pattern matches.

export interface PutEventsEntry {
  Source?: string | undefined;
  DetailType?: string | undefined;
  Detail?: string | Record<string, unknown> | undefined;
  Time?: string | Date | undefined;
  Resources?: string[] | undefined;
  EventBusName?: string | undefined;
}

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
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

/** An entry's size as EventBridge counts it: UTF-8 bytes of its fields, 14 for a time. */
const entrySize = (entry: PutEventsEntry): number =>
  (entry.Time ? 14 : 0) +
  Buffer.byteLength(entry.Source ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail ?? '')) +
  (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0);

/** A bus named or given by ARN; no name is the account's default bus. */
export const busNameOf = (nameOrArn: string | undefined): string =>
  nameOrArn === undefined ? 'default' : nameOrArn.replace(/^arn:[^:]+:events:[^:]*:[^:]*:event-bus\//, '');

export type BusEvent = Record<string, unknown>;

/** One entry's answer, and the event it became on which bus when it was accepted. */
export type Accepted = { result: PutEventsResultEntry; delivered?: { bus: string; event: BusEvent } };

/** Validates entries as EventBridge does and turns each accepted one into an event; `now` times those without a time. */
export const acceptEntries = (
  entries: readonly PutEventsEntry[],
  now: Date,
  /** An AWS service (SES) publishing its own events: `aws.*` sources are its to use. */
  options: { awsService?: boolean } = {},
): Accepted[] => {
  const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (total > PUT_EVENTS_LIMIT_BYTES) {
    throw new RequestTooLargeError(
      `Total size of the entries in the request is over the limit (${total} bytes; at most ${PUT_EVENTS_LIMIT_BYTES})`,
    );
  }
  return entries.map((entry): Accepted => {
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
      return {
        result: {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
        },
      };
    }
    if (entry.Source.startsWith('aws.') && !options.awsService) {
      return {
        result: {
          ErrorCode: 'NotAuthorizedForSourceException',
          ErrorMessage: 'Not authorized for the source.',
        },
      };
    }
    let detail: unknown;
    try {
      detail = typeof entry.Detail === 'string' ? JSON.parse(entry.Detail) : entry.Detail;
    } catch {
      return { result: { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' } };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { result: { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' } };
    }
    const id = randomUUID();
    const time = entry.Time ? new Date(entry.Time) : now;
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
    return { result: { EventId: id }, delivered: { bus: busNameOf(entry.EventBusName), event } };
  });
};

/** The targets (state machine or function ARNs) of every rule on `bus` whose pattern matches the event. */
export const matchingTargets = (stack: LocalStack, bus: string, event: BusEvent): string[] =>
  stack.rules
    .filter(
      (rule) =>
        busNameOf(rule.eventBusName) === bus && rule.pattern && matchesEventPattern(rule.pattern, event),
    )
    .flatMap((rule) => rule.targets.map((target) => target.arn));
