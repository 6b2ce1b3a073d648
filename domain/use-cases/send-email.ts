import type { SendEmailInput } from '../contracts/tasks.ts';
import { firstName, profileAsOf, topicPermission } from '../customer.ts';
import { MailNotSentError, MailRejectedError, NotFoundError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import type { Clock, CustomerStore, Mailer } from '../ports.ts';
import { renderEmail } from '../templates.ts';
import { retryTransient } from './retry.ts';

export type { SendEmailInput } from '../contracts/tasks.ts';

export type SendEmailResult =
  | { status: 'sent'; messageId: string }
  | { status: 'duplicate'; previous: 'sending' | 'sent' | 'failed' }
  | { status: 'failed'; reason: string }
  | { status: 'skipped'; reason: string };

/**
 * Sends at most one email per (customer, flow, trigger event, step): a claim is written before the
 * provider is called. If the provider surely refused (throttled), the claim is released and the
 * error retried; if the outcome is unknown (a crash, a timeout), the claim stays and no retry sends.
 */
export const sendEmail = async (
  input: SendEmailInput,
  deps: { store: CustomerStore; mailer: Mailer; clock: Clock },
): Promise<SendEmailResult> => {
  const { store, mailer, clock } = deps;
  const stored = await store.getProfile(input.customerId);
  if (!stored) throw new NotFoundError(`customer ${input.customerId} has no record yet`);
  const profile = profileAsOf(stored, clock.now());
  // privacy: an erased customer has no address and asked for no more mail, of any kind.
  if (profile.erasedAt) return { status: 'skipped', reason: 'erased' };
  const key = `${input.flowId}#${input.eventId}#${input.stepId}`;
  const permission = input.topic ? topicPermission(profile, input.topic) : undefined;
  if (permission && !permission.receives) return { status: 'skipped', reason: permission.reason };

  const rendered = renderEmail(input.template, {
    customer: {
      ...profile,
      firstName: firstName(profile.name),
      lifetimeSpend: formatMoney(profile.lifetimeSpendMinor, input.currency),
    },
    event: input.context.event,
    steps: input.context.steps,
  });

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
      tags: { flow: input.flowId, step: input.stepId, template: input.template.id },
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
