import { addDuration, resumeInput, TIMER_SHARDS } from '../journeys.ts';
import { localParts, nextAnnualDate, nextLocalTime, type Weekday } from '../local-time.ts';
import type {
  Clock,
  CustomerStore,
  EventPublisher,
  JourneyStarter,
  JourneyStore,
  PublishedEvent,
} from '../ports.ts';
import type { Program } from '../program.ts';
import { SWEEPER_SOURCE, type SweepConfig } from '../workflow/compile.ts';
import { settleAndPublish } from './points.ts';

// The timer sweep, run every minute by a scheduled rule (and by the local runtime on its virtual
// clock). Its cost follows what is due, not how many customers there are: it reads the due end
// of each timer shard, the slice of last orders that crossed an inactivity threshold since the
// previous sweep, and today's birthdays.

export interface SweepDeps {
  store: CustomerStore & JourneyStore;
  clock: Clock;
  starter: JourneyStarter;
  publisher: EventPublisher;
  /** Milliseconds left before the invocation times out; settling stops in time and says `more`. */
  timeLeft?: (() => number) | undefined;
}

/** Stop taking new accounts with this much time left: a settlement batch finishes well inside it. */
const SAFETY_MS = 15_000;

export interface SweepResult {
  /** Accounts were still due when the time budget ran out: the next sweep continues. */
  more?: boolean;
  settled: number;
  published: number;
  resumed: number;
  inactive: number;
  dates: number;
  scheduled: number;
}

const PAGE = 100;
const DAY_MS = 86_400_000;

export const sweep = async (config: SweepConfig, deps: SweepDeps): Promise<SweepResult> => {
  const now = deps.clock.now();
  const result: SweepResult = { settled: 0, published: 0, resumed: 0, inactive: 0, dates: 0, scheduled: 0 };
  if (config.program) Object.assign(result, await settleDueAccounts(now, config.program, deps));
  result.resumed = await resumeDueWaits(now, deps);
  for (const days of config.inactivityDays) result.inactive += await emitInactive(days, now, deps);
  for (const date of config.dates) result.dates += await emitDates(date, config.timeZone, now, deps);
  for (const schedule of config.schedules)
    result.scheduled += await emitScheduled(schedule, config.timeZone, now, deps);
  return result;
};

/**
 * Points accounts with something due (maturity, expiry, a warning, a tier review, an unpublished
 * event): each is settled under its version guard, so a sweep that overlaps another does no harm.
 */
const settleDueAccounts = async (now: Date, program: Program, deps: SweepDeps) => {
  const at = now.toISOString();
  const pointsDeps = { ...deps, program };
  let settled = 0;
  let published = 0;
  const seen = new Set<string>();
  for (let shard = 0; shard < TIMER_SHARDS; shard++) {
    for (;;) {
      if (deps.timeLeft && deps.timeLeft() < SAFETY_MS) return { settled, published, more: true };
      const page = await deps.store.duePointAccounts(shard, at, PAGE);
      // An account still due after its settlement (more than one transaction's worth) waits for the next sweep.
      const due = page.filter((customerId) => !seen.has(customerId));
      for (const customerId of due) seen.add(customerId);
      // Accounts are independent: settle a handful at once.
      for (let i = 0; i < due.length; i += 8) {
        await Promise.all(
          due.slice(i, i + 8).map(async (customerId) => {
            // Read each count after its await: `settled += await ...` would add to a stale total.
            const { written, published: events } = await settleAndPublish(customerId, pointsDeps);
            settled += written;
            published += events;
          }),
        );
      }
      if (page.length < PAGE || due.length === 0) break;
    }
  }
  return { settled, published };
};

/** Claims every due wait (one conditional write, which an event may have won) and resumes it. */
const resumeDueWaits = async (now: Date, { store, starter }: SweepDeps): Promise<number> => {
  let resumed = 0;
  const at = now.toISOString();
  for (let shard = 0; shard < TIMER_SHARDS; shard++) {
    for (;;) {
      const due = await store.dueWaits(shard, at, PAGE);
      let progressed = 0;
      for (const wait of due) {
        const outcome = wait.outcome ?? (wait.listen ? 'timeout' : 'elapsed');
        if (!(await store.claimWait(wait, outcome, at))) continue;
        await starter.start(wait.flowId, wait.revision, resumeInput(wait, outcome));
        await store.deleteWait(wait);
        resumed++;
        progressed++;
      }
      // Fewer than a page, or nothing this page could take (claims in flight elsewhere): done.
      if (due.length < PAGE || progressed === 0) break;
    }
  }
  return resumed;
};

const publishAll = async (publisher: EventPublisher, events: PublishedEvent[]) => {
  for (let i = 0; i < events.length; i += 10) await publisher.publish(events.slice(i, i + 10));
  return events.length;
};

/** Advances a cursor: the window is (previous, now]. The first sweep only starts the clock. */
const window = async (store: JourneyStore, name: string, now: Date): Promise<[Date, Date] | undefined> => {
  const previous = await store.getCursor(name);
  await store.setCursor(name, now.toISOString());
  if (!previous || Date.parse(previous) >= now.getTime()) return undefined;
  return [new Date(previous), now];
};

/**
 * Customers whose last order crossed N days ago since the previous sweep. An order moves the
 * customer's index entry forward, so anyone who ordered again is no longer in the old window.
 */
const emitInactive = async (days: number, now: Date, { store, publisher }: SweepDeps): Promise<number> => {
  const span = await window(store, `inactivity#${days}`, now);
  if (!span) return 0;
  const [from, to] = span.map((d) => new Date(d.getTime() - days * DAY_MS).toISOString()) as [string, string];
  const events: PublishedEvent[] = [];
  for (let shard = 0; shard < TIMER_SHARDS; shard++) {
    for (const { customerId, lastOrderAt } of await store.lastOrderedBetween(shard, from, to)) {
      events.push({
        source: SWEEPER_SOURCE,
        detailType: 'customer.inactive',
        time: addDuration(new Date(lastOrderAt), { days }).toISOString(),
        detail: {
          customerId,
          days,
          lastOrderAt,
          meta: { eventId: `inactive:${customerId}:${days}:${lastOrderAt}` },
        },
      });
    }
  }
  return publishAll(publisher, events);
};

const monthDay = (date: Date) => date.toISOString().slice(5, 10);

/** Birthdays and sign-up anniversaries whose local time `at` came in the window. */
const emitDates = async (
  trigger: { field: string; at: string },
  defaultTimeZone: string,
  now: Date,
  { store, publisher }: SweepDeps,
): Promise<number> => {
  const span = await window(store, `date#${trigger.field}#${trigger.at}`, now);
  if (!span) return 0;
  const [from, to] = span;
  // Local dates run up to 14 hours either side of UTC: look one day beyond each end.
  const days = new Set<string>();
  for (let t = from.getTime() - DAY_MS; t <= to.getTime() + DAY_MS; t += DAY_MS)
    days.add(monthDay(new Date(t)));
  if (days.size > 400) return 0;
  const events: PublishedEvent[] = [];
  for (const day of days) {
    for (const customer of await store.customersWithDate(trigger.field, day)) {
      const occurrence = nextAnnualDate(from, customer.timeZone ?? defaultTimeZone, day, trigger.at);
      if (occurrence > to) continue;
      const year = localParts(occurrence, customer.timeZone ?? defaultTimeZone).year;
      events.push({
        source: SWEEPER_SOURCE,
        detailType: 'customer.date',
        time: occurrence.toISOString(),
        detail: {
          customerId: customer.customerId,
          field: trigger.field,
          at: trigger.at,
          occurredAt: occurrence.toISOString(),
          meta: { eventId: `date:${trigger.field}:${customer.customerId}:${year}` },
        },
      });
    }
  }
  return publishAll(publisher, events);
};

const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Occurrences of a schedule in (from, to], in the program's time zone. */
export const occurrences = (
  schedule: SweepConfig['schedules'][number],
  timeZone: string,
  from: Date,
  to: Date,
): Date[] => {
  const found: Date[] = [];
  const weekdays =
    schedule.every === 'week' ? [(schedule.weekday as Weekday | undefined) ?? 'mon'] : WEEKDAYS;
  let cursor = from;
  for (let i = 0; i < 400; i++) {
    const next = nextLocalTime(cursor, timeZone, schedule.at, weekdays);
    if (next > to) break;
    cursor = next;
    if (schedule.every === 'month' && localParts(next, timeZone).day !== (schedule.dayOfMonth ?? 1)) continue;
    found.push(next);
  }
  return found;
};

/** A scheduled flow: every customer gets the trigger, and the flow's entry rules pick the segment. */
const emitScheduled = async (
  schedule: SweepConfig['schedules'][number],
  timeZone: string,
  now: Date,
  { store, publisher }: SweepDeps,
): Promise<number> => {
  const span = await window(store, `schedule#${schedule.flowId}`, now);
  if (!span) return 0;
  let count = 0;
  for (const occurrence of occurrences(schedule, timeZone, span[0], span[1])) {
    for await (const page of store.customerIds()) {
      count += await publishAll(
        publisher,
        page.map((customerId) => ({
          source: SWEEPER_SOURCE,
          detailType: 'customer.scheduled',
          time: occurrence.toISOString(),
          detail: {
            customerId,
            flowId: schedule.flowId,
            occurredAt: occurrence.toISOString(),
            meta: { eventId: `schedule:${schedule.flowId}:${occurrence.toISOString()}:${customerId}` },
          },
        })),
      );
    }
  }
  return count;
};
