import * as z from 'zod';
import { ALL_MARKETING } from './consent.ts';
import type { Signer } from './ports.ts';
import { senderDomain } from './program.ts';

// The token in an unsubscribe link (RFC 8058): whom and which topic it opts out, and when it was
// issued, signed with a key only Rapport holds. It never expires: a link in a year-old email must
// still unsubscribe. It is a bearer credential for one customer's consent and nothing else.

/** Longer than any token we issue (a 128-character id of 4-byte characters) and short enough to refuse early. */
export const MAX_TOKEN_LENGTH = 1024;

const VERSION = 1;
// Signed beside the payload so a signature made under this key for anything else (should the key ever
// be shared) can never pass as a token.
const PURPOSE = 'rapport-unsubscribe';

const payloadSchema = z.tuple([
  z.literal(VERSION),
  z.string().min(1).max(128),
  z.union([z.literal(ALL_MARKETING), z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/)]),
  z.number().int().nonnegative(),
]);

export interface UnsubscribeClaim {
  customerId: string;
  /** A topic id, or ALL_MARKETING. */
  topic: string;
  issuedAt: string;
}

export type TokenCheck = { valid: true; claim: UnsubscribeClaim } | { valid: false; reason: string };

const toBase64Url = (bytes: Uint8Array): string => {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const fromBase64Url = (text: string): Uint8Array | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    // One spelling per token: a last character differing only in unused bits is a different token.
    return toBase64Url(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
};

/** Compares every byte whatever the first difference, so the time taken says nothing about the signature. */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
};

const signature = (signer: Signer, payload: string) => signer.sign(`${PURPOSE}\n${payload}`);

/** `<payload>.<signature>`, both base64url: safe in a URL path and in a mailto subject. */
export const issueUnsubscribeToken = async (signer: Signer, claim: UnsubscribeClaim): Promise<string> => {
  const payload: z.infer<typeof payloadSchema> = payloadSchema.parse([
    VERSION,
    claim.customerId,
    claim.topic,
    Math.floor(Date.parse(claim.issuedAt) / 1000),
  ]);
  const encoded = toBase64Url(new TextEncoder().encode(JSON.stringify(payload)));
  return `${encoded}.${toBase64Url(await signature(signer, encoded))}`;
};

/** The claim of a token this key signed; anything else (tampered, truncated, foreign) is invalid. */
export const verifyUnsubscribeToken = async (signer: Signer, token: string): Promise<TokenCheck> => {
  if (token.length > MAX_TOKEN_LENGTH) return { valid: false, reason: 'token too long' };
  const [encoded, mac, ...rest] = token.split('.');
  if (!encoded || !mac || rest.length > 0) return { valid: false, reason: 'not a token' };
  const given = fromBase64Url(mac);
  if (!given) return { valid: false, reason: 'not a token' };
  // The signature first: nothing of an unsigned payload is parsed, so a forged one tells nothing.
  if (!sameBytes(given, await signature(signer, encoded))) return { valid: false, reason: 'bad signature' };
  const bytes = fromBase64Url(encoded);
  let json: unknown;
  try {
    json = bytes ? JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) : undefined;
  } catch {
    json = undefined;
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return { valid: false, reason: 'unreadable payload' };
  const [, customerId, topic, issuedAtSeconds] = parsed.data;
  return {
    valid: true,
    claim: { customerId, topic, issuedAt: new Date(issuedAtSeconds * 1000).toISOString() },
  };
};

/** Where a marketing email's unsubscribe link and header point: `<base>u/<token>`. */
export const unsubscribeUrl = (baseUrl: string, token: string): string =>
  `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}u/${token}`;

/**
 * The headers RFC 2369 and RFC 8058 ask of a marketing email: the HTTPS link first (mailbox providers
 * POST `List-Unsubscribe=One-Click` to it), a mailto as the fallback some clients still use.
 */
export const unsubscribeHeaders = (
  url: string,
  token: string,
  mailDomain: string,
): Record<string, string> => ({
  'List-Unsubscribe': `<${url}>, <mailto:unsubscribe@${mailDomain}?subject=${token}>`,
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
});

/** Where links point and what signs them: the unsubscribe endpoint's base URL and its key. */
export interface UnsubscribeLinks {
  baseUrl: string;
  signer: Signer;
}

/**
 * The opt-out link of one email and its headers, or undefined for a transactional one (a receipt
 * is not something to unsubscribe from). An email without a topic counts as marketing to all topics.
 */
export const unsubscribeLinkFor = async (
  email: { customerId: string; topic?: { id: string; transactional: boolean } | undefined; from: string },
  links: UnsubscribeLinks | undefined,
  now: Date,
): Promise<{ url: string; headers: Record<string, string> } | undefined> => {
  if (email.topic?.transactional || !links) return undefined;
  const token = await issueUnsubscribeToken(links.signer, {
    customerId: email.customerId,
    topic: email.topic?.id ?? ALL_MARKETING,
    issuedAt: now.toISOString(),
  });
  const url = unsubscribeUrl(links.baseUrl, token);
  return { url, headers: unsubscribeHeaders(url, token, senderDomain(email.from)) };
};
