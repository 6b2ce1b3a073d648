import { senderDomain } from './program.ts';

// Sender reputation and suppression: what SES tells us after a send (bounces, complaints) turned
// into per-customer suppression and a per-identity pause of marketing mail. Pure: the counters and
// pauses live behind the ReputationStore port.

/** Why a customer gets no more mail of some kind (BRIEF contract: written by the SES events handler). */
export interface Suppression {
  reason: 'hard-bounce' | 'complaint';
  at: string;
}

/**
 * The profile change a bounce or complaint makes: the newer fact wins, so a late duplicate or an
 * older event changes nothing, and a repeat of the same event is `undefined` (nothing to write).
 */
export const suppressionChange = (
  current: Suppression | undefined,
  next: Suppression,
): Suppression | undefined => {
  if (current && Date.parse(current.at) >= Date.parse(next.at)) return undefined;
  return next;
};

// ---- tags ----------------------------------------------------------------------------------------

/** SES tag values allow only ASCII letters, digits, _ and -, at most 256 of them. */
const TAG_VALUE_LIMIT = 256;

/**
 * Any text as a valid SES tag value, losslessly: letters, digits and '-' stay as they are (so `c-1`
 * reads `c-1` in the SES console), every other UTF-8 byte is `_` and two hex digits.
 */
export const encodeTagValue = (text: string): string =>
  Array.from(new TextEncoder().encode(text), (byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9-]/.test(char) ? char : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');

/** The text a tag value encodes, or undefined if it is not one encodeTagValue wrote. */
export const decodeTagValue = (value: string): string | undefined => {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const char = value.charAt(i);
    if (char === '_') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (/[A-Za-z0-9-]/.test(char)) bytes.push(char.charCodeAt(0));
    else return undefined;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
};

/** The tags SES carries back on every event of a send: who it went to and which identity sent it. */
export const REPUTATION_TAGS = { customer: 'customer', identity: 'identity' } as const;

/**
 * A value too long for one tag continues in `customer-1`, `customer-2`, ... (an id of 128
 * characters outside ASCII can take 1,536), so every id maps back to its customer.
 */
export const reputationTags = (customerId: string, identity: string): Record<string, string> => {
  const tags: Record<string, string> = {};
  const chunks = (name: string, text: string) => {
    const encoded = encodeTagValue(text);
    for (let i = 0, n = 0; i < encoded.length || n === 0; n++) {
      // Never split an escape: cut before a `_` that has not its two hex digits inside the chunk.
      let end = Math.min(encoded.length, i + TAG_VALUE_LIMIT);
      const lastEscape = encoded.lastIndexOf('_', end - 1);
      if (end < encoded.length && lastEscape > end - 3 && lastEscape >= i) end = lastEscape;
      tags[n === 0 ? name : `${name}-${n}`] = encoded.slice(i, end);
      i = end;
    }
  };
  chunks(REPUTATION_TAGS.customer, customerId);
  chunks(REPUTATION_TAGS.identity, identity);
  return tags;
};

/** Reads a tag written by reputationTags back from the tags SES returns (name -> values). */
export const readReputationTag = (
  tags: Readonly<Record<string, readonly string[]>>,
  name: keyof typeof REPUTATION_TAGS,
): string | undefined => {
  const parts: string[] = [];
  for (let n = 0; ; n++) {
    const value = tags[n === 0 ? name : `${name}-${n}`]?.[0];
    if (value === undefined) break;
    parts.push(value);
  }
  return parts.length === 0 ? undefined : decodeTagValue(parts.join(''));
};

/** The sending identity of a From address: its domain, as SES verifies it. */
export const sendingIdentity = (from: string): string => senderDomain(from).toLowerCase();

// ---- rates and the pause ---------------------------------------------------------------------------

/**
 * When marketing pauses itself. SES puts an account under review at 5% bounces or 0.1% complaints,
 * measured over a representative volume; we stop a little before, at 4% and 0.08%. The window is
 * the last 24 hours: a bad list import or broadcast shows within the day, and a week of good mail
 * before it does not hide it. Below 200 sends in the window there is no rate worth acting on (one
 * bounce in 3 sends is not a storm); from 200 sends up to 1,250, a single complaint is over 0.08%
 * and pauses, which is the threshold taken at its word.
 */
export const REPUTATION_LIMITS = {
  windowHours: 24,
  minimumSends: 200,
  bounceRate: 0.04,
  complaintRate: 0.0008,
} as const;

/** How long hourly counters are kept: the window, and a week for `rapport sending status`. */
export const REPUTATION_RETENTION_DAYS = 8;

/** One hour of one identity's sending, as SES reported it. */
export interface ReputationBucket {
  /** The hour it counts, `YYYY-MM-DDTHH`. */
  hour: string;
  sends: number;
  bounces: number;
  complaints: number;
}

export interface SendingPause {
  identity: string;
  status: 'paused' | 'resumed';
  /** When it paused, and the rates that paused it. */
  at: string;
  reason: string;
  resumedAt?: string | undefined;
}

export interface ReputationFigures {
  identity: string;
  from: string;
  to: string;
  sends: number;
  bounces: number;
  complaints: number;
  bounceRate: number;
  complaintRate: number;
  /** Why these figures pause marketing, if they do. */
  breach?: string | undefined;
}

/** The hour an instant counts in. */
export const hourOf = (iso: string): string => new Date(iso).toISOString().slice(0, 13);

/**
 * The hours the rolling window covers at `now`: the last `windowHours` hours. After a resume, only
 * the hours after the resume's own count, so the storm that paused it cannot pause it again at once;
 * a new pause needs new volume.
 */
export const windowHours = (now: string, resumedAt?: string): { from: string; to: string } => {
  const to = hourOf(now);
  let from = hourOf(
    new Date(Date.parse(now) - (REPUTATION_LIMITS.windowHours - 1) * 3_600_000).toISOString(),
  );
  if (resumedAt) {
    const after = hourOf(new Date(Date.parse(resumedAt) + 3_600_000).toISOString());
    if (after > from) from = after;
  }
  return { from, to };
};

const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

/** The window's rates and whether they pause marketing. */
export const reputationFigures = (
  identity: string,
  window: { from: string; to: string },
  buckets: readonly ReputationBucket[],
): ReputationFigures => {
  const inside = buckets.filter((b) => b.hour >= window.from && b.hour <= window.to);
  const sum = (field: 'sends' | 'bounces' | 'complaints') => inside.reduce((n, b) => n + b[field], 0);
  const sends = sum('sends');
  const bounces = sum('bounces');
  const complaints = sum('complaints');
  const bounceRate = sends === 0 ? 0 : bounces / sends;
  const complaintRate = sends === 0 ? 0 : complaints / sends;
  const limits = REPUTATION_LIMITS;
  const breaches: string[] = [];
  if (sends >= limits.minimumSends) {
    if (bounceRate >= limits.bounceRate)
      breaches.push(
        `bounce rate ${percent(bounceRate)} (${bounces} of ${sends}) >= ${percent(limits.bounceRate)}`,
      );
    if (complaintRate >= limits.complaintRate)
      breaches.push(
        `complaint rate ${percent(complaintRate)} (${complaints} of ${sends}) >= ${percent(limits.complaintRate)}`,
      );
  }
  return {
    identity,
    ...window,
    sends,
    bounces,
    complaints,
    bounceRate,
    complaintRate,
    ...(breaches.length > 0 ? { breach: breaches.join(', ') } : {}),
  };
};
