import { ALL_MARKETING, type ConsentSource, mergeConsent, sameConsent } from '../consent.ts';
import { InvalidEventError } from '../errors.ts';
import type { Clock, CustomerStore } from '../ports.ts';
import type { Program } from '../program.ts';
import { withOptimisticRetry } from './retry.ts';

export interface ConsentChangeInput {
  customerId: string;
  /** Topic ids, and `*` for every marketing topic, each granted or not. */
  topics: Readonly<Record<string, boolean>>;
  /** When the customer said so. */
  at: string;
  source: ConsentSource;
}

export type ConsentChangeOutcome = 'applied' | 'unchanged' | 'no-customer';

/**
 * Records what a customer said about marketing email, by the one rule (newer fact wins per topic),
 * in one version-guarded write. The unsubscribe endpoint, the preference page, complaints and the
 * shop's consent-changed events all come here; the next send reads it.
 */
export const changeConsent = async (
  input: ConsentChangeInput,
  deps: { store: CustomerStore; clock: Clock },
): Promise<{ outcome: ConsentChangeOutcome }> => {
  const { store, clock } = deps;
  let found = true;
  const { outcome } = await withOptimisticRetry(clock, async () => {
    const current = await store.getProfile(input.customerId);
    found = current !== undefined;
    const consent = mergeConsent(current?.consent, input.topics, input.at, input.source);
    // An erased customer's consent went with the rest of their data; nothing records it again.
    if (!current || current.erasedAt !== undefined || sameConsent(consent, current.consent))
      return { outcome: 'duplicate' as const };
    const saved = await store.saveProfile(
      input.customerId,
      { consent },
      current.version,
      clock.now().toISOString(),
    );
    return { outcome: saved };
  });
  if (!found) return { outcome: 'no-customer' };
  // Conflicts were retried above; what is left either wrote or found nothing to change.
  return { outcome: outcome === 'applied' ? 'applied' : 'unchanged' };
};

/**
 * Consent an event may state: marketing topics of the program. A transactional topic needs no
 * consent and cannot be declined, so naming one is a mistake in the shop's integration.
 */
export const checkTopics = (
  topics: Readonly<Record<string, boolean>>,
  program: Program,
  path: string,
): void => {
  for (const topic of Object.keys(topics)) {
    if (topic === ALL_MARKETING) continue;
    const known = program.topics.find((t) => t.id === topic);
    const field = `${path}.${topic}`;
    if (!known)
      throw new InvalidEventError(
        `${field}: no topic "${topic}" in the program (topics: ${program.topics.map((t) => t.id).join(', ') || 'none'})`,
        field,
      );
    if (known.transactional)
      throw new InvalidEventError(`${field}: ${topic} is transactional; it needs no consent`, field);
  }
};
