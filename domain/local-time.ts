// Wall-clock arithmetic in a customer's IANA time zone, using only Intl.DateTimeFormat.
// Pure: no clock is read here; callers pass the current instant in.

/** The week as flows, schedules and Intl name it: the one list every weekday check derives from. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: Weekday;
}

const DAY_MS = 86_400_000;
// Intl's short English labels: `Mon` for `mon`.
const WEEKDAY_BY_LABEL: Readonly<Record<string, Weekday>> = Object.fromEntries(
  WEEKDAYS.map((day) => [`${day[0]?.toUpperCase()}${day.slice(1)}`, day]),
);

// Building an Intl.DateTimeFormat is costly and zones are few: keep one per zone.
const formats = new Map<string, Intl.DateTimeFormat>();

const tryFormatFor = (timeZone: string): Intl.DateTimeFormat | undefined => {
  if (typeof timeZone !== 'string' || timeZone === '') return undefined;
  let format = formats.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'gregory',
        numberingSystem: 'latn',
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        weekday: 'short',
      });
    } catch {
      return undefined;
    }
    formats.set(timeZone, format);
  }
  return format;
};

const formatFor = (timeZone: string): Intl.DateTimeFormat => {
  const format = tryFormatFor(timeZone);
  if (!format) throw new RangeError(`Invalid time zone ${JSON.stringify(timeZone)}: not an IANA time zone`);
  return format;
};

/** True when `tz` is a time zone this runtime's Intl knows ('America/New_York', 'UTC'). */
export const isValidTimeZone = (tz: string): boolean => tryFormatFor(tz) !== undefined;

const checkInstant = (instant: Date, name: string): number => {
  const ms = instant instanceof Date ? instant.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`Invalid ${name} ${String(instant)}: expected a valid Date`);
  return ms;
};

interface WallClock extends LocalParts {
  second: number;
}

const wallClock = (epochMs: number, timeZone: string): WallClock => {
  const fields: Record<string, string> = {};
  for (const part of formatFor(timeZone).formatToParts(epochMs)) fields[part.type] = part.value;
  const yearOfEra = Number(fields.year);
  const weekday = WEEKDAY_BY_LABEL[fields.weekday ?? ''];
  if (weekday === undefined) throw new Error(`Unexpected weekday ${fields.weekday} from Intl`);
  return {
    year: fields.era === 'BC' ? 1 - yearOfEra : yearOfEra,
    month: Number(fields.month),
    day: Number(fields.day),
    hour: Number(fields.hour) % 24, // Some ICU versions print midnight as 24 even with h23.
    minute: Number(fields.minute),
    second: Number(fields.second),
    weekday,
  };
};

/** Milliseconds since the epoch of a wall time read as if it were UTC (years 0–99 stay literal). */
const utcMs = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second = 0,
): number => {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
};

/** The zone's offset from UTC at an instant, in milliseconds (+05:30 is 19_800_000). */
const offsetMs = (epochMs: number, timeZone: string): number => {
  const wall = wallClock(epochMs, timeZone);
  const wholeSecond = epochMs - (((epochMs % 1000) + 1000) % 1000);
  return utcMs(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second) - wholeSecond;
};

/** The local calendar date and time of `instant` in `timeZone` (seconds dropped, not rounded). */
export const localParts = (instant: Date, timeZone: string): LocalParts => {
  formatFor(timeZone);
  const { year, month, day, hour, minute, weekday } = wallClock(checkInstant(instant, 'instant'), timeZone);
  return { year, month, day, hour, minute, weekday };
};

const daysInMonth = (year: number, month: number): number =>
  new Date(utcMs(year, month + 1, 0, 0, 0)).getUTCDate();

const checkInteger = (name: string, value: number, min: number, max: number): void => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid ${name} ${value}: expected an integer from ${min} to ${max}`);
  }
};

/**
 * The instant at which the wall clock in `timeZone` reads year-month-day hour:minute.
 *
 * Wall times that do not exist (skipped by a spring-forward gap) are read with the offset in force
 * before the gap, so they land as far past the gap's start as they were meant to be: 02:30 on a
 * New York spring-forward day is 03:30 EDT. This is Temporal's 'compatible' disambiguation.
 *
 * Wall times that occur twice (a fall-back overlap) resolve to the FIRST occurrence, the earlier
 * instant: 01:30 on a New York fall-back day is 01:30 EDT, not 01:30 EST.
 */
export const zonedTimeToInstant = (
  timeZone: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
): Date => {
  formatFor(timeZone);
  checkInteger('year', year, 1, 9999);
  checkInteger('month', month, 1, 12);
  checkInteger('day', day, 1, daysInMonth(year, month));
  checkInteger('hour', hour, 0, 23);
  checkInteger('minute', minute, 0, 59);
  const local = utcMs(year, month, day, hour, minute);
  // Offsets a day either side bracket any transition near this wall time; each gives one candidate.
  const before = offsetMs(local - DAY_MS, timeZone);
  const after = offsetMs(local + DAY_MS, timeZone);
  const valid = [local - before, local - after].filter((candidate) => {
    const wall = wallClock(candidate, timeZone);
    return utcMs(wall.year, wall.month, wall.day, wall.hour, wall.minute) === local;
  });
  return new Date(valid.length > 0 ? Math.min(...valid) : local - before);
};

const parseTime = (time: string): { hour: number; minute: number } => {
  const match = typeof time === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time) : null;
  if (!match)
    throw new RangeError(`Invalid time ${JSON.stringify(time)}: expected 'HH:MM' from 00:00 to 23:59`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
};

const parseMonthDay = (monthDay: string): { month: number; day: number } => {
  const match = typeof monthDay === 'string' ? /^(\d\d)-(\d\d)$/.exec(monthDay) : null;
  const month = Number(match?.[1]);
  const day = Number(match?.[2]);
  // Checked against a leap year, so '02-29' is allowed and '02-30' or '04-31' are not.
  if (!match || month < 1 || month > 12 || day < 1 || day > daysInMonth(2000, month)) {
    throw new RangeError(
      `Invalid month-day ${JSON.stringify(monthDay)}: expected 'MM-DD', a real calendar day`,
    );
  }
  return { month, day };
};

const parseWeekdays = (weekdays: readonly Weekday[] | undefined): ReadonlySet<Weekday> => {
  if (weekdays === undefined) return new Set(WEEKDAYS);
  if (!Array.isArray(weekdays) || weekdays.length === 0) {
    throw new RangeError(
      `Invalid weekdays ${JSON.stringify(weekdays)}: expected at least one of ${WEEKDAYS.join(', ')}`,
    );
  }
  for (const weekday of weekdays) {
    if (!WEEKDAYS.includes(weekday)) {
      throw new RangeError(
        `Invalid weekday ${JSON.stringify(weekday)}: expected one of ${WEEKDAYS.join(', ')}`,
      );
    }
  }
  return new Set(weekdays);
};

/** The calendar date `days` after year-month-day (negative goes back). */
const addDays = (year: number, month: number, day: number, days: number) => {
  const date = new Date(utcMs(year, month, day, 0, 0) + days * DAY_MS);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
};

/**
 * The first instant strictly after `after` at which the wall clock in `timeZone` reads `time`
 * ('HH:MM') on one of `weekdays` (any day when omitted): "10:00 on a weekday, customer's time".
 *
 * Each local day offers one instant, resolved as zonedTimeToInstant does: a time skipped by a
 * spring-forward gap fires just after the gap (02:30 becomes 03:30), and a time repeated by a
 * fall-back fires once, at its first occurrence. The weekday is that of the local date it fires on.
 */
export const nextLocalTime = (
  after: Date,
  timeZone: string,
  time: string,
  weekdays?: readonly Weekday[],
): Date => {
  formatFor(timeZone);
  const afterMs = checkInstant(after, 'after');
  const { hour, minute } = parseTime(time);
  const allowed = parseWeekdays(weekdays);
  const today = wallClock(afterMs, timeZone);
  // Start a day early in case yesterday's time was pushed past `after` by a gap; every weekday
  // occurs within the next seven local dates, and the eighth covers a day lost to a date-line move.
  for (let offset = -1; offset <= 8; offset += 1) {
    const date = addDays(today.year, today.month, today.day, offset);
    const candidate = zonedTimeToInstant(timeZone, date.year, date.month, date.day, hour, minute);
    if (candidate.getTime() > afterMs && allowed.has(wallClock(candidate.getTime(), timeZone).weekday)) {
      return candidate;
    }
  }
  throw new RangeError(
    `No ${time} on ${[...allowed].join(', ')} in ${timeZone} within 8 days of ${after.toISOString()}`,
  );
};

/**
 * The next instant strictly after `after` at which it is `monthDay` ('MM-DD') at `time` ('HH:MM')
 * in `timeZone`: birthdays and sign-up anniversaries. '02-29' falls on 28 February in common
 * years. Skipped and repeated wall times resolve as in zonedTimeToInstant.
 */
export const nextAnnualDate = (after: Date, timeZone: string, monthDay: string, time: string): Date => {
  formatFor(timeZone);
  const afterMs = checkInstant(after, 'after');
  const { month, day } = parseMonthDay(monthDay);
  const { hour, minute } = parseTime(time);
  const { year } = wallClock(afterMs, timeZone);
  for (let candidateYear = year - 1; candidateYear <= year + 2; candidateYear += 1) {
    const clampedDay = Math.min(day, daysInMonth(candidateYear, month));
    const candidate = zonedTimeToInstant(timeZone, candidateYear, month, clampedDay, hour, minute);
    if (candidate.getTime() > afterMs) return candidate;
  }
  throw new RangeError(`No ${monthDay} ${time} in ${timeZone} within two years of ${after.toISOString()}`);
};
