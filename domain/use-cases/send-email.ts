import { mailPermission } from '../consent.ts';
import type { SendEmailInput } from '../contracts/tasks.ts';
import { type CustomerProfile, firstName, profileAsOf } from '../customer.ts';
import { MailNotSentError, MailRejectedError, NotFoundError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import {
  capVerdict,
  type PacingRecord,
  type PacingRules,
  prunePacing,
  quietUntil,
  withHold,
  withoutHold,
  withSend,
} from '../pacing.ts';
import type {
  Clock,
  CustomerStore,
  Mailer,
  PacingWrite,
  ReputationStore,
  SendReasonCode,
  SendStatus,
  StoredSend,
} from '../ports.ts';
import { reputationTags, sendingIdentity } from '../reputation.ts';
import { renderEmail } from '../templates.ts';
import { type UnsubscribeLinks, unsubscribeLinkFor } from '../unsubscribe.ts';
import { retryTransient, withOptimisticRetry } from './retry.ts';

export type { SendEmailInput } from '../contracts/tasks.ts';

export type SendEmailResult =
  | { status: 'sent'; messageId: string }
  | { status: 'duplicate'; previous: SendStatus }
  | { status: 'failed'; reason: string }
  | { status: 'skipped'; code: SendReasonCode; reason: string }
  /** `due` is the wait the flow parks the journey with; it runs this step again then. */
  | { status: 'deferred'; code: 'quiet-hours' | 'cap'; reason: string; until: string; due: { at: string } }
  | { status: 'dropped'; code: 'stale'; reason: string };

type Deps = {
  store: CustomerStore;
  mailer: Mailer;
  clock: Clock;
  reputation: Pick<ReputationStore, 'getPause'>;
  unsubscribe?: UnsubscribeLinks | undefined;
};

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
 * Sends at most one email per (customer, flow, trigger event, step), and records what became of
 * it on the send record, in this order:
 * 1. a record in a final state (sending, sent, failed, dropped) means done before;
 * 2. consent (and suppression) for the topic: `skipped` with its reason code (decided again if
 *    the step runs again: consent may have come meanwhile);
 * 3. marketing only: quiet hours in the customer's time zone defer it to their end, never drop it;
 * 4. marketing only: the frequency caps across flows, checked and counted in one transaction with
 *    the claim, so two flows racing for the last slot cannot both pass: `deferred` until the cap
 *    frees, or `dropped` once waiting would make it older than the program's staleness;
 * 5. the claim (`sending`) is written before the provider is called. If the provider surely
 *    refused (throttled), the claim is released and the error retried; if the outcome is unknown
 *    (a crash, a timeout), the claim stays and no retry sends.
 */
export const sendEmail = async (input: SendEmailInput, deps: Deps): Promise<SendEmailResult> => {
  const { store, mailer, clock } = deps;
  const stored = await store.getProfile(input.customerId);
  if (!stored) throw new NotFoundError(`customer ${input.customerId} has no record yet`);
  const now = clock.now();
  const profile = profileAsOf(stored, now);
  const key = `${input.flowId}#${input.eventId}#${input.stepId}`;

  // Transactional email (a receipt, a statement asked for) goes at once, whatever the pacing says.
  const pacing = input.topic?.transactional ? undefined : input.pacing;
  // Only a paced send can have been deferred before: it reads when it was first due. An unpaced
  // one needs no read: its conditional write finds a final record (and then reads it).
  const previous = pacing ? await store.getSend(input.customerId, key) : undefined;
  if (previous && previous.status !== 'deferred' && previous.status !== 'skipped')
    return { status: 'duplicate', previous: previous.status };
  const at = now.toISOString();
  const deferrals = previous?.deferrals ?? 0;
  const base = {
    customerId: input.customerId,
    key,
    templateId: input.template.id,
    at,
    // Unpaced sends keep the record they always had.
    ...(pacing ? { firstAt: previous?.firstAt ?? previous?.at ?? at, deferrals } : {}),
  };
  /** Records a send that does not go now; a record someone else finalized meanwhile wins. */
  const record = async (send: StoredSend, result: SendEmailResult): Promise<SendEmailResult> =>
    (await store.writeSend(send)) === 'taken' ? duplicateOf(store, input.customerId, key) : result;

  // Every email has a topic (the compiler refuses a send without one); without, it is marketing.
  const topic = input.topic ?? { id: 'marketing', transactional: false };
  const permission = mailPermission(profile, topic);
  if (!permission.receives) {
    const { code, reason } = permission;
    return record({ ...base, status: 'skipped', code, reason }, { status: 'skipped', code, reason });
  }

  // Reputation (domain/reputation.ts): marketing from a paused identity waits for a review.
  const identity = sendingIdentity(input.sender.from);
  if (!topic.transactional && (await deps.reputation.getPause(identity))?.status === 'paused') {
    const reason = `marketing from ${identity} is paused for a reputation review (rapport sending resume)`;
    return record(
      { ...base, status: 'skipped', code: 'paused', reason },
      { status: 'skipped', code: 'paused', reason },
    );
  }

  const quiet = pacing && quietUntil(now, profile.timeZone ?? pacing.timeZone, pacing.quietHours);
  if (pacing?.quietHours && quiet) {
    const until = quiet.toISOString();
    const reason = `quiet hours ${pacing.quietHours.from}-${pacing.quietHours.to} in the customer's time zone`;
    return record(
      { ...base, status: 'deferred', code: 'quiet-hours', reason, until, deferrals: deferrals + 1 },
      { status: 'deferred', code: 'quiet-hours', reason, until, due: { at: until } },
    );
  }

  // One-click unsubscribe (RFC 8058): a marketing email carries its signed opt-out link, in the
  // List-Unsubscribe headers and in the footer, with the sender's postal address (CAN-SPAM), which
  // is also the way to the preference page; only an email on a transactional topic goes without.
  const unsubscribe = await unsubscribeLinkFor(
    { customerId: input.customerId, topic: input.topic, from: input.sender.from },
    deps.unsubscribe,
    now,
  );
  const footer = topic.transactional
    ? undefined
    : {
        postalAddress: input.sender.postalAddress,
        unsubscribeUrl: unsubscribe?.url,
        preferencesUrl: unsubscribe?.url,
      };
  const rendered = renderEmail(input.template, templateData(profile, input), footer);

  const claim = { ...base, status: 'sending' } as const;
  if (pacing && pacing.caps.length > 0) {
    const held = await claimUnderCaps(claim, pacing, deps);
    if (held) return held;
  } else if ((await store.writeSend(claim)) === 'taken') {
    return duplicateOf(store, input.customerId, key);
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

const duplicateOf = async (
  store: CustomerStore,
  customerId: string,
  key: string,
): Promise<SendEmailResult> => {
  const previous = await store.getSend(customerId, key);
  return { status: 'duplicate', previous: previous?.status ?? 'sending' };
};

/**
 * Claims the send under the frequency caps, or records why it waits or was dropped: the decision
 * and the customer's pacing record are written in one transaction guarded by the record's version,
 * so of two sends racing for one slot, one claims it and the other reads again and waits.
 * Returns undefined when the claim is written and the email may go.
 */
const claimUnderCaps = async (
  claim: StoredSend,
  pacing: PacingRules,
  { store, clock }: Deps,
): Promise<SendEmailResult | undefined> => {
  const now = clock.now();
  const message = { key: claim.key, firstDueAt: claim.firstAt ?? claim.at };
  let result: SendEmailResult | undefined;
  await withOptimisticRetry(clock, async () => {
    const current: PacingRecord = prunePacing(await store.getPacing(claim.customerId), pacing.caps, now);
    const verdict = capVerdict(current, pacing, message, now);
    const guard = (next: PacingRecord): PacingWrite => ({ expectedVersion: current.version, next });
    let send: StoredSend;
    let write: PacingWrite;
    if (verdict.verdict === 'send') {
      send = claim;
      write = guard(withSend(current, { key: claim.key, at: claim.at }));
      result = undefined;
    } else if (verdict.verdict === 'defer') {
      const until = verdict.until.toISOString();
      const reason = capsText(pacing, 'the frequency caps');
      const deferrals = (claim.deferrals ?? 0) + 1;
      send = { ...claim, status: 'deferred', code: 'cap', reason, until, deferrals };
      const hold = { key: claim.key, priority: pacing.priority, since: message.firstDueAt, until };
      write = guard(withHold(current, hold));
      result = { status: 'deferred', code: 'cap', reason, until, due: { at: until } };
    } else {
      const reason = capsText(
        pacing,
        `waiting longer than its staleness allows: the caps free a slot at ${verdict.until.toISOString()};`,
      );
      send = { ...claim, status: 'dropped', code: 'stale', reason, until: undefined };
      write = guard(withoutHold(current, claim.key));
      result = { status: 'dropped', code: 'stale', reason };
    }
    const outcome = await store.writeSend(send, write);
    if (outcome === 'taken') {
      result = await duplicateOf(store, claim.customerId, claim.key);
      return { outcome: 'applied' as const };
    }
    return { outcome };
  });
  return result;
};

const capsText = (pacing: PacingRules, lead: string) =>
  `${lead} ${pacing.caps.map((cap) => `${cap.emails} in ${cap.days} days`).join(', ')} (staleness ${pacing.staleAfterMinutes} minutes, priority ${pacing.priority})`;
