import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  parseKeys,
  signatureHeader,
  TOLERANCE_SECONDS,
  verifySignature,
} from '../../functions/commons/request-signature.ts';
import { fromRoot } from '../../infra/paths.ts';

// The signed API's credential: what a client signs, and every way a request is refused.

const KEY = 'k'.repeat(40);
const OLD_KEY = 'o'.repeat(40);
const NOW = new Date('2026-03-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const BODY = '{"id":"e-1","type":"order.placed","detail":{"total":42.5}}';
const bytes = (text: string) => new TextEncoder().encode(text);

const verify = (header: string | undefined, body = BODY, keys = [KEY], now = NOW) =>
  verifySignature({ header, body: bytes(body), keys, now });

describe('request signatures', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 in hex, as openssl dgst -sha256 -hmac computes it', () => {
    const expected = createHmac('sha256', KEY).update(`${T}.${BODY}`).digest('hex');
    expect(computeSignature(KEY, T, BODY)).toBe(expected);
    expect(signatureHeader(KEY, T, BODY)).toBe(`t=${T},v1=${expected}`);
  });

  it('gives the signature docs/api.md works through, so the example there can be checked against', () => {
    const docs = readFileSync(fromRoot('docs/api.md'), 'utf8');
    const key = /With the key `([^`]+)`/.exec(docs)?.[1] ?? '';
    const t = Number(/at `t=(\d+)`/.exec(docs)?.[1]);
    const body = /the body\n\n```json\n(.+)\n```/.exec(docs)?.[1] ?? '';
    const documented = /is signed `v1=([0-9a-f]{64})`/.exec(docs)?.[1];
    expect(body).toContain('"type":"customer.registered"');
    expect(computeSignature(key, t, body)).toBe(documented);
  });

  it('accepts a request signed now, and one signed at the edge of the tolerance either way', () => {
    expect(verify(signatureHeader(KEY, T, BODY))).toMatchObject({ ok: true, timestamp: T });
    for (const t of [T - TOLERANCE_SECONDS, T + TOLERANCE_SECONDS])
      expect(verify(signatureHeader(KEY, t, BODY)).ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    const header = signatureHeader(KEY, T, BODY);
    expect(verify(header, BODY.replace('42.5', '4250'))).toEqual({
      ok: false,
      reason: 'signature: no v1 matches the body under any current key',
    });
  });

  it('refuses a signature made with another key', () => {
    expect(verify(signatureHeader('x'.repeat(40), T, BODY)).ok).toBe(false);
  });

  it('refuses a timestamp more than five minutes old, saying how old', () => {
    expect(verify(signatureHeader(KEY, T - TOLERANCE_SECONDS - 1, BODY))).toEqual({
      ok: false,
      reason: 'signature: t is 301 s old; at most 300 s is accepted (sign each request anew)',
    });
  });

  it('refuses a timestamp more than five minutes ahead', () => {
    const result = verify(signatureHeader(KEY, T + TOLERANCE_SECONDS + 60, BODY));
    expect(result).toEqual({
      ok: false,
      reason: 'signature: t is 360 s ahead of our clock; at most 300 s is accepted',
    });
  });

  it('refuses a signed timestamp moved to now: the time is part of what is signed', () => {
    const stale = signatureHeader(KEY, T - 3600, BODY);
    expect(verify(stale.replace(`t=${T - 3600}`, `t=${T}`)).ok).toBe(false);
  });

  it.each([
    [undefined, 'signature: missing rapport-signature header'],
    ['', 'signature: missing rapport-signature header'],
    ['v1=abc', 'signature: v1 must be 64 lower-case hex digits (HMAC-SHA256)'],
    [`v1=${'a'.repeat(64)}`, 'signature: no t=<unix seconds> element'],
    [`t=${T}`, 'signature: no v1=<hex HMAC-SHA256> element'],
    [`t=yesterday,v1=${'a'.repeat(64)}`, 'signature: t must be a unix time in seconds'],
    [`t=${T},t=${T},v1=${'a'.repeat(64)}`, 'signature: t is given twice'],
    [`t=${T};v1=${'a'.repeat(64)}`, 'signature: t must be a unix time in seconds'],
    ['garbage', 'signature: "garbage" is not a name=value element'],
    [`t=${T},v1=${'a'.repeat(2000)}`, 'signature: the rapport-signature header is too long'],
  ])('refuses the malformed header %j, naming what is wrong', (header, reason) => {
    const result = verify(header);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('ignores schemes it does not know, as long as one v1 matches', () => {
    expect(verify(`v0=abc,${signatureHeader(KEY, T, BODY)},v2=zzz`).ok).toBe(true);
  });

  it('takes either of two keys while one is rotated, and a header signed with both', () => {
    const keys = [KEY, OLD_KEY];
    expect(verify(signatureHeader(OLD_KEY, T, BODY), BODY, keys).ok).toBe(true);
    expect(verify(signatureHeader(KEY, T, BODY), BODY, keys).ok).toBe(true);
    expect(verify(signatureHeader([KEY, OLD_KEY], T, BODY), BODY, [KEY]).ok).toBe(true);
    expect(verify(signatureHeader(OLD_KEY, T, BODY), BODY, [KEY]).ok).toBe(false);
  });

  it('gives the same request digest whichever key signed it, and another for another body or time', () => {
    const digest = (header: string, body = BODY) => {
      const result = verify(header, body, [KEY, OLD_KEY]);
      return result.ok ? result.requestDigest : 'refused';
    };
    const first = digest(signatureHeader(KEY, T, BODY));
    expect(digest(signatureHeader(OLD_KEY, T, BODY))).toBe(first);
    expect(digest(signatureHeader(KEY, T + 1, BODY))).not.toBe(first);
    expect(digest(signatureHeader(KEY, T, `${BODY} `), `${BODY} `)).not.toBe(first);
  });

  it('reads one key or several separated by commas, and refuses short ones', () => {
    expect(parseKeys(KEY)).toEqual([KEY]);
    expect(parseKeys(` ${KEY},${OLD_KEY}\n`)).toEqual([KEY, OLD_KEY]);
    expect(() => parseKeys('short')).toThrow('at least 32 characters');
    expect(() => parseKeys(' ')).toThrow('holds no key');
  });
});
