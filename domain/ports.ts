import type { CustomerProfile, ProfileChanges } from './customer.ts';

// Ports the use cases need. Adapters live in functions/adapters (AWS) and tests (in-memory).

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface OrderRecord {
  customerId: string;
  orderId: string;
  eventId: string;
  currency: string;
  totalMinor: number;
  refundedMinor: number;
  placedAt: string;
  pointsAwarded: number;
  pointsReversed: number;
}

export interface LedgerEntry {
  /** Deterministic from what caused it (`earn:order:123`), so a repeat finds the entry and does nothing. */
  entryId: string;
  customerId: string;
  points: number;
  kind: 'earn' | 'reverse';
  ruleId: string;
  ruleVersion: number;
  orderId?: string | undefined;
  refundId?: string | undefined;
  flowId?: string | undefined;
  eventId: string;
  at: string;
}

export type WriteOutcome = 'applied' | 'duplicate' | 'conflict';

export interface SendClaim {
  customerId: string;
  /** flow, triggering event and step: one email per (customer, key), whatever is retried. */
  key: string;
  templateId: string;
  at: string;
}

export interface StoredSend extends SendClaim {
  status: 'sending' | 'sent' | 'failed';
  messageId?: string | undefined;
  reason?: string | undefined;
}

export interface CustomerStore {
  getProfile(customerId: string): Promise<CustomerProfile | undefined>;
  /** Writes `changes` if the profile's version is still `expectedVersion` (undefined: it must not exist). */
  saveProfile(
    customerId: string,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    at: string,
  ): Promise<WriteOutcome>;
  getOrder(customerId: string, orderId: string): Promise<OrderRecord | undefined>;
  /** One transaction: the order item (must not exist) and the profile changes (version-guarded). */
  recordOrder(
    order: OrderRecord,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    at: string,
  ): Promise<WriteOutcome>;
  /** One transaction: the ledger entry (must not exist), the balance, and the order's points, if its refunds are unchanged. */
  awardOrderPoints(entry: LedgerEntry, expectedRefundedMinor: number): Promise<WriteOutcome>;
  /**
   * One transaction: the reversal entry (must not exist), the balance, and the order's refunded
   * amount, if the order's refunds and awarded points are still what the reversal was computed from.
   */
  recordRefund(
    entry: LedgerEntry,
    refundMinor: number,
    expected: { refundedMinor: number; pointsAwarded: number },
  ): Promise<WriteOutcome>;
  getLedgerEntry(customerId: string, entryId: string): Promise<LedgerEntry | undefined>;
  claimSend(claim: SendClaim): Promise<'claimed' | 'taken'>;
  getSend(customerId: string, key: string): Promise<StoredSend | undefined>;
  completeSend(customerId: string, key: string, messageId: string): Promise<void>;
  failSend(customerId: string, key: string, reason: string): Promise<void>;
  /** Gives a claim back when the send certainly did not happen, so a retry may send. */
  releaseSend(customerId: string, key: string): Promise<void>;
}

export interface OutgoingEmail {
  to: string;
  from: string;
  replyTo?: string | undefined;
  subject: string;
  html: string;
  text: string;
  tags: Record<string, string>;
}

export interface Mailer {
  /** Throws MailNotSentError when the provider surely did not accept it, MailRejectedError when it never will. */
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}
