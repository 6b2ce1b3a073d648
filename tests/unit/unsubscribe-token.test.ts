import { describe, expect, it } from 'vitest';
import { ALL_MARKETING } from '../../domain/consent.ts';
import {
  issueUnsubscribeToken,
  MAX_TOKEN_LENGTH,
  unsubscribeHeaders,
  unsubscribeUrl,
  verifyUnsubscribeToken,
} from '../../domain/unsubscribe.ts';
import { testSigner } from '../support/in-memory-customer-store.ts';

const signer = testSigner('the unsubscribe key of one deployment');
const claim = { customerId: 'c-1', topic: 'promotions', issuedAt: '2026-03-01T10:00:00.000Z' };

/** The token with one character of its payload or signature changed. */
const flip = (token: string, at: number) =>
  `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;

describe('unsubscribe tokens', () => {
  it('reads back the customer, topic and issue time it was issued for', async () => {
    const token = await issueUnsubscribeToken(signer, claim);
    expect(await verifyUnsubscribeToken(signer, token)).toEqual({ valid: true, claim });
  });

  it('carries the all-topics key and ids with any characters', async () => {
    const odd = { customerId: 'kund/ä 7.1', topic: ALL_MARKETING, issuedAt: '1997-01-01T00:00:00.000Z' };
    const token = await issueUnsubscribeToken(signer, odd);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(await verifyUnsubscribeToken(signer, token)).toEqual({ valid: true, claim: odd });
  });

  it('refuses a token whose payload or signature was changed anywhere', async () => {
    const token = await issueUnsubscribeToken(signer, claim);
    for (let at = 0; at < token.length; at++) {
      if (token[at] === '.') continue;
      expect((await verifyUnsubscribeToken(signer, flip(token, at))).valid, `changed at ${at}`).toBe(false);
    }
  });

  it('refuses a token another customer id was spliced into', async () => {
    const mine = await issueUnsubscribeToken(signer, claim);
    const theirs = await issueUnsubscribeToken(signer, { ...claim, customerId: 'c-2' });
    const spliced = `${theirs.split('.')[0]}.${mine.split('.')[1]}`;
    expect(await verifyUnsubscribeToken(signer, spliced)).toEqual({ valid: false, reason: 'bad signature' });
  });

  it('refuses a token signed under another key', async () => {
    const foreign = await issueUnsubscribeToken(testSigner('a key an outsider guessed, long'), claim);
    expect((await verifyUnsubscribeToken(signer, foreign)).valid).toBe(false);
  });

  it('refuses garbage, empty parts, extra parts and overlong tokens without reading them', async () => {
    const token = await issueUnsubscribeToken(signer, claim);
    for (const bad of [
      '',
      '.',
      'abc',
      `${token}.x`,
      `.${token.split('.')[1]}`,
      'a+b.c/d',
      'x'.repeat(2000),
    ]) {
      expect((await verifyUnsubscribeToken(signer, bad)).valid, bad.slice(0, 20)).toBe(false);
    }
    expect(await verifyUnsubscribeToken(signer, `${token}${'A'.repeat(MAX_TOKEN_LENGTH)}`)).toEqual({
      valid: false,
      reason: 'token too long',
    });
  });

  it('refuses a validly signed payload that is not a claim', async () => {
    // Someone holding the key is the only one who could make this; the parser still names it.
    const encoded = btoa(JSON.stringify([1, '', 'promotions', 0])).replace(/=+$/, '');
    const mac = btoa(String.fromCharCode(...(await signer.sign(`rapport-unsubscribe\n${encoded}`))))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(await verifyUnsubscribeToken(signer, `${encoded}.${mac}`)).toEqual({
      valid: false,
      reason: 'unreadable payload',
    });
  });

  it('stays short enough for a mail header line', async () => {
    const token = await issueUnsubscribeToken(signer, { ...claim, customerId: 'c'.repeat(128) });
    expect(token.length).toBeLessThan(300);
  });
});

describe('unsubscribe headers', () => {
  it('offers the HTTPS link first and the mailto second, with one-click POST', () => {
    const url = unsubscribeUrl('https://abc.lambda-url.eu-west-1.on.aws/', 'T.S');
    expect(url).toBe('https://abc.lambda-url.eu-west-1.on.aws/u/T.S');
    expect(unsubscribeUrl('http://127.0.0.1:4011', 'T.S')).toBe('http://127.0.0.1:4011/u/T.S');
    expect(unsubscribeHeaders(url, 'T.S', 'example.com')).toEqual({
      'List-Unsubscribe':
        '<https://abc.lambda-url.eu-west-1.on.aws/u/T.S>, <mailto:unsubscribe@example.com?subject=T.S>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });
});

describe('unsubscribe token spelling', () => {
  it('refuses a signature whose last character differs only in unused bits', async () => {
    const token = await issueUnsubscribeToken(signer, claim);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(token.at(-1) ?? '');
    // 32 bytes end in a character whose two lowest bits carry nothing.
    const twin = `${token.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(await verifyUnsubscribeToken(signer, twin)).toEqual({ valid: false, reason: 'not a token' });
  });
});
