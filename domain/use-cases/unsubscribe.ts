import { ALL_MARKETING, consentFor, mailPermission, type PermissionCode } from '../consent.ts';
import type { Clock, CustomerStore, Signer } from '../ports.ts';
import type { Program } from '../program.ts';
import { type UnsubscribeClaim, verifyUnsubscribeToken } from '../unsubscribe.ts';
import { changeConsent } from './consent.ts';

// What the unsubscribe endpoint does with a token: one-click opt-out (RFC 8058), the preference
// page's state, and one topic set from that page. Every path checks the signature before it reads
// or writes anything, and a token never expires for these.

export interface UnsubscribeDeps {
  store: CustomerStore;
  clock: Clock;
  signer: Signer;
  program: Pick<Program, 'name' | 'topics'>;
}

export interface TopicState {
  id: string;
  name: string;
  transactional: boolean;
  receives: boolean;
  code: PermissionCode;
}

export interface Preferences {
  programName: string;
  /** The address with most of it hidden: whoever holds the link sees whose page it is, not the address. */
  maskedEmail: string;
  /** The topic the link was for (ALL_MARKETING for all marketing). */
  linkTopic: string;
  /** Whether the customer has opted out of every marketing topic by the all-topics fact. */
  allOptedOut: boolean;
  topics: TopicState[];
}

export type TokenRefusal = { status: 'invalid-token' } | { status: 'no-customer' };

/** `a***@e***.com`: enough to recognise one's own address, not enough to learn someone's. */
export const maskEmail = (email: string): string => {
  const [local = '', domain = ''] = email.split('@');
  const [host = '', ...rest] = domain.split('.');
  const tld = rest.length > 0 ? `.${rest.at(-1)}` : '';
  return `${local.slice(0, 1)}***@${host.slice(0, 1)}***${tld}`;
};

const claimOf = async (token: string, signer: Signer): Promise<UnsubscribeClaim | undefined> => {
  const check = await verifyUnsubscribeToken(signer, token);
  return check.valid ? check.claim : undefined;
};

/** The marketing topic ids of the program, and the all-topics key. */
const settableTopics = (program: UnsubscribeDeps['program']): Set<string> =>
  new Set([ALL_MARKETING, ...program.topics.filter((t) => !t.transactional).map((t) => t.id)]);

export const preferencesFor = async (
  token: string,
  deps: UnsubscribeDeps,
): Promise<TokenRefusal | { status: 'ok'; preferences: Preferences }> => {
  const claim = await claimOf(token, deps.signer);
  if (!claim) return { status: 'invalid-token' };
  const profile = await deps.store.getProfile(claim.customerId);
  if (!profile) return { status: 'no-customer' };
  return {
    status: 'ok',
    preferences: {
      programName: deps.program.name,
      maskedEmail: maskEmail(profile.email),
      linkTopic: claim.topic,
      allOptedOut: consentFor(profile.consent, ALL_MARKETING)?.granted === false,
      topics: deps.program.topics.map((topic) => {
        const permission = mailPermission(profile, topic);
        return {
          id: topic.id,
          name: topic.name,
          transactional: topic.transactional,
          receives: permission.receives,
          code: permission.code,
        };
      }),
    },
  };
};

/**
 * One-click unsubscribe: the link's topic is opted out, now. A topic the program no longer has
 * (renamed, removed since the email went) opts out of every marketing topic: an unsubscribe that
 * does nothing is the one answer the law does not allow.
 */
export const unsubscribeOneClick = async (
  token: string,
  deps: UnsubscribeDeps,
): Promise<TokenRefusal | { status: 'ok'; topic: string; outcome: 'applied' | 'unchanged' }> => {
  const claim = await claimOf(token, deps.signer);
  if (!claim) return { status: 'invalid-token' };
  const topic = settableTopics(deps.program).has(claim.topic) ? claim.topic : ALL_MARKETING;
  const { outcome } = await changeConsent(
    {
      customerId: claim.customerId,
      topics: { [topic]: false },
      at: deps.clock.now().toISOString(),
      source: 'unsubscribe',
    },
    deps,
  );
  if (outcome === 'no-customer') return { status: 'no-customer' };
  return { status: 'ok', topic, outcome };
};

/** One topic (or all marketing) set from the preference page's buttons. */
export const setPreference = async (
  token: string,
  choice: { topic: string; granted: boolean },
  deps: UnsubscribeDeps,
): Promise<
  TokenRefusal | { status: 'unknown-topic' } | { status: 'ok'; outcome: 'applied' | 'unchanged' }
> => {
  const claim = await claimOf(token, deps.signer);
  if (!claim) return { status: 'invalid-token' };
  if (!settableTopics(deps.program).has(choice.topic)) return { status: 'unknown-topic' };
  const { outcome } = await changeConsent(
    {
      customerId: claim.customerId,
      topics: { [choice.topic]: choice.granted },
      at: deps.clock.now().toISOString(),
      source: 'preference-page',
    },
    deps,
  );
  if (outcome === 'no-customer') return { status: 'no-customer' };
  return { status: 'ok', outcome };
};
