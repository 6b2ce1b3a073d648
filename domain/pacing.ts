import { localParts, nextLocalTime } from './local-time.ts';

// Pacing of marketing email: quiet hours in the customer's time zone and frequency caps across
// every flow. Pure decisions; the send use case reads and writes the customer's pacing record.

export interface QuietHours {
  from: string;
  to: string;
}

export interface FrequencyCap {
  emails: number;
  days: number;
}

/** What one marketing send step is paced by: the flow's resolved quiet hours, the program's caps. */
export interface PacingRules {
  quietHours?: QuietHours | undefined;
  caps: FrequencyCap[];
  /** A message the caps hold back longer than this after it was first due is dropped. */
  staleAfterMinutes: number;
  /** The flow's priority: higher goes first when the caps have fewer free slots than messages. */
  priority: number;
  /** For customers without a time zone of their own. */
  timeZone: string;
}

/** A marketing email that went out, as the caps count it. */
export interface PacedSend {
  key: string;
  at: string;
}

/** A message waiting for a cap to free: it keeps its place in line against lower priorities. */
export interface PacingHold {
  key: string;
  priority: number;
  /** When it was first due: older messages of the same priority go first. */
  since: string;
  until: string;
}

/** One customer's pacing record: marketing sends inside the longest cap window, and waiting messages. */
export interface PacingRecord {
  version: number;
  sends: PacedSend[];
  holds: PacingHold[];
}

export type PacingVerdict =
  | { verdict: 'send' }
  | { verdict: 'defer'; reason: 'quiet-hours' | 'cap'; until: Date }
  | { verdict: 'drop'; reason: 'stale'; until: Date };

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/**
 * A hold whose message has not come back this long after it was due is forgotten: its journey
 * ended while it waited (an exit, an opt-out), so it must not keep later messages in line for ever.
 */
export const HOLD_GRACE_MS = 15 * MINUTE_MS;
/** How soon a message behind higher-priority holds looks again once they are due. */
const BEHIND_RETRY_MS = MINUTE_MS;

const minuteOfDay = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

/** The end of the quiet hours `now` falls in, in the customer's time zone, or undefined if it is allowed. */
export const quietUntil = (now: Date, timeZone: string, quiet: QuietHours | undefined): Date | undefined => {
  if (!quiet) return undefined;
  const local = localParts(now, timeZone);
  const minute = local.hour * 60 + local.minute;
  const from = minuteOfDay(quiet.from);
  const to = minuteOfDay(quiet.to);
  const inside = from < to ? minute >= from && minute < to : minute >= from || minute < to;
  return inside ? nextLocalTime(now, timeZone, quiet.to) : undefined;
};

/** The record as the caps see it at `now`: sends older than the longest window and lapsed holds dropped. */
export const prunePacing = (record: PacingRecord | undefined, caps: readonly FrequencyCap[], now: Date) => {
  const longest = Math.max(0, ...caps.map((cap) => cap.days)) * DAY_MS;
  const t = now.getTime();
  return {
    version: record?.version ?? 0,
    sends: (record?.sends ?? []).filter((send) => Date.parse(send.at) > t - longest),
    holds: (record?.holds ?? []).filter((hold) => Date.parse(hold.until) + HOLD_GRACE_MS > t),
  };
};

const isAhead = (hold: PacingHold, me: Pick<PacingHold, 'key' | 'priority' | 'since'>) =>
  hold.priority > me.priority ||
  (hold.priority === me.priority &&
    (hold.since < me.since || (hold.since === me.since && hold.key < me.key)));

/**
 * Whether a marketing message may go now under the caps. Sent email counts in every window it
 * falls in; waiting messages ahead of this one (higher priority, or the same priority and older)
 * count too, so a freed slot goes to them first. Blocked, it waits until the sends in the way
 * leave their windows, unless that is later than its staleness allows: then it is dropped.
 */
export const capVerdict = (
  record: PacingRecord,
  rules: Pick<PacingRules, 'caps' | 'staleAfterMinutes' | 'priority'>,
  message: { key: string; firstDueAt: string },
  now: Date,
): PacingVerdict => {
  const t = now.getTime();
  const me = { key: message.key, priority: rules.priority, since: message.firstDueAt };
  const ahead = record.holds.filter((hold) => hold.key !== message.key && isAhead(hold, me));
  let until = 0;
  for (const cap of rules.caps) {
    // Its own earlier claim (the provider refused it, so it is tried again) is not in its way.
    const inWindow = record.sends
      .filter((send) => send.key !== message.key)
      .map((send) => Date.parse(send.at))
      .filter((at) => at > t - cap.days * DAY_MS)
      .sort((a, b) => a - b);
    const room = cap.emails - ahead.length - 1;
    if (inWindow.length <= room) continue;
    if (room < 0) {
      // The messages ahead fill this cap by themselves: look again once they have had their turn.
      const theirs = Math.max(t, ...ahead.map((hold) => Date.parse(hold.until)));
      until = Math.max(until, theirs + BEHIND_RETRY_MS);
      continue;
    }
    // The window has room once the oldest sends beyond `room` have left it.
    const leaving = inWindow[inWindow.length - room - 1] ?? t;
    until = Math.max(until, leaving + cap.days * DAY_MS);
  }
  if (until === 0) return { verdict: 'send' };
  const wake = new Date(Math.max(until, t + 1000));
  const staleAt = Date.parse(message.firstDueAt) + rules.staleAfterMinutes * MINUTE_MS;
  if (wake.getTime() > staleAt) return { verdict: 'drop', reason: 'stale', until: wake };
  return { verdict: 'defer', reason: 'cap', until: wake };
};

/** The record after this message went: its send counted, its hold released. */
export const withSend = (record: PacingRecord, send: PacedSend): PacingRecord => ({
  version: record.version + 1,
  sends: [...record.sends.filter((s) => s.key !== send.key), send].sort((a, b) => a.at.localeCompare(b.at)),
  holds: record.holds.filter((hold) => hold.key !== send.key),
});

/** The record while this message waits for a cap: its place in line, until it is due again. */
export const withHold = (record: PacingRecord, hold: PacingHold): PacingRecord => ({
  version: record.version + 1,
  sends: record.sends,
  holds: [...record.holds.filter((h) => h.key !== hold.key), hold],
});

/** The record once this message no longer waits (dropped, or skipped after waiting). */
export const withoutHold = (record: PacingRecord, key: string): PacingRecord => ({
  version: record.version + 1,
  sends: record.sends,
  holds: record.holds.filter((h) => h.key !== key),
});
