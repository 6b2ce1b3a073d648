import type { CustomerProfile, ProfileChanges } from '../customer.ts';
import { MailNotSentError } from '../errors.ts';
import type { PrivacyRequest } from '../events.ts';
import type {
  Clock,
  CustomerData,
  CustomerStore,
  DeadLetterStore,
  ExportSink,
  JourneyStore,
  Mailer,
  PrivacyStore,
} from '../ports.ts';
import type { Program } from '../program.ts';
import { retryTransient, withOptimisticRetry } from './retry.ts';

// Privacy requests the shop forwards (GDPR articles 15 and 17): an export of everything the table
// holds of a customer, and the erasure of what identifies them. The books stay: orders, ledger
// entries and coupons keep their amounts under the shop's customer id (a pseudonym only the shop
// can resolve), so `rapport reconcile` still balances; names, addresses, dates and the events'
// copies go.

export interface PrivacyDeps {
  store: CustomerStore & JourneyStore & PrivacyStore;
  clock: Clock;
  deadLetters: DeadLetterStore;
  exports: ExportSink;
  mailer: Mailer;
  program: Program;
}

/** Kinds an erasure keeps for the books, with no personal field left in them. */
export const KEPT_FOR_THE_BOOKS = ['order', 'ledger', 'coupon', 'points-due', 'flow-memory', 'journey'];

/**
 * The profile fields that identify a customer or describe them: an erased profile has none, and no
 * later event (an order, a registration, a consent change) writes them again.
 */
const PERSONAL_FIELDS = [
  'email',
  'name',
  'timeZone',
  'birthday',
  'registeredAt',
  'marketingConsent',
  'asOf',
  'attributes',
  'tags',
  'consent',
] as const;

/** What an event may still change on an erased profile: its figures, never its personal fields. */
export const withoutPersonalData = (
  current: Pick<CustomerProfile, 'erasedAt'> | undefined,
  changes: ProfileChanges,
): ProfileChanges => {
  if (current?.erasedAt === undefined) return changes;
  const kept: Record<string, unknown> = { ...changes };
  for (const field of PERSONAL_FIELDS) delete kept[field];
  return kept;
};

export type PrivacyResult = { outcome: 'applied' | 'duplicate' };

/**
 * Erases the customer's personal data everywhere Rapport keeps it: the profile first (from then
 * on no event writes personal data back), then journeys end, waits and dates go, then the dead
 * letters. Every step is idempotent, so a retry after a crash anywhere finishes the job; the
 * receipt, started first and completed last, counts each step as it is done.
 */
export const eraseCustomer = async (request: PrivacyRequest, deps: PrivacyDeps): Promise<PrivacyResult> => {
  const { store, clock } = deps;
  const { customerId } = request;
  const started = await store.getErasureReceipt(customerId);
  // A repeated request sweeps again (a continuation in flight during the first may have parked a
  // wait since) and adds what it finds to the first receipt.
  if (!started)
    await store.startErasure({
      customerId,
      requestId: request.requestId,
      requestedAt: request.requestedAt,
      startedAt: clock.now().toISOString(),
      erased: {},
      kept: KEPT_FOR_THE_BOOKS,
    });
  // Each step's count goes on the receipt as soon as it is done, so an attempt that crashes
  // later still has its work counted.
  const count = async (counts: Record<string, number>) => {
    const changed = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
    if (Object.keys(changed).length > 0) await store.countErased(customerId, changed);
  };

  await withOptimisticRetry(clock, async () => {
    const profile = await store.getProfile(customerId);
    if (!profile || profile.erasedAt) return { outcome: 'applied' as const };
    const outcome = await store.eraseProfile(customerId, clock.now().toISOString(), profile.version);
    if (outcome === 'applied') await count({ profile: 1 });
    return { outcome };
  });

  // Active journeys end (they would mail someone who asked to be forgotten); their waits hold the
  // trigger event, name and address included.
  const now = clock.now().toISOString();
  const { journeys, waits } = await store.listActive(customerId, now);
  for (const wait of waits) {
    await retryTransient(clock, () => store.deleteWait(wait));
    await count({ wait: 1 });
  }
  for (const journey of journeys.filter((j) => j.status === 'active')) {
    if (await retryTransient(clock, () => store.endJourney(journey, 'exited', now)))
      await count({ journey: 1 });
  }
  await count(await store.erasePersonalItems(customerId));
  const deadLetters = await deps.deadLetters.erase(customerId, now);
  if ('removed' in deadLetters) await count({ 'dead-letter': deadLetters.removed });
  if (started?.completedAt) return { outcome: 'duplicate' };
  await store.completeErasure(customerId, clock.now().toISOString(), deadLetters);
  return { outcome: 'applied' };
};

/** The customer's data as the export document holds it: what they may see, with the rules applied. */
export const exportDocument = (data: CustomerData, request: PrivacyRequest, exportedAt: string) => {
  const { profile } = data;
  return {
    customerId: request.customerId,
    requestId: request.requestId,
    exportedAt,
    profile: profile
      ? {
          email: profile.email,
          name: profile.name,
          createdAt: profile.createdAt,
          registeredAt: profile.registeredAt,
          timeZone: profile.timeZone,
          birthday: profile.birthday,
          attributes: profile.attributes,
          tags: profile.tags ? Object.keys(profile.tags) : undefined,
          erasedAt: profile.erasedAt,
        }
      : undefined,
    /** Per topic (`*`: every marketing topic): granted or not, when, and how the customer said so. */
    consent: profile?.consent,
    suppression: profile?.suppression,
    points: profile
      ? {
          balance: profile.pointsBalance,
          pending: profile.pointsPending ?? 0,
          debt: profile.pointsDebt ?? 0,
          lifetime: profile.lifetimePoints,
          tier: profile.tier,
          lots: profile.points?.lots,
        }
      : undefined,
    orders: data.orders,
    ledger: data.ledger,
    sends: data.sends,
    journeys: data.journeys.map((journey) => ({
      flowId: journey.flowId,
      journeyId: journey.journeyId,
      status: journey.status,
      enteredAt: journey.enteredAt,
      endedAt: journey.endedAt,
      waiting: data.waits
        .filter((wait) => wait.flowId === journey.flowId && wait.journeyId === journey.journeyId)
        .map((wait) => ({ stepId: wait.stepId, dueAt: wait.dueAt })),
    })),
    coupons: data.coupons,
    erasure: data.receipt,
  };
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Exports the customer's data as JSON where the sink keeps it and mails them the link (a
 * transactional email: they asked for it), once per request whatever is retried.
 */
export const exportCustomer = async (
  eventId: string,
  request: PrivacyRequest,
  deps: PrivacyDeps,
): Promise<PrivacyResult> => {
  const { store, clock, mailer, program } = deps;
  const { customerId } = request;
  const data = await store.customerData(customerId);
  const document = exportDocument(data, request, clock.now().toISOString());
  const { link, expiresAt } = await deps.exports.put(request, `${JSON.stringify(document, null, 2)}\n`);
  const profile = data.profile;
  // Nobody to mail: no profile, or one erased (its address is gone).
  if (!profile || profile.erasedAt || profile.email === '') return { outcome: 'applied' };
  const key = `privacy#${eventId}#export`;
  const claim = await store.claimSend({
    customerId,
    key,
    templateId: 'privacy-export',
    at: clock.now().toISOString(),
  });
  if (claim === 'taken') return { outcome: 'duplicate' };
  const until = expiresAt ? ` It works until ${expiresAt}.` : '';
  const sent = mailer.send({
    to: profile.email,
    from: program.sender.from,
    replyTo: program.sender.replyTo,
    subject: 'Your data export',
    text: `You asked for a copy of your data. Download it here: ${link}${until}\n`,
    html: `<p>You asked for a copy of your data.</p><p><a href="${escapeHtml(link)}">Download it</a>.${escapeHtml(until)}</p>`,
    tags: { flow: 'privacy', step: 'export', template: 'privacy-export' },
  });
  const { messageId } = await sent.catch(async (error: unknown) => {
    // Surely not sent: give the claim back so the retry sends.
    if (error instanceof MailNotSentError)
      await retryTransient(clock, () => store.releaseSend(customerId, key));
    throw error;
  });
  await retryTransient(clock, () => store.completeSend(customerId, key, messageId));
  return { outcome: 'applied' };
};
