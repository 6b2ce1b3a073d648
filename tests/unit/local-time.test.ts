import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isValidTimeZone,
  localParts,
  nextAnnualDate,
  nextLocalTime,
  type Weekday,
  zonedTimeToInstant,
} from '../../domain/local-time.ts';

const at = (iso: string): Date => new Date(iso);
const iso = (date: Date): string => date.toISOString();
const NY = 'America/New_York';

describe('reading the local wall clock', () => {
  it('reads UTC unchanged, dropping seconds', () => {
    expect(localParts(at('2024-03-15T13:45:59.999Z'), 'UTC')).toEqual({
      year: 2024,
      month: 3,
      day: 15,
      hour: 13,
      minute: 45,
      weekday: 'fri',
    });
  });

  it('reads New York in EST in winter and EDT in summer', () => {
    expect(localParts(at('2024-01-15T17:00:00Z'), NY)).toMatchObject({ day: 15, hour: 12, minute: 0 });
    expect(localParts(at('2024-07-15T17:00:00Z'), NY)).toMatchObject({ day: 15, hour: 13, minute: 0 });
  });

  it('reads London at GMT in winter and BST in summer', () => {
    expect(localParts(at('2024-01-15T09:00:00Z'), 'Europe/London')).toMatchObject({ hour: 9 });
    expect(localParts(at('2024-07-01T12:00:00Z'), 'Europe/London')).toMatchObject({ hour: 13 });
  });

  it('adds five and a half hours in Kolkata, moving past midnight into the next day', () => {
    expect(localParts(at('2023-12-31T18:30:00Z'), 'Asia/Kolkata')).toEqual({
      year: 2024,
      month: 1,
      day: 1,
      hour: 0,
      minute: 0,
      weekday: 'mon',
    });
  });

  it('is already tomorrow in Kiritimati (+14) while UTC is still today', () => {
    expect(localParts(at('2024-01-01T12:00:00Z'), 'Pacific/Kiritimati')).toEqual({
      year: 2024,
      month: 1,
      day: 2,
      hour: 2,
      minute: 0,
      weekday: 'tue',
    });
  });

  it('counts years before the common era astronomically, so 6 BC is year -5', () => {
    expect(localParts(new Date(Date.UTC(-5, 0, 1, 12)), 'UTC')).toMatchObject({ year: -5, month: 1, day: 1 });
  });

  it('is still yesterday in Pago Pago (-11) while UTC is already in the new year', () => {
    expect(localParts(at('2024-01-01T05:00:00Z'), 'Pacific/Pago_Pago')).toEqual({
      year: 2023,
      month: 12,
      day: 31,
      hour: 18,
      minute: 0,
      weekday: 'sun',
    });
  });
});

describe('turning a local wall time into an instant', () => {
  it('treats UTC wall times as the instant itself, including 29 February', () => {
    expect(iso(zonedTimeToInstant('UTC', 2024, 2, 29, 0, 0))).toBe('2024-02-29T00:00:00.000Z');
  });

  it('uses the offset in force on either side of the New York spring-forward gap', () => {
    expect(iso(zonedTimeToInstant(NY, 2024, 3, 10, 1, 59))).toBe('2024-03-10T06:59:00.000Z');
    expect(iso(zonedTimeToInstant(NY, 2024, 3, 10, 3, 0))).toBe('2024-03-10T07:00:00.000Z');
  });

  it('moves 02:30 on the New York spring-forward day, which never happens, to 03:30 EDT', () => {
    const instant = zonedTimeToInstant(NY, 2024, 3, 10, 2, 30);
    expect(iso(instant)).toBe('2024-03-10T07:30:00.000Z');
    expect(localParts(instant, NY)).toMatchObject({ day: 10, hour: 3, minute: 30 });
  });

  it('picks the first of the two 01:30s on the New York fall-back day (EDT, not EST)', () => {
    expect(iso(zonedTimeToInstant(NY, 2024, 11, 3, 1, 30))).toBe('2024-11-03T05:30:00.000Z');
    expect(localParts(at('2024-11-03T06:30:00Z'), NY)).toMatchObject({ day: 3, hour: 1, minute: 30 });
  });

  it('handles the London spring-forward gap and fall-back overlap', () => {
    expect(iso(zonedTimeToInstant('Europe/London', 2024, 3, 31, 1, 30))).toBe('2024-03-31T01:30:00.000Z');
    expect(localParts(at('2024-03-31T01:30:00Z'), 'Europe/London')).toMatchObject({ hour: 2, minute: 30 });
    expect(iso(zonedTimeToInstant('Europe/London', 2024, 10, 27, 1, 30))).toBe('2024-10-27T00:30:00.000Z');
  });

  it('subtracts five and a half hours in Kolkata, landing on the previous UTC day', () => {
    expect(iso(zonedTimeToInstant('Asia/Kolkata', 2024, 1, 1, 0, 0))).toBe('2023-12-31T18:30:00.000Z');
  });

  it('moves a wall time skipped by the 30-minute Lord Howe gap forward by 30 minutes', () => {
    const instant = zonedTimeToInstant('Australia/Lord_Howe', 2024, 10, 6, 2, 15);
    expect(iso(instant)).toBe('2024-10-05T15:45:00.000Z');
    expect(localParts(instant, 'Australia/Lord_Howe')).toMatchObject({ day: 6, hour: 2, minute: 45 });
  });

  it('picks the first of the two 01:45s in the 30-minute Lord Howe overlap (+11, not +10:30)', () => {
    expect(iso(zonedTimeToInstant('Australia/Lord_Howe', 2024, 4, 7, 1, 45))).toBe(
      '2024-04-06T14:45:00.000Z',
    );
    expect(localParts(at('2024-04-06T15:15:00Z'), 'Australia/Lord_Howe')).toMatchObject({
      hour: 1,
      minute: 45,
    });
  });

  it('finds a Kiritimati morning on the previous UTC day and a Pago Pago evening on the next', () => {
    expect(iso(zonedTimeToInstant('Pacific/Kiritimati', 2024, 6, 15, 8, 0))).toBe('2024-06-14T18:00:00.000Z');
    expect(iso(zonedTimeToInstant('Pacific/Pago_Pago', 2024, 6, 15, 20, 0))).toBe('2024-06-16T07:00:00.000Z');
  });

  it('rejects a calendar day or clock time that does not exist in any zone', () => {
    expect(() => zonedTimeToInstant('UTC', 2023, 2, 29, 0, 0)).toThrow(RangeError);
    expect(() => zonedTimeToInstant('UTC', 2024, 13, 1, 0, 0)).toThrow(/month 13/);
    expect(() => zonedTimeToInstant('UTC', 2024, 1, 1, 24, 0)).toThrow(/hour 24/);
    expect(() => zonedTimeToInstant('UTC', 2024, 1, 1, 9, 1.5)).toThrow(/minute 1.5/);
  });
});

describe('waiting for the next local time of day', () => {
  it('waits until later the same day in UTC', () => {
    expect(iso(nextLocalTime(at('2024-03-15T08:00:00Z'), 'UTC', '10:00'))).toBe('2024-03-15T10:00:00.000Z');
  });

  it('gives the next day when asked at exactly that time, because the result is strictly after', () => {
    expect(iso(nextLocalTime(at('2024-03-15T10:00:00Z'), 'UTC', '10:00'))).toBe('2024-03-16T10:00:00.000Z');
    expect(iso(nextLocalTime(at('2024-03-15T10:00:00.001Z'), 'UTC', '10:00'))).toBe(
      '2024-03-16T10:00:00.000Z',
    );
    expect(iso(nextLocalTime(at('2024-03-15T09:59:59.999Z'), 'UTC', '10:00'))).toBe(
      '2024-03-15T10:00:00.000Z',
    );
  });

  it('keeps 10:00 local across the New York spring-forward, an hour earlier in UTC', () => {
    const saturday = nextLocalTime(at('2024-03-09T12:00:00Z'), NY, '10:00');
    expect(iso(saturday)).toBe('2024-03-09T15:00:00.000Z');
    expect(iso(nextLocalTime(saturday, NY, '10:00'))).toBe('2024-03-10T14:00:00.000Z');
  });

  it('fires a skipped 02:30 at 03:30 EDT on the spring-forward day, then at 02:30 the day after', () => {
    const skipped = nextLocalTime(at('2024-03-09T17:00:00Z'), NY, '02:30');
    expect(iso(skipped)).toBe('2024-03-10T07:30:00.000Z');
    expect(iso(nextLocalTime(skipped, NY, '02:30'))).toBe('2024-03-11T06:30:00.000Z');
  });

  it('keeps 10:00 local across the New York fall-back, an hour later in UTC', () => {
    expect(iso(nextLocalTime(at('2024-11-02T14:00:00Z'), NY, '10:00'))).toBe('2024-11-03T15:00:00.000Z');
  });

  it('fires a repeated 01:30 once on the fall-back day, at its first occurrence', () => {
    expect(iso(nextLocalTime(at('2024-11-02T12:00:00Z'), NY, '01:30'))).toBe('2024-11-03T05:30:00.000Z');
    // At the first 01:30, and between the two, the second 01:30 (06:30Z) is not offered again.
    expect(iso(nextLocalTime(at('2024-11-03T05:30:00Z'), NY, '01:30'))).toBe('2024-11-04T06:30:00.000Z');
    expect(iso(nextLocalTime(at('2024-11-03T05:45:00Z'), NY, '01:30'))).toBe('2024-11-04T06:30:00.000Z');
  });

  it('keeps 09:00 local across the London clock changes', () => {
    expect(iso(nextLocalTime(at('2024-03-30T12:00:00Z'), 'Europe/London', '09:00'))).toBe(
      '2024-03-31T08:00:00.000Z',
    );
    expect(iso(nextLocalTime(at('2024-10-26T12:00:00Z'), 'Europe/London', '09:00'))).toBe(
      '2024-10-27T09:00:00.000Z',
    );
  });

  it('fires at the half hour in UTC for Kolkata, and strictly after', () => {
    expect(iso(nextLocalTime(at('2024-06-10T04:29:00Z'), 'Asia/Kolkata', '10:00'))).toBe(
      '2024-06-10T04:30:00.000Z',
    );
    expect(iso(nextLocalTime(at('2024-06-10T04:30:00Z'), 'Asia/Kolkata', '10:00'))).toBe(
      '2024-06-11T04:30:00.000Z',
    );
  });

  it('moves the UTC instant by 30 minutes across the Lord Howe daylight change', () => {
    expect(iso(nextLocalTime(at('2024-10-04T12:00:00Z'), 'Australia/Lord_Howe', '09:00'))).toBe(
      '2024-10-04T22:30:00.000Z',
    );
    expect(iso(nextLocalTime(at('2024-10-05T12:00:00Z'), 'Australia/Lord_Howe', '09:00'))).toBe(
      '2024-10-05T22:00:00.000Z',
    );
  });

  it('goes from a Friday evening to Monday 10:00 when only Monday is allowed', () => {
    // 18:00 EDT on Friday 15 March 2024.
    expect(iso(nextLocalTime(at('2024-03-15T22:00:00Z'), NY, '10:00', ['mon']))).toBe(
      '2024-03-18T14:00:00.000Z',
    );
  });

  it('skips the weekend when only working days are allowed', () => {
    const workdays: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];
    expect(iso(nextLocalTime(at('2024-03-15T22:00:00Z'), NY, '10:00', workdays))).toBe(
      '2024-03-18T14:00:00.000Z',
    );
    expect(iso(nextLocalTime(at('2024-03-14T22:00:00Z'), NY, '10:00', workdays))).toBe(
      '2024-03-15T14:00:00.000Z',
    );
  });

  it('waits a full week when asked at exactly the only allowed weekday and time', () => {
    // 10:00 EDT on Monday 18 March 2024.
    expect(iso(nextLocalTime(at('2024-03-18T14:00:00Z'), NY, '10:00', ['mon']))).toBe(
      '2024-03-25T14:00:00.000Z',
    );
  });

  it('judges the weekday by the local date in Kiritimati, not the UTC date', () => {
    // Saturday 16 March 10:00 in Kiritimati is still Friday in UTC; Monday 09:00 there is Sunday in UTC.
    expect(iso(nextLocalTime(at('2024-03-15T20:00:00Z'), 'Pacific/Kiritimati', '09:00', ['mon']))).toBe(
      '2024-03-17T19:00:00.000Z',
    );
  });

  it('judges the weekday by the local date in Pago Pago, not the UTC date', () => {
    // Friday 15 March 20:00 in Pago Pago is already Saturday in UTC.
    expect(iso(nextLocalTime(at('2024-03-15T12:00:00Z'), 'Pacific/Pago_Pago', '20:00', ['fri']))).toBe(
      '2024-03-16T07:00:00.000Z',
    );
  });

  it('does not fire on a Friday that Samoa skipped when it crossed the date line', () => {
    // Friday 30 December 2011 never happened in Apia; the next Friday 10:00 is 6 January (+14).
    expect(iso(nextLocalTime(at('2011-12-29T12:00:00Z'), 'Pacific/Apia', '10:00', ['fri']))).toBe(
      '2012-01-05T20:00:00.000Z',
    );
  });
});

describe('waiting for the next yearly date', () => {
  it('finds a birthday later this year', () => {
    expect(iso(nextAnnualDate(at('2024-05-01T00:00:00Z'), NY, '07-04', '09:00'))).toBe(
      '2024-07-04T13:00:00.000Z',
    );
  });

  it('moves to next year when asked at exactly the anniversary', () => {
    expect(iso(nextAnnualDate(at('2024-07-04T13:00:00Z'), NY, '07-04', '09:00'))).toBe(
      '2025-07-04T13:00:00.000Z',
    );
  });

  it('keeps a 29 February birthday on 29 February in a leap year', () => {
    expect(iso(nextAnnualDate(at('2024-01-10T00:00:00Z'), 'UTC', '02-29', '09:00'))).toBe(
      '2024-02-29T09:00:00.000Z',
    );
    expect(iso(nextAnnualDate(at('2027-03-01T00:00:00Z'), 'UTC', '02-29', '09:00'))).toBe(
      '2028-02-29T09:00:00.000Z',
    );
  });

  it('moves a 29 February birthday to 28 February in a common year', () => {
    expect(iso(nextAnnualDate(at('2024-03-01T00:00:00Z'), 'UTC', '02-29', '09:00'))).toBe(
      '2025-02-28T09:00:00.000Z',
    );
    expect(iso(nextAnnualDate(at('2025-02-28T09:00:00Z'), 'UTC', '02-29', '09:00'))).toBe(
      '2026-02-28T09:00:00.000Z',
    );
  });

  it('uses the local year, so New Year in Kiritimati comes before UTC midnight', () => {
    expect(iso(nextAnnualDate(at('2024-12-31T09:00:00Z'), 'Pacific/Kiritimati', '01-01', '00:00'))).toBe(
      '2024-12-31T10:00:00.000Z',
    );
    // Already 1 January 2025 00:30 in Kiritimati: the next one is a year away.
    expect(iso(nextAnnualDate(at('2024-12-31T10:30:00Z'), 'Pacific/Kiritimati', '01-01', '00:00'))).toBe(
      '2025-12-31T10:00:00.000Z',
    );
  });

  it('uses the local year, so New Year in Pago Pago comes after UTC midnight', () => {
    expect(iso(nextAnnualDate(at('2025-01-01T05:00:00Z'), 'Pacific/Pago_Pago', '01-01', '00:00'))).toBe(
      '2025-01-01T11:00:00.000Z',
    );
  });
});

describe('rejecting invalid input', () => {
  it('knows real IANA zones from made-up ones', () => {
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });

  it('throws a RangeError naming an unknown time zone from every function', () => {
    const now = at('2024-03-15T12:00:00Z');
    expect(() => localParts(now, 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => localParts(now, 'Mars/Olympus_Mons')).toThrow(/"Mars\/Olympus_Mons"/);
    expect(() => zonedTimeToInstant('Mars/Olympus_Mons', 2024, 1, 1, 0, 0)).toThrow(/"Mars\/Olympus_Mons"/);
    expect(() => nextLocalTime(now, 'Mars/Olympus_Mons', '10:00')).toThrow(/"Mars\/Olympus_Mons"/);
    expect(() => nextAnnualDate(now, 'Mars/Olympus_Mons', '01-01', '10:00')).toThrow(/"Mars\/Olympus_Mons"/);
  });

  it.each(['25:00', '24:00', '9:00', '10:60', '10-00', '10:00:00', ' 10:00', ''])(
    'throws a RangeError naming the malformed time %j',
    (time) => {
      const now = at('2024-03-15T12:00:00Z');
      expect(() => nextLocalTime(now, 'UTC', time)).toThrow(RangeError);
      expect(() => nextLocalTime(now, 'UTC', time)).toThrow(`Invalid time ${JSON.stringify(time)}`);
      expect(() => nextAnnualDate(now, 'UTC', '01-01', time)).toThrow(`Invalid time ${JSON.stringify(time)}`);
    },
  );

  it.each(['02-30', '04-31', '13-01', '00-10', '01-00', '2-3', '02/28', '0229', ''])(
    'throws a RangeError naming the malformed month-day %j',
    (monthDay) => {
      const now = at('2024-03-15T12:00:00Z');
      expect(() => nextAnnualDate(now, 'UTC', monthDay, '10:00')).toThrow(RangeError);
      expect(() => nextAnnualDate(now, 'UTC', monthDay, '10:00')).toThrow(
        `Invalid month-day ${JSON.stringify(monthDay)}`,
      );
    },
  );

  it('throws a RangeError for an empty or unknown weekday list', () => {
    const now = at('2024-03-15T12:00:00Z');
    expect(() => nextLocalTime(now, 'UTC', '10:00', [])).toThrow(RangeError);
    expect(() => nextLocalTime(now, 'UTC', '10:00', ['funday' as Weekday])).toThrow(/"funday"/);
  });

  it('throws a RangeError for an invalid Date', () => {
    expect(() => localParts(new Date(Number.NaN), 'UTC')).toThrow(RangeError);
    expect(() => nextLocalTime(new Date(Number.NaN), 'UTC', '10:00')).toThrow(RangeError);
    expect(() => nextAnnualDate(new Date(Number.NaN), 'UTC', '01-01', '10:00')).toThrow(RangeError);
  });
});

describe('nextLocalTime for any instant and zone', () => {
  const zones = [
    'UTC',
    NY,
    'Europe/London',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'Pacific/Kiritimati',
    'Pacific/Pago_Pago',
    'Pacific/Chatham',
    'Asia/Kathmandu',
    'America/St_Johns',
    'America/Santiago',
    'America/Havana',
    'Africa/Casablanca',
    'Asia/Tehran',
  ];
  const allWeekdays: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const pad = (n: number): string => String(n).padStart(2, '0');

  /** True when no instant within a day of `result` shows hour:minute on its local date: it was skipped. */
  const isSkipped = (result: Date, zone: string, hour: number, minute: number): boolean => {
    const { year, month, day } = localParts(result, zone);
    const start = Math.floor(result.getTime() / 60_000) * 60_000 - 26 * 3_600_000;
    for (let t = start; t <= start + 52 * 3_600_000; t += 60_000) {
      const parts = localParts(new Date(t), zone);
      const sameDay = parts.year === year && parts.month === month && parts.day === day;
      if (sameDay && parts.hour === hour && parts.minute === minute) return false;
    }
    return true;
  };

  // Random instants rarely land near a clock change, so half the cases start up to three days
  // before a known spring-forward (UTC instant of the jump) with an early-morning time.
  const springForwards: [string, string][] = [
    [NY, '2024-03-10T07:00:00Z'],
    ['Europe/London', '2024-03-31T01:00:00Z'],
    ['Australia/Lord_Howe', '2024-10-05T15:30:00Z'],
    ['Pacific/Chatham', '2024-09-28T14:00:00Z'],
    ['America/Santiago', '2024-09-08T04:00:00Z'],
    ['America/Havana', '2024-03-10T05:00:00Z'],
  ];
  const anyInstant = fc.record({
    after: fc.date({ min: at('2000-01-01T00:00:00Z'), max: at('2040-12-31T23:59:59Z'), noInvalidDate: true }),
    zone: fc.constantFrom(...zones),
    hour: fc.integer({ min: 0, max: 23 }),
  });
  const nearSpringForward = fc
    .record({
      jump: fc.constantFrom(...springForwards),
      before: fc.integer({ min: 0, max: 3 * 86_400_000 }),
      hour: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ jump: [zone, instant], before, hour }) => ({
      after: new Date(at(instant).getTime() - before),
      zone,
      hour,
    }));

  it('is strictly later, within 8 days, on an allowed weekday, at the time asked unless it was skipped', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyInstant, nearSpringForward),
        fc.integer({ min: 0, max: 59 }),
        fc.option(fc.subarray(allWeekdays, { minLength: 1 }), { nil: undefined }),
        ({ after, zone, hour }, minute, weekdays) => {
          const result = nextLocalTime(after, zone, `${pad(hour)}:${pad(minute)}`, weekdays);
          expect(result.getTime()).toBeGreaterThan(after.getTime());
          expect(result.getTime() - after.getTime()).toBeLessThanOrEqual(8 * 86_400_000);
          const parts = localParts(result, zone);
          if (weekdays) expect(weekdays).toContain(parts.weekday);
          if (parts.hour !== hour || parts.minute !== minute) {
            expect(isSkipped(result, zone, hour, minute)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
