import { randomUUID } from 'node:crypto';
import { matchesEventPattern } from '#domain/event-pattern.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalInputTransformer, type LocalStack } from '../template.ts';

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

/**
 * The Detail text as the sender wrote it, kept beside the parsed event: EventBridge substitutes
 * input-transformer values from the event as written, so a number above 2^53 keeps its digits.
 */
export const RAW_DETAIL = Symbol('raw detail');
export type BusEvent = Record<string, unknown> & { [RAW_DETAIL]?: string };

/** One entry's answer, and the event it became on which bus when it was accepted. */
export type Accepted = { result: PutEventsResultEntry; delivered?: { bus: string; event: BusEvent } };

/** Validates entries as EventBridge does and turns each accepted one into an event; `now` times those without a time. */
export const acceptEntries = (
  entries: readonly PutEventsEntry[],
  now: Date,
  /**
   * An AWS service (SES) publishing its own events: `aws.*` sources are its to use. A partner
   * event bus (Shopify's) takes only the events of its partner source, whose name it bears.
   */
  options: { awsService?: boolean; partnerBus?: string | undefined } = {},
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
    const toPartner =
      options.partnerBus !== undefined && busNameOf(entry.EventBusName) === options.partnerBus;
    const partnerSource = toPartner && entry.Source === options.partnerBus;
    if (
      (toPartner && !partnerSource) ||
      (entry.Source.startsWith('aws.') && !options.awsService && !partnerSource)
    ) {
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
    const event: BusEvent = {
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
    if (typeof entry.Detail === 'string') event[RAW_DETAIL] = entry.Detail;
    return { result: { EventId: id }, delivered: { bus: busNameOf(entry.EventBusName), event } };
  });
};

/** The targets (state machine or function ARNs) of every rule on `bus` whose pattern matches the event. */
export const matchingTargets = (
  stack: LocalStack,
  bus: string,
  event: BusEvent,
): { arn: string; inputTransformer?: LocalInputTransformer | undefined }[] =>
  stack.rules
    .filter(
      (rule) =>
        busNameOf(rule.eventBusName) === bus && rule.pattern && matchesEventPattern(rule.pattern, event),
    )
    .flatMap((rule) => rule.targets);

// Node 24's JSON.parse gives a reviver each number's source text, and JSON.rawJSON writes it back
// verbatim; TypeScript's lib does not know them yet.
const sourceJson = JSON as unknown as {
  parse(
    text: string,
    reviver: (key: string, value: unknown, context: { source?: string }) => unknown,
  ): unknown;
  rawJSON(text: string): object;
  isRawJSON(value: unknown): value is { rawJSON: string };
};

/**
 * A target's input as EventBridge's input transformer makes it: each `<name>` replaced by the value
 * at its path, as written in the event (not escaped); inside quotes a number becomes its digits as
 * a string, and an object or array loses its inner quotes. The result is parsed as the target's
 * runtime parses it.
 */
export const transformInput = ({ paths, template }: LocalInputTransformer, event: BusEvent): unknown => {
  const raw = event[RAW_DETAIL];
  const exact: Record<string, unknown> = {
    ...event,
    detail:
      raw === undefined
        ? event.detail
        : sourceJson.parse(raw, (_key, value, context) =>
            typeof value === 'number' && context.source !== undefined
              ? sourceJson.rawJSON(context.source)
              : value,
          ),
  };
  const valueAt = (path: string): unknown =>
    path
      .replace(/^\$\.?/, '')
      .split('.')
      .filter(Boolean)
      .reduce<unknown>(
        (value, key) =>
          typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined,
        exact,
      );
  const rendered = template.replace(
    /("?)<([A-Za-z0-9_.-]+)>("?)/g,
    (whole, open: string, name: string, close: string) => {
      const path = paths[name];
      if (path === undefined) return whole;
      const value = valueAt(path);
      const text = (inQuotes: boolean): string => {
        if (value === undefined) return '';
        if (typeof value === 'string') return value;
        if (sourceJson.isRawJSON(value)) return value.rawJSON;
        const json = JSON.stringify(value);
        return inQuotes ? json.replace(/"/g, '') : json;
      };
      return open === '"' && close === '"' ? `"${text(true)}"` : `${open}${text(false)}${close}`;
    },
  );
  return JSON.parse(rendered);
};
