// Consent to marketing email, per topic, as facts with a time and a source: the one rule the
// mailer applies, the report shows and every writer (registration, checkout, the shop, the
// preference page, an unsubscribe, a complaint) goes through.

/** Where a consent fact came from; kept with it so "why does she get this?" has an answer. */
export const CONSENT_SOURCES = [
  'registration',
  'order',
  'shop',
  'preference-page',
  'unsubscribe',
  'complaint',
] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

/** The key for "every marketing topic": registration's marketingConsent, unsubscribe-all, a complaint. */
export const ALL_MARKETING = '*';

export interface TopicConsent {
  granted: boolean;
  /** When the fact was true (the event's time, not when it was recorded). */
  at: string;
  source: ConsentSource;
}

/** Per topic id, and `*` for all marketing topics. */
export type ConsentMap = Record<string, TopicConsent>;

export interface MailTopic {
  id: string;
  transactional: boolean;
}

/** Why an email may not go: each is also the send record's reason code for the skip. */
export type RefusalCode = 'no-consent' | 'opted-out' | 'suppressed' | 'erased';
export type PermissionCode = 'transactional' | 'consented' | RefusalCode;

export type Permission =
  | { receives: true; code: 'transactional' | 'consented'; reason: string }
  | { receives: false; code: RefusalCode; reason: string };

export interface MailState {
  consent?: ConsentMap | undefined;
  suppression?: { reason: 'hard-bounce' | 'complaint'; at: string } | undefined;
  erasedAt?: string | undefined;
}

/**
 * Which fact decides a topic: the newer of the topic's own and the all-marketing one. At the same
 * instant a refusal wins, so no tie ever sends mail the customer may have declined.
 */
export const consentFor = (consent: ConsentMap | undefined, topicId: string): TopicConsent | undefined => {
  const own = consent?.[topicId];
  const all = topicId === ALL_MARKETING ? undefined : consent?.[ALL_MARKETING];
  if (!own || !all) return own ?? all;
  const a = Date.parse(own.at);
  const b = Date.parse(all.at);
  if (a !== b) return a > b ? own : all;
  return own.granted ? all : own;
};

/**
 * Whether an email of a topic reaches the customer now, and why. Transactional mail (receipts,
 * statements asked for) needs no consent and no marketing opt-out blocks it; a dead address (a hard
 * bounce) and an erased customer get nothing; a complaint stops marketing.
 */
export const mailPermission = (profile: MailState, topic: MailTopic): Permission => {
  if (profile.erasedAt !== undefined)
    return { receives: false, code: 'erased', reason: `personal data erased ${profile.erasedAt}` };
  const suppression = profile.suppression;
  if (suppression && (suppression.reason === 'hard-bounce' || !topic.transactional))
    return {
      receives: false,
      code: 'suppressed',
      reason: `address suppressed after a ${suppression.reason} ${suppression.at}`,
    };
  if (topic.transactional) return { receives: true, code: 'transactional', reason: 'transactional' };
  const fact = consentFor(profile.consent, topic.id);
  if (!fact) return { receives: false, code: 'no-consent', reason: `no consent for ${topic.id}` };
  const scope = fact === profile.consent?.[topic.id] ? topic.id : 'all marketing';
  return fact.granted
    ? { receives: true, code: 'consented', reason: `consented to ${scope} (${fact.source}, ${fact.at})` }
    : { receives: false, code: 'opted-out', reason: `opted out of ${scope} (${fact.source}, ${fact.at})` };
};

/**
 * The consent map after facts of one time and source: each key changes only by a fact at least as
 * new as the one it holds, so a late or replayed older event (a registration that said yes before
 * the customer unsubscribed) changes nothing. Equal times apply, so a repeat is harmless.
 */
export const mergeConsent = (
  current: ConsentMap | undefined,
  topics: Readonly<Record<string, boolean>>,
  at: string,
  source: ConsentSource,
): ConsentMap => {
  const next: ConsentMap = { ...current };
  for (const [topic, granted] of Object.entries(topics)) {
    const held = next[topic];
    if (held && Date.parse(at) < Date.parse(held.at)) continue;
    next[topic] = { granted, at, source };
  }
  return next;
};

/** Whether two consent maps say the same (a write that changes nothing is skipped). */
export const sameConsent = (a: ConsentMap | undefined, b: ConsentMap | undefined): boolean => {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  for (const key of keys) {
    const x = a?.[key];
    const y = b?.[key];
    if (x?.granted !== y?.granted || x?.at !== y?.at || x?.source !== y?.source) return false;
  }
  return true;
};
