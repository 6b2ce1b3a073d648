import { type BroadcastStarter, broadcastName } from '../broadcast.ts';
import { checkPublished, SWEEPER_SOURCE } from '../contracts/published-events.ts';
import type { SweepConfig } from '../contracts/sweep-input.ts';
import { NotFoundError } from '../errors.ts';
import { addDuration, resumeInput, TIMER_SHARDS, type Wait } from '../journeys.ts';
import { isValidTimeZone, localParts, nextAnnualDate, nextLocalTime, WEEKDAYS } from '../local-time.ts';
import { dueRulesFingerprint } from '../loyalty/engine.ts';
import type {
  Clock,
  CustomerStore,
  DueAccount,
  EventPublisher,
  JourneyStarter,
  JourneyStore,
  PublishedEvent,
} from '../ports.ts';
import type { Program } from '../program.ts';
import { settleAndPublish } from './points.ts';

// The timer sweep, run every minute by a scheduled rule (and by the local runtime on its virtual
// clock). Its cost follows what is due, not how many customers there are: it reads the due end
// of each timer shard, the slice of last orders that crossed an inactivity threshold since the
// previous sweep, and today's birthdays.

/** What the sweep reads and writes: the customer store and the journey store's timer parts. */
export type SweepStore = CustomerStore &
  Pick<
    JourneyStore,
    | 'dueWaits'
    | 'claimWait'
    | 'deleteWait'
    | 'lastOrderedBetween'
    | 'customersWithDate'
    | 'getCursor'
    | 'setCursor'
  >;

/** A sweep of some timer shards only: a worker the scheduled sweep handed a backlogged shard to. */
export type SweepRequest = SweepConfig & { shards?: number[] | undefined };

/** Hands shards to workers, one each, that settle and resume them within their own time budget. */
export interface SweepFanOut {
  start(work: { config: SweepConfig; shards: number[][] }): Promise<void>;
}

export interface SweepDeps {
  store: SweepStore;
  clock: Clock;
  starter: JourneyStarter;
  publisher: EventPublisher;
  /** Starts the Broadcast machine for a due occurrence of a scheduled flow. */
  broadcaster?: BroadcastStarter | undefined;
  /** Where backlogged shards go; without it the sweep settles every shard itself. */
  fanOut?: SweepFanOut | undefined;
  /** Milliseconds left before the invocation times out; settling stops in time and says `more`. */
  timeLeft?: (() => number) | undefined;
  /** Hears of every failure the sweep stepped over; the handler logs each as one line. */
  report?: ((failure: SweepFailure) => void) | undefined;
}

/** One failure the sweep stepped over: never a message (it may quote customer data), only names and ids. */
export interface SweepFailure {
  /** `settle`, `recheck`, `resume`, or a cursor: `inactivity#113`, `date#birthday#09:00`, `schedule#<flow>`. */
  step: string;
  customerId?: string | undefined;
  /** The error's name. */
  error: string;
  /** The trigger given up on (see `publishInOrder`), with the sweeps it failed in. */
  deadLetter?: { eventId: string; attempts: number } | undefined;
}

/** Stop taking new accounts with this much time left: a settlement batch finishes well inside it. */
const SAFETY_MS = 15_000;

export interface SweepResult {
  /** Accounts were still due (or still to re-check) when the time budget ran out: the next sweep continues. */
  more?: boolean;
  settled: number;
  published: number;
  resumed: number;
  inactive: number;
  dates: number;
  /** Broadcasts started: one per scheduled flow and due occurrence. */
  scheduled: number;
  /** Shards handed to workers of their own (a backlog). */
  fannedOut?: number;
  /** Failures stepped over (each reported): the deployed stack alarms when this is above zero. */
  failed: number;
  /** Triggers given up on after MAX_ATTEMPTS sweeps, each reported with its event id for a replay. */
  deadLettered: number;
}

/** One sweep's clock, dependencies and running totals, handed to every step. */
interface Run {
  now: Date;
  deps: SweepDeps;
  result: SweepResult;
  /** Accounts settled in this sweep: one that is still due waits for the next. */
  seen: Set<string>;
  /** First pages the fan-out already read, per shard: settling and resuming start from them. */
  peeked: Map<number, { accounts: DueAccount[] | undefined; waits: Wait[] }>;
  fail(step: string, error: unknown, customerId?: string, deadLetter?: SweepFailure['deadLetter']): void;
  outOfTime(): boolean;
}

const PAGE = 100;
const DAY_MS = 86_400_000;
const END_OF_TIME = '9999-12-31T23:59:59.999Z';

const errorName = (error: unknown) => (error instanceof Error ? error.name : typeof error);

/**
 * Every step runs whatever the others did, and inside a step every customer whatever happened to
 * the others: a failure is counted, reported and stepped over, never thrown (a throw would stop
 * every later step for everyone, every minute).
 */
export const sweep = async (config: SweepRequest, deps: SweepDeps, page = PAGE): Promise<SweepResult> => {
  const result: SweepResult = {
    settled: 0,
    published: 0,
    resumed: 0,
    inactive: 0,
    dates: 0,
    scheduled: 0,
    failed: 0,
    deadLettered: 0,
  };
  const run: Run = {
    now: deps.clock.now(),
    deps,
    result,
    seen: new Set(),
    peeked: new Map(),
    fail: (step, error, customerId, deadLetter) => {
      result.failed++;
      if (deadLetter) result.deadLettered++;
      deps.report?.({ step, customerId, error: errorName(error), deadLetter });
    },
    outOfTime: () => deps.timeLeft !== undefined && deps.timeLeft() < SAFETY_MS,
  };
  const step = async (name: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      run.fail(name, error);
    }
  };
  const { program } = config;
  const worker = config.shards !== undefined;
  let shards: readonly number[] = config.shards ?? ALL_SHARDS;
  const { fanOut } = deps;
  if (!worker && fanOut) {
    await step('fan-out', async () => {
      shards = await fanOutBacklog(run, config, fanOut, page);
    });
  }
  if (program) {
    await step('settle', () => settleDueAccounts(run, program, page, shards));
    if (!worker) await step('recheck', () => recheckTimerIndex(run, program, page));
  }
  await step('resume', () => resumeDueWaits(run, page, shards));
  // The cursor steps are one time line each: only the scheduled sweep moves them.
  if (worker) return result;
  for (const days of config.inactivityDays)
    await step(`inactivity#${days}`, async () => {
      result.inactive += await emitInactive(run, days);
    });
  for (const date of config.dates)
    await step(`date#${date.field}#${date.at}`, async () => {
      result.dates += await emitDates(run, date, config.timeZone);
    });
  for (const schedule of config.schedules)
    await step(`schedule#${schedule.flowId}`, async () => {
      result.scheduled += await emitScheduled(run, schedule, config.timeZone);
    });
  return result;
};

const ALL_SHARDS = Array.from({ length: TIMER_SHARDS }, (_, shard) => shard);

/**
 * A shard is backlogged when a full page of accounts or waits is due on it: more than this sweep
 * should take on beside the others. Each backlogged shard goes to a worker of its own (one
 * invocation, its own minute); the sweep keeps the rest. Returns the shards left to this sweep.
 * A worker stops taking accounts 15 s before its minute ends, so the next sweep's worker for the
 * same shard does not overlap it; if they did, settling is version-guarded and waits are claimed.
 */
const fanOutBacklog = async (
  run: Run,
  config: SweepConfig,
  fanOut: SweepFanOut,
  page: number,
): Promise<readonly number[]> => {
  const { store } = run.deps;
  const at = run.now.toISOString();
  const backlogged: number[] = [];
  for (const shard of ALL_SHARDS) {
    const [accounts, waits] = await Promise.all([
      config.program ? store.duePointAccounts(shard, at, page) : undefined,
      store.dueWaits(shard, at, page),
    ]);
    run.peeked.set(shard, { accounts, waits });
    if ((accounts?.length ?? 0) >= page || waits.length >= page) backlogged.push(shard);
  }
  if (backlogged.length === 0) return ALL_SHARDS;
  const { timeZone, program } = config;
  await fanOut.start({
    config: { timeZone, inactivityDays: [], dates: [], schedules: [], ...(program ? { program } : {}) },
    shards: backlogged.map((shard) => [shard]),
  });
  run.result.fannedOut = backlogged.length;
  // Handed over, not done: the next sweep looks again.
  run.result.more = true;
  return ALL_SHARDS.filter((shard) => !backlogged.includes(shard));
};

/** Settles index entries, a handful at once (accounts are independent), each failure its own. */
const settleEntries = async (run: Run, program: Program, step: string, entries: DueAccount[]) => {
  const pointsDeps = { ...run.deps, program };
  const fresh = entries.filter((entry) => !run.seen.has(entry.customerId));
  for (const entry of fresh) run.seen.add(entry.customerId);
  for (let i = 0; i < fresh.length; i += 8) {
    await Promise.all(
      fresh.slice(i, i + 8).map(async ({ customerId, dueAt }) => {
        try {
          // Read each count after its await: `settled += await ...` would add to a stale total.
          const { written, published } = await settleAndPublish(customerId, pointsDeps, dueAt);
          run.result.settled += written;
          run.result.published += published;
        } catch (error) {
          // Its entry stays due: the next sweep tries again, and it holds back no one (the index is paged past it).
          run.fail(step, error, customerId);
        }
      }),
    );
  }
};

/**
 * Points accounts with something due (maturity, expiry, a warning, a tier review, an unpublished
 * event): each is settled under its version guard, so a sweep that overlaps another does no harm.
 * Settling also rewrites an entry whose stored time the program no longer gives.
 */
const settleDueAccounts = async (run: Run, program: Program, page: number, shards: readonly number[]) => {
  const at = run.now.toISOString();
  for (const shard of shards) {
    try {
      let after: DueAccount | undefined;
      for (;;) {
        if (run.outOfTime()) {
          run.result.more = true;
          return;
        }
        const due =
          (after === undefined ? run.peeked.get(shard)?.accounts : undefined) ??
          (await run.deps.store.duePointAccounts(shard, at, page, after));
        await settleEntries(run, program, 'settle', due);
        if (due.length < page) break;
        after = due.at(-1);
      }
    } catch (error) {
      run.fail('settle', error);
    }
  }
};

/**
 * After a program edit that moves due times (a longer `warnDaysBefore`), entries written before
 * it may be late, and a late entry is never read in time. The index state remembers which timing
 * rules its entries agree with; when they differ from the program's, every entry is settled once
 * more, shard by shard and page by page within the time budget, from where the last sweep stopped.
 * An account that fails is reported and passed: its entry is corrected when it comes due.
 */
const recheckTimerIndex = async (run: Run, program: Program, page: number) => {
  const { store } = run.deps;
  const fingerprint = dueRulesFingerprint(program);
  const state = await store.getTimerIndexState();
  if (state?.fingerprint === fingerprint && state.recheck === undefined) return;
  let position =
    state?.recheck?.fingerprint === fingerprint ? state.recheck : { fingerprint, shard: 0, after: undefined };
  while (position.shard < TIMER_SHARDS) {
    if (run.outOfTime()) {
      run.result.more = true;
      return;
    }
    const entries = await store.duePointAccounts(position.shard, END_OF_TIME, page, position.after);
    await settleEntries(run, program, 'recheck', entries);
    position =
      entries.length < page
        ? { fingerprint, shard: position.shard + 1, after: undefined }
        : { fingerprint, shard: position.shard, after: entries.at(-1) };
    // Saved per page, so a crash or a time-out costs one page, not the pass.
    await store.setTimerIndexState({ fingerprint: state?.fingerprint, recheck: position });
  }
  await store.setTimerIndexState({ fingerprint });
};

/**
 * Claims every due wait (one conditional write, which an event may have won) and resumes it. A
 * wait whose continuation fails stays claimed and is taken again once the claim is stale (two
 * minutes); the index is paged past it, so it holds back no other wait.
 */
const resumeDueWaits = async (run: Run, page: number, shards: readonly number[]) => {
  const { store, starter } = run.deps;
  const at = run.now.toISOString();
  for (const shard of shards) {
    try {
      let after: Wait | undefined;
      for (;;) {
        const due =
          (after === undefined ? run.peeked.get(shard)?.waits : undefined) ??
          (await store.dueWaits(shard, at, page, after));
        for (const wait of due) {
          try {
            const outcome = wait.outcome ?? (wait.listen ? 'timeout' : 'elapsed');
            if (!(await store.claimWait(wait, outcome, at))) continue;
            await starter.start(wait.flowId, wait.revision, resumeInput(wait, outcome));
            await store.deleteWait(wait);
            run.result.resumed++;
          } catch (error) {
            run.fail('resume', error, wait.customerId);
          }
        }
        if (due.length < page) break;
        after = due.at(-1);
      }
    } catch (error) {
      run.fail('resume', error);
    }
  }
};

/** A trigger of a cursor step, at its instant on the cursor's time line. */
interface Trigger {
  at: number;
  customerId: string;
  eventId: string;
  event: PublishedEvent;
}

/** Sweeps in a row a trigger may fail before it is given up as a dead letter. */
export const MAX_ATTEMPTS = 5;

/**
 * Publishes a cursor step's triggers (given in time order) and moves its cursor over what was
 * published. The policy, at-least-once with deterministic event ids (flows do the work once):
 * - the cursor moves only past published triggers. A failed PutEvents (throttling, mostly: pushing
 *   on would not help) stops the step with the cursor just before the first trigger not
 *   published; the next sweep publishes from there, repeating what followed it (same ids);
 * - the cursor remembers that trigger and in how many sweeps in a row it failed. While it heads the
 *   queue it is published alone, so the count is its own and not a batch neighbour's;
 * - on its MAX_ATTEMPTS-th failure it is a dead letter: reported with its event id (to replay it),
 *   counted, and passed, so one refused trigger holds the others back five minutes at most.
 */
const publishInOrder = async (
  run: Run,
  name: string,
  triggers: (from: Date, to: Date) => AsyncIterable<Trigger> | Promise<Iterable<Trigger>>,
): Promise<number> => {
  const { store, publisher } = run.deps;
  const cursor = await store.getCursor(name);
  const to = run.now;
  // The first sweep only starts the clock.
  if (!cursor) {
    await store.setCursor(name, { at: to.toISOString() });
    return 0;
  }
  const from = new Date(cursor.at);
  if (from.getTime() >= to.getTime()) return 0;
  let published = 0;
  let stopped: { trigger: Trigger; error: unknown } | undefined;
  let batch: Trigger[] = [];
  const send = async (items: Trigger[]) => {
    if (items.length === 0) return true;
    try {
      await publisher.publish(items.map((item) => checkPublished(item.event)));
      published += items.length;
      return true;
    } catch (error) {
      stopped = { trigger: items[0] as Trigger, error };
      return false;
    }
  };
  const flush = async () => {
    const items = batch;
    batch = [];
    return send(items);
  };
  for await (const trigger of await triggers(from, to)) {
    if (trigger.eventId !== cursor.failing?.eventId) {
      batch.push(trigger);
      if (batch.length === 10 && !(await flush())) break;
      continue;
    }
    if (!(await flush())) break;
    if (await send([trigger])) continue;
    const attempts = cursor.failing.attempts + 1;
    if (attempts < MAX_ATTEMPTS) break;
    run.fail(name, stopped?.error, trigger.customerId, { eventId: trigger.eventId, attempts });
    stopped = undefined;
  }
  if (!stopped) await flush();
  if (!stopped) {
    await store.setCursor(name, { at: to.toISOString() });
    return published;
  }
  const { trigger, error } = stopped;
  const attempts = trigger.eventId === cursor.failing?.eventId ? cursor.failing.attempts + 1 : 1;
  await store.setCursor(name, {
    at: new Date(trigger.at - 1).toISOString(),
    failing: { eventId: trigger.eventId, attempts },
  });
  run.fail(name, error, trigger.customerId);
  return published;
};

/**
 * Customers whose last order crossed N days ago since the previous sweep. An order moves the
 * customer's index entry forward, so anyone who ordered again is no longer in the old window.
 */
const emitInactive = (run: Run, days: number) =>
  publishInOrder(run, `inactivity#${days}`, async (from, to) => {
    const [since, until] = [from, to].map((d) => new Date(d.getTime() - days * DAY_MS).toISOString()) as [
      string,
      string,
    ];
    const triggers: Trigger[] = [];
    for (let shard = 0; shard < TIMER_SHARDS; shard++) {
      for (const { customerId, lastOrderAt } of await run.deps.store.lastOrderedBetween(
        shard,
        since,
        until,
      )) {
        const at = addDuration(new Date(lastOrderAt), { days });
        const eventId = `inactive:${customerId}:${days}:${lastOrderAt}`;
        triggers.push({
          at: at.getTime(),
          customerId,
          eventId,
          event: {
            source: SWEEPER_SOURCE,
            detailType: 'customer.inactive',
            time: at.toISOString(),
            detail: { customerId, days, lastOrderAt, meta: { eventId } },
          },
        });
      }
    }
    return inTimeOrder(triggers);
  });

const inTimeOrder = (triggers: Trigger[]) =>
  triggers.sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));

const monthDay = (date: Date) => date.toISOString().slice(5, 10);

/**
 * Birthdays and sign-up anniversaries whose local time `at` came in the window. A 29 February
 * date fires on 28 February in common years (nextAnnualDate's rule), so it is looked up on 28 February too.
 */
const emitDates = (run: Run, trigger: { field: string; at: string }, defaultTimeZone: string) =>
  publishInOrder(run, `date#${trigger.field}#${trigger.at}`, async (from, to) => {
    // Local dates run up to 14 hours either side of UTC: look one day beyond each end.
    const days = new Set<string>();
    for (let t = from.getTime() - DAY_MS; t <= to.getTime() + DAY_MS; t += DAY_MS)
      days.add(monthDay(new Date(t)));
    if (days.size > 400) return [];
    if (days.has('02-28')) days.add('02-29');
    const triggers: Trigger[] = [];
    for (const day of days) {
      for (const customer of await run.deps.store.customersWithDate(trigger.field, day)) {
        // A time zone Intl does not know: the date fires in the program's, and is reported to be fixed.
        let timeZone = customer.timeZone ?? defaultTimeZone;
        if (!isValidTimeZone(timeZone)) {
          run.fail(
            `date#${trigger.field}#${trigger.at}`,
            new RangeError('invalid time zone'),
            customer.customerId,
          );
          timeZone = defaultTimeZone;
        }
        const occurrence = nextAnnualDate(from, timeZone, day, trigger.at);
        if (occurrence > to) continue;
        const year = localParts(occurrence, timeZone).year;
        const eventId = `date:${trigger.field}:${customer.customerId}:${year}`;
        triggers.push({
          at: occurrence.getTime(),
          customerId: customer.customerId,
          eventId,
          event: {
            source: SWEEPER_SOURCE,
            detailType: 'customer.date',
            time: occurrence.toISOString(),
            detail: {
              customerId: customer.customerId,
              field: trigger.field,
              at: trigger.at,
              occurredAt: occurrence.toISOString(),
              meta: { eventId },
            },
          },
        });
      }
    }
    return inTimeOrder(triggers);
  });

/** Occurrences of a schedule in (from, to], in the program's time zone. */
export const occurrences = (
  schedule: SweepConfig['schedules'][number],
  timeZone: string,
  from: Date,
  to: Date,
): Date[] => {
  const found: Date[] = [];
  const weekdays = schedule.every === 'week' ? [schedule.weekday ?? 'mon'] : WEEKDAYS;
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

/**
 * A scheduled flow: each due occurrence starts one Broadcast execution, named for the flow and the
 * occurrence, which scans the customers in parallel segments (use-cases/broadcast.ts). The sweep
 * itself reads no profile. A start that fails stops the cursor before its occurrence, so the next
 * sweep asks again; one that finds its name taken was started before, and counts as done.
 */
const emitScheduled = async (run: Run, schedule: SweepConfig['schedules'][number], timeZone: string) => {
  const { store, broadcaster } = run.deps;
  const name = `schedule#${schedule.flowId}`;
  const cursor = await store.getCursor(name);
  const to = run.now;
  if (!cursor) {
    await store.setCursor(name, { at: to.toISOString() });
    return 0;
  }
  let started = 0;
  for (const occurrence of occurrences(schedule, timeZone, new Date(cursor.at), to)) {
    try {
      if (!broadcaster) throw new NotFoundError('no Broadcast state machine is configured for the sweeper');
      const broadcast = {
        flowId: schedule.flowId,
        occurrence: occurrence.toISOString(),
        ...(schedule.when ? { when: schedule.when } : {}),
      };
      if ((await broadcaster.start(broadcastName(schedule.flowId, occurrence), broadcast)) === 'started')
        started++;
    } catch (error) {
      await store.setCursor(name, { at: new Date(occurrence.getTime() - 1).toISOString() });
      run.fail(name, error);
      return started;
    }
  }
  await store.setCursor(name, { at: to.toISOString() });
  return started;
};
