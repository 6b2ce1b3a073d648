import { mailPermission } from '../consent.ts';
import type { SendEmailInput } from '../contracts/tasks.ts';
import { type CustomerProfile, firstName, profileAsOf } from '../customer.ts';
import { MailNotSentError, MailRejectedError, NotFoundError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import type { Clock, CustomerStore, Mailer, ReputationStore } from '../ports.ts';
import { reputationTags, sendingIdentity } from '../reputation.ts';
import { renderEmail } from '../templates.ts';
import { type UnsubscribeLinks, unsubscribeLinkFor } from '../unsubscribe.ts';
import { retryTransient } from './retry.ts';

export type { SendEmailInput } from '../contracts/tasks.ts';

export type SendEmailResult =
  | { status: 'sent'; messageId: string }
  | { status: 'duplicate'; previous: 'sending' | 'sent' | 'failed' }
  | { status: 'failed'; reason: string }
  | { status: 'skipped'; reason: string };

/** What a template reads: the customer as of now, the trigger event and earlier steps' results. */
export const templateData = (
  profile: CustomerProfile,
  input: Pick<SendEmailInput, 'currency' | 'context'>,
) => ({
  customer: {
    ...profile,
    firstName: firstName(profile.name),
    lifetimeSpend: formatMoney(profile.lifetimeSpendMinor, input.currency),
  },
  event: input.context.event,
  steps: input.context.steps,
});

/**
 * Sends at most one email per (customer, flow, trigger event, step): a claim is written before the
 * provider is called. If the provider surely refused (throttled), the claim is released and the
 * error retried; if the outcome is unknown (a crash, a timeout), the claim stays and no retry sends.
 */
export const sendEmail = async (
  input: SendEmailInput,
  deps: {
    store: CustomerStore;
    mailer: Mailer;
    clock: Clock;
    reputation: Pick<ReputationStore, 'getPause'>;
    unsubscribe?: UnsubscribeLinks | undefined;
  },
): Promise<SendEmailResult> => {
  const { store, mailer, clock } = deps;
  const stored = await store.getProfile(input.customerId);
  if (!stored) throw new NotFoundError(`customer ${input.customerId} has no record yet`);
  const profile = profileAsOf(stored, clock.now());
  const key = `${input.flowId}#${input.eventId}#${input.stepId}`;
  // Every email has a topic (the compiler refuses a send without one); without, it is marketing.
  const permission = mailPermission(profile, input.topic ?? { id: 'marketing', transactional: false });
  if (!permission.receives) return { status: 'skipped', reason: permission.reason };

  // Reputation (domain/reputation.ts): marketing from a paused identity waits for a review.
  const identity = sendingIdentity(input.sender.from);
  if (
    !(input.topic?.transactional ?? false) &&
    (await deps.reputation.getPause(identity))?.status === 'paused'
  )
    return { status: 'skipped', reason: 'paused' };

  // One-click unsubscribe (RFC 8058): a marketing email carries its signed opt-out link, in the
  // List-Unsubscribe headers and for the template's footer.
  const unsubscribe = await unsubscribeLinkFor(
    { customerId: input.customerId, topic: input.topic, from: input.sender.from },
    deps.unsubscribe,
    clock.now(),
  );

  // Footer (templates): every marketing email ends with the sender's postal address (CAN-SPAM)
  // and its unsubscribe link, which is also the way to the preference page; only an email on a
  // transactional topic goes without.
  const footer = input.topic?.transactional
    ? undefined
    : {
        postalAddress: input.sender.postalAddress,
        unsubscribeUrl: unsubscribe?.url,
        preferencesUrl: unsubscribe?.url,
      };

  const rendered = renderEmail(input.template, templateData(profile, input), footer);

  const claim = await store.claimSend({
    customerId: input.customerId,
    key,
    templateId: input.template.id,
    at: clock.now().toISOString(),
  });
  if (claim === 'taken') {
    const previous = await store.getSend(input.customerId, key);
    return { status: 'duplicate', previous: previous?.status ?? 'sending' };
  }

  try {
    const { messageId } = await mailer.send({
      to: profile.email,
      from: input.sender.from,
      replyTo: input.sender.replyTo,
      ...rendered,
      tags: {
        flow: input.flowId,
        step: input.stepId,
        template: input.template.id,
        ...reputationTags(input.customerId, identity),
      },
      headers: unsubscribe?.headers,
    });
    // It went: a throttle must not leave it looking unsent-or-unknown ('sending').
    await retryTransient(clock, () => store.completeSend(input.customerId, key, messageId));
    return { status: 'sent', messageId };
  } catch (error) {
    if (error instanceof MailNotSentError) {
      await retryTransient(clock, () => store.releaseSend(input.customerId, key));
      throw error;
    }
    if (error instanceof MailRejectedError) {
      await retryTransient(clock, () => store.failSend(input.customerId, key, error.message));
      return { status: 'failed', reason: error.message };
    }
    throw error;
  }
};
