import * as z from 'zod';
import { InvalidEventError } from '../errors.ts';
import { type CommerceEvent, type EventContext, parseCommerceEvent } from '../events.ts';
import type { Program } from '../program.ts';
import { checkAgainstProgram } from './record-event.ts';

// POST /v1/events on the signed API: one canonical event `{ id, type, detail }` or a batch
// `{ events: [...] }`. Each event becomes the EventBridge envelope the bus would deliver and is
// parsed by parseCommerceEvent alone, the bus's own gate. The batch is checked whole before any of
// it is applied, so an invalid event never leaves the others half-applied. Applying one runs the
// Ingest machine, the path every event from the bus takes (record, journeys, publish to the flows).

/** What one request may carry: the bound EventBridge puts on one PutEvents is 10; ours is larger. */
export const MAX_EVENTS_PER_REQUEST = 100;

/** EventBridge's limit on an event and Step Functions' on an execution's input. */
export const MAX_EVENT_BYTES = 256 * 1024;
/** A dead letter is an SQS message (256 KB with its reason): a larger event is kept as a summary. */
const MAX_KEPT_BYTES = 200 * 1024;

const bytesOf = (value: unknown): number => new TextEncoder().encode(JSON.stringify(value) ?? '').length;

/** The `source` of every event that came through the API, as EventBridge would carry it. */
export const API_SOURCE = 'api';

/** How an applied event ended in the Ingest machine (its execution's status and output). */
export type IngestRun =
  | { status: 'succeeded'; output: unknown }
  | { status: 'failed'; error: string; cause?: string | undefined };

/** Runs the Ingest machine on one envelope and waits for its end (StartSyncExecution). */
export interface EventIngest {
  run(envelope: ApiEnvelope): Promise<IngestRun>;
}

/** Where events refused before the machine are kept with their reason (the dead-letter queue). */
export interface RejectedEvents {
  keep(letter: { stage: 'api'; reason: string; event: unknown; request: string }): Promise<void>;
}

export interface ApiEventsDeps {
  ingest: EventIngest;
  rejections: RejectedEvents;
  context: EventContext;
  /** The program's own refusals (currency, topics) are checked with the batch, before any is applied. */
  program?: Program | undefined;
  /** Names the request in dead letters and logs. */
  requestId: string;
  /** Runs of the machine at once: events of one customer always run one after another, in order. */
  concurrency?: number;
  /** Hears why a run could not be started (the answer says only that it failed). */
  onRunError?: (error: unknown, event: { index: number; id: string }) => void;
}

export interface ApiEnvelope {
  version: '0';
  id: unknown;
  'detail-type': unknown;
  source: typeof API_SOURCE;
  time: string;
  resources: [];
  detail: unknown;
}

export type EventStatus = 'accepted' | 'duplicate' | 'rejected' | 'not_applied' | 'failed';

export interface EventResult {
  index: number;
  id?: string | undefined;
  type?: string | undefined;
  status: EventStatus;
  /** For rejected: the field of the event at fault, as the client wrote it (`detail.total`). */
  field?: string | undefined;
  reason?: string | undefined;
  /** For failed: whether sending it again (with a new signature) is the cure. */
  retryable?: boolean;
}

export type EventsAnswer =
  | { kind: 'bad-request'; reason: string }
  | { kind: 'results'; status: number; results: EventResult[] };

const EVENT_FIELDS = ['id', 'type', 'detail'] as const;

const batchSchema = z.object({ events: z.unknown() }).loose();

/** The events a body holds, or why it is not a body of this endpoint. */
const eventsOf = (body: unknown): unknown[] | string => {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return 'body: must be one event {"id", "type", "detail"} or {"events": [...]}';
  const batch = batchSchema.safeParse(body);
  if (!batch.success || !Object.hasOwn(body, 'events')) return [body];
  const extra = Object.keys(batch.data).find((key) => key !== 'events');
  if (extra !== undefined) return `body.${extra.slice(0, 64)}: a batch holds "events" only`;
  const { events } = batch.data;
  if (!Array.isArray(events)) return 'events: must be an array of events';
  if (events.length === 0) return 'events: must hold at least one event';
  if (events.length > MAX_EVENTS_PER_REQUEST)
    return `events: must hold at most ${MAX_EVENTS_PER_REQUEST} events (got ${events.length}); send the rest in another request`;
  return events;
};

/** The API names the fields its body has: `type` where the envelope says `detail-type`. */
const clientField = (field: string): string => (field === 'detail-type' ? 'type' : field);
const clientReason = (reason: string): string => reason.replace(/(^|; )detail-type:/g, '$1type:');

type Checked =
  | { ok: true; index: number; envelope: ApiEnvelope; event: CommerceEvent }
  | { ok: false; index: number; result: EventResult };

const check = (raw: unknown, index: number, context: EventContext, program?: Program): Checked => {
  const rejected = (field: string, reason: string, id?: string, type?: string): Checked => ({
    ok: false,
    index,
    result: { index, id, type, status: 'rejected', field, reason },
  });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return rejected('event', 'event: must be an object {"id", "type", "detail"}');
  const fields = z.record(z.string(), z.unknown()).parse(raw);
  const id = typeof fields.id === 'string' ? fields.id.slice(0, 128) : undefined;
  const type = typeof fields.type === 'string' ? fields.type.slice(0, 128) : undefined;
  const extra = Object.keys(fields).find((key) => !EVENT_FIELDS.some((f) => f === key));
  if (extra !== undefined) {
    const name = extra.slice(0, 64);
    return rejected(name, `${name}: not a field of an event (id, type, detail)`, id, type);
  }
  const envelope: ApiEnvelope = {
    version: '0',
    id: fields.id,
    'detail-type': fields.type,
    source: API_SOURCE,
    time: context.now.toISOString(),
    resources: [],
    detail: fields.detail,
  };
  const bytes = bytesOf(envelope);
  if (bytes > MAX_EVENT_BYTES)
    return rejected(
      'event',
      `event: ${bytes} bytes is over the ${MAX_EVENT_BYTES} an event may have`,
      id,
      type,
    );
  try {
    const event = parseCommerceEvent(envelope, context);
    if (program) checkAgainstProgram(event, program);
    return { ok: true, index, envelope, event };
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    return rejected(clientField(error.field ?? 'event'), clientReason(error.message), id, type);
  }
};

const recordAnswer = z.union([
  z.object({ ok: z.literal(false), reason: z.string(), field: z.string().nullish() }),
  z.object({ ok: z.literal(true), outcome: z.string() }),
]);

/** What the machine's ending says about the event (domain/workflow/ingest-machine.ts). */
const resultOf = (run: IngestRun, base: Pick<EventResult, 'index' | 'id' | 'type'>): EventResult => {
  if (run.status === 'failed') {
    // Both failures keep the event in the dead-letter queue; a retry records nothing twice.
    const reason =
      run.error === 'PublishFailed'
        ? 'recorded, but publishing it to the flows failed after retries; send it again (same id) to publish it'
        : 'recording failed after retries; nothing was recorded for it; send it again';
    return { ...base, status: 'failed', reason, retryable: true };
  }
  const answer = recordAnswer.safeParse(run.output);
  if (!answer.success)
    return { ...base, status: 'failed', reason: 'the ingest gave no answer we know', retryable: true };
  if (!answer.data.ok)
    return {
      ...base,
      status: 'rejected',
      field: clientField(answer.data.field ?? 'event'),
      reason: clientReason(answer.data.reason),
    };
  return { ...base, status: answer.data.outcome === 'duplicate' ? 'duplicate' : 'accepted' };
};

const ownerSchema = z.object({ customerId: z.string().optional(), orderId: z.string().optional() });
/** Events of one customer (or, without one, of one order) run in the order they were sent. */
const ownerOf = (event: CommerceEvent): string => {
  const owner = ownerSchema.safeParse(event.detail);
  const { customerId, orderId } = owner.success ? owner.data : {};
  return customerId !== undefined
    ? `c:${customerId}`
    : orderId !== undefined
      ? `o:${orderId}`
      : event.eventId;
};

/**
 * 200 when every event was recorded (now or before); 422 when nothing was applied because events
 * were refused; 500 when every one failed; 207 for a mix, which only failures and the rejections
 * that need the table (a refund larger than what is left) can produce.
 */
const statusOf = (results: readonly EventResult[]): number => {
  const all = (status: EventStatus) => results.every((r) => r.status === status);
  if (results.every((r) => r.status === 'accepted' || r.status === 'duplicate')) return 200;
  if (results.every((r) => r.status === 'rejected' || r.status === 'not_applied')) return 422;
  if (all('failed')) return 500;
  return 207;
};

export const ingestApiEvents = async (body: unknown, deps: ApiEventsDeps): Promise<EventsAnswer> => {
  const events = eventsOf(body);
  if (typeof events === 'string') return { kind: 'bad-request', reason: events };
  const checked = events.map((raw, index) => check(raw, index, deps.context, deps.program));
  const refused = checked.flatMap((c) => (c.ok ? [] : [c]));
  if (refused.length > 0) {
    await Promise.all(
      refused.map(({ index, result }) =>
        deps.rejections.keep({
          stage: 'api',
          reason: result.reason ?? '',
          event:
            bytesOf(events[index]) <= MAX_KEPT_BYTES
              ? events[index]
              : { id: result.id, type: result.type, bytes: bytesOf(events[index]) },
          request: deps.requestId,
        }),
      ),
    );
    const results = checked.map(
      (c): EventResult =>
        c.ok
          ? {
              index: c.index,
              id: c.event.eventId,
              type: c.event.type,
              status: 'not_applied',
              reason: 'not applied: another event of this request was rejected',
            }
          : c.result,
    );
    return { kind: 'results', status: 422, results };
  }
  const valid = checked.flatMap((c) => (c.ok ? [c] : []));
  const results: EventResult[] = new Array(valid.length);
  const queues = new Map<string, typeof valid>();
  for (const c of valid) queues.set(ownerOf(c.event), [...(queues.get(ownerOf(c.event)) ?? []), c]);
  const pending = [...queues.values()];
  const worker = async () => {
    for (let queue = pending.shift(); queue; queue = pending.shift()) {
      for (const { index, envelope, event } of queue) {
        const base = { index, id: event.eventId, type: event.type };
        try {
          results[index] = resultOf(await deps.ingest.run(envelope), base);
        } catch (error) {
          deps.onRunError?.(error, { index, id: event.eventId });
          // The machine was not started (throttled, unreachable): nothing of this event happened.
          results[index] = {
            ...base,
            status: 'failed',
            reason: 'the ingest could not be started; nothing was recorded for it; send it again',
            retryable: true,
          };
        }
      }
    }
  };
  const workers = Math.max(1, Math.min(deps.concurrency ?? 8, pending.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return { kind: 'results', status: statusOf(results), results };
};
