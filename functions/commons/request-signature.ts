import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// The signed API's credential (docs/api.md), after Stripe's webhook signatures: the header
// `Rapport-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Several v1 may
// be given and several keys may be valid, so a key is rotated without a moment when either side
// refuses the other. Pure: the keys and the time are handed in; the router calls it for every
// request, so no route ever sees one that is not signed.

export const SIGNATURE_HEADER = 'rapport-signature';

/** How far the signed time may be from ours, either way: old enough to be a replay, or forged ahead. */
export const TOLERANCE_SECONDS = 300;

/** Long enough that no key is guessable; the local runtime and CDK generate 43 and 64 characters. */
export const MIN_KEY_LENGTH = 32;

/** More than any rotation needs; a header of thousands of v1 would be work for nothing. */
const MAX_SIGNATURES = 8;
const MAX_HEADER_LENGTH = 1024;

/** The hex signature of a body signed at `timestamp` (unix seconds). */
export const computeSignature = (key: string, timestamp: number, body: Uint8Array | string): string =>
  createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex');

/**
 * What a request signs after its time: its body; a request without one (a read) signs its method
 * and target instead (`GET /v1/coupons/RWD-7KQ2M9XPTA`), so a read's signature is good for that
 * read alone, never for another path.
 */
export const signedContent = (
  method: string,
  target: string,
  body: Uint8Array | string,
): Uint8Array | string => (body.length > 0 ? body : `${method.toUpperCase()} ${target}`);

/** The header a client sends: one v1 per key it signs with (two while a key is rotated). */
export const signatureHeader = (
  keys: string | readonly string[],
  timestamp: number,
  body: Uint8Array | string,
): string =>
  [`t=${timestamp}`, ...[keys].flat().map((key) => `v1=${computeSignature(key, timestamp, body)}`)].join(',');

export type Verification =
  | {
      ok: true;
      timestamp: number;
      /** What a replay is recognized by: the signed content, whichever key signed it. */
      requestDigest: string;
    }
  | { ok: false; reason: string };

const refused = (message: string): Verification => ({ ok: false, reason: `signature: ${message}` });

const HEX_SIGNATURE = /^[0-9a-f]{64}$/;

/** `t=...,v1=...,v1=...`; other schemes are ignored, as Stripe's receivers ignore them. */
const parseHeader = (header: string): { timestamp: number; signatures: string[] } | string => {
  if (header.length > MAX_HEADER_LENGTH) return `the ${SIGNATURE_HEADER} header is too long`;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const element of header.split(',')) {
    const equals = element.indexOf('=');
    if (equals < 1) return `"${element.trim().slice(0, 16)}" is not a name=value element`;
    const name = element.slice(0, equals).trim();
    const value = element.slice(equals + 1).trim();
    if (name === 't') {
      if (timestamp !== undefined) return 't is given twice';
      if (!/^\d{1,12}$/.test(value)) return 't must be a unix time in seconds';
      timestamp = Number(value);
    } else if (name === 'v1') {
      if (!HEX_SIGNATURE.test(value)) return 'v1 must be 64 lower-case hex digits (HMAC-SHA256)';
      signatures.push(value);
    }
  }
  if (timestamp === undefined) return 'no t=<unix seconds> element';
  if (signatures.length === 0) return 'no v1=<hex HMAC-SHA256> element';
  if (signatures.length > MAX_SIGNATURES) return `at most ${MAX_SIGNATURES} v1 elements`;
  return { timestamp, signatures };
};

/**
 * Whether `header` signs `body` under one of `keys`, at a time within TOLERANCE_SECONDS of `now`.
 * Every candidate is compared in constant time, and each comparison runs whatever the others gave,
 * so the answer's timing says nothing about which signature or key came close.
 */
export const verifySignature = (request: {
  header: string | undefined;
  body: Uint8Array;
  keys: readonly string[];
  now: Date;
}): Verification => {
  if (request.header === undefined || request.header.trim() === '')
    return refused(
      `missing ${SIGNATURE_HEADER} header (t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">)`,
    );
  const parsed = parseHeader(request.header);
  if (typeof parsed === 'string') return refused(parsed);
  const { timestamp, signatures } = parsed;
  const drift = Math.round(request.now.getTime() / 1000) - timestamp;
  if (drift > TOLERANCE_SECONDS)
    return refused(
      `t is ${drift} s old; at most ${TOLERANCE_SECONDS} s is accepted (sign each request anew)`,
    );
  if (drift < -TOLERANCE_SECONDS)
    return refused(`t is ${-drift} s ahead of our clock; at most ${TOLERANCE_SECONDS} s is accepted`);
  let matched = false;
  for (const key of request.keys) {
    const expected = Buffer.from(computeSignature(key, timestamp, request.body), 'hex');
    // Both are 32 bytes: the header's were checked to be 64 hex digits.
    for (const signature of signatures)
      if (timingSafeEqual(expected, Buffer.from(signature, 'hex'))) matched = true;
  }
  if (!matched) return refused('no v1 matches the body under any current key');
  const requestDigest = createHash('sha256').update(`${timestamp}.`).update(request.body).digest('hex');
  return { ok: true, timestamp, requestDigest };
};

/** The keys a secret holds: one, or several separated by commas or white space (while rotating). */
export const parseKeys = (text: string): string[] => {
  const keys = text.split(/[\s,]+/).filter((key) => key !== '');
  if (keys.length === 0) throw new Error('the API key secret holds no key');
  const short = keys.find((key) => key.length < MIN_KEY_LENGTH);
  if (short !== undefined)
    throw new Error(`every API key must be at least ${MIN_KEY_LENGTH} characters (one has ${short.length})`);
  return keys;
};
