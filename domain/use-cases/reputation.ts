import { ALL_MARKETING } from '../consent.ts';
import type { SesEvent } from '../contracts/ses-event.ts';
import type { Clock, CustomerStore, ReputationStore, WriteOutcome } from '../ports.ts';
import {
  hourOf,
  readReputationTag,
  reputationFigures,
  type Suppression,
  suppressionChange,
  windowHours,
} from '../reputation.ts';
import { type ConsentChangeOutcome, changeConsent } from './consent.ts';
import { withOptimisticRetry } from './retry.ts';

export interface SesEventResult {
  eventType: SesEvent['detail']['eventType'];
  /** Mail not sent by Rapport (no identity tag) is left alone. */
  identity?: string | undefined;
  customerId?: string | undefined;
  counted?: 'applied' | 'duplicate' | undefined;
  suppression?: 'applied' | 'unchanged' | 'no-customer' | 'other-address' | undefined;
  /** A complaint opts the customer out of every marketing topic (source `complaint`). */
  optOut?: ConsentChangeOutcome | undefined;
  paused?: 'applied' | 'already-paused' | undefined;
}

/**
 * What SES reports after a send. Every step is safe to repeat, so a redelivered event (EventBridge
 * delivers at least once, SES may publish twice) changes nothing: the suppression is newer-fact-wins,
 * a bounce or complaint is counted once per message, and the pause is written once. The
 * suppression comes first: a crash after it and before the counter is finished by the retry.
 */
export const recordSesEvent = async (
  event: SesEvent,
  deps: { store: CustomerStore; reputation: ReputationStore; clock: Clock },
): Promise<SesEventResult> => {
  const { detail } = event;
  const identity = readReputationTag(detail.mail.tags, 'identity');
  const customerId = readReputationTag(detail.mail.tags, 'customer');
  const result: SesEventResult = { eventType: detail.eventType, identity, customerId };
  if (identity === undefined) return result;
  const { reputation } = deps;

  if (detail.eventType === 'Send') {
    await reputation.countSends(identity, hourOf(detail.mail.timestamp), 1);
    return result;
  }
  let feedback: { kind: 'bounces' | 'complaints'; suppression: Suppression; recipients: string[] };
  if (detail.eventType === 'Bounce' && detail.bounce.bounceType === 'Permanent') {
    feedback = {
      kind: 'bounces',
      suppression: { reason: 'hard-bounce', at: detail.bounce.timestamp },
      recipients: detail.bounce.bouncedRecipients.map((r) => r.emailAddress),
    };
  } else if (detail.eventType === 'Complaint') {
    feedback = {
      kind: 'complaints',
      suppression: { reason: 'complaint', at: detail.complaint.timestamp },
      recipients: detail.complaint.complainedRecipients.map((r) => r.emailAddress),
    };
  } else {
    // Deliveries, rejects (a virus) and soft bounces say nothing about the list's quality.
    return result;
  }

  if (customerId !== undefined) {
    result.suppression = await suppress(customerId, feedback.suppression, feedback.recipients, deps);
    // Not for an address the customer has replaced since: the complaint was not the new address's.
    if (feedback.kind === 'complaints' && result.suppression !== 'other-address') {
      const { outcome } = await changeConsent(
        { customerId, topics: { [ALL_MARKETING]: false }, at: feedback.suppression.at, source: 'complaint' },
        deps,
      );
      result.optOut = outcome;
    }
  }
  // Counted in the hour of the send it answers, so it meets the sends it is a rate of.
  result.counted = await reputation.countFeedback(
    identity,
    hourOf(detail.mail.timestamp),
    feedback.kind,
    `${detail.eventType}#${detail.mail.messageId}`,
  );
  // Also after a duplicate: the first delivery may have died between counting and pausing.
  result.paused = await pauseIfBreached(identity, deps);
  return result;
};

/** Suppresses the customer, if the address SES names is still theirs (an address changed since is not). */
const suppress = async (
  customerId: string,
  suppression: Suppression,
  recipients: readonly string[],
  deps: { store: CustomerStore; clock: Clock },
): Promise<SesEventResult['suppression']> => {
  type Attempt = { outcome: WriteOutcome; why?: 'no-customer' | 'other-address' | 'unchanged' };
  const { outcome, why } = await withOptimisticRetry<Attempt>(deps.clock, async () => {
    const profile = await deps.store.getProfile(customerId);
    if (!profile) return { outcome: 'duplicate', why: 'no-customer' };
    const address = profile.email.toLowerCase();
    if (!recipients.some((r) => r.toLowerCase() === address))
      return { outcome: 'duplicate', why: 'other-address' };
    const next = suppressionChange(profile.suppression, suppression);
    if (!next) return { outcome: 'duplicate', why: 'unchanged' };
    return {
      outcome: await deps.store.saveProfile(
        customerId,
        { suppression: next },
        profile.version,
        suppression.at,
      ),
    };
  });
  return why ?? (outcome === 'applied' ? 'applied' : 'unchanged');
};

const pauseIfBreached = async (
  identity: string,
  deps: { reputation: ReputationStore; clock: Clock },
): Promise<SesEventResult['paused']> => {
  const { reputation, clock } = deps;
  const now = clock.now().toISOString();
  const pause = await reputation.getPause(identity);
  if (pause?.status === 'paused') return 'already-paused';
  const window = windowHours(now, pause?.resumedAt);
  const figures = reputationFigures(
    identity,
    window,
    await reputation.buckets(identity, window.from, window.to),
  );
  if (!figures.breach) return undefined;
  return reputation.pause({ identity, status: 'paused', at: now, reason: figures.breach });
};

/** The identity's rates over the window as `rapport sending status` shows them. */
export const sendingStatus = async (
  identity: string,
  deps: { reputation: ReputationStore; clock: Clock },
) => {
  const now = deps.clock.now().toISOString();
  const pause = await deps.reputation.getPause(identity);
  const window = windowHours(now, pause?.status === 'resumed' ? pause.resumedAt : undefined);
  const figures = reputationFigures(
    identity,
    window,
    await deps.reputation.buckets(identity, window.from, window.to),
  );
  return { ...figures, pause };
};
