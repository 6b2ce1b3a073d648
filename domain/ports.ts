import type { CustomerProfile, ProfileChanges } from './customer.ts';
import type { CouponDiscount, RewardDiscount } from './discounts.ts';
import type { FlowMemory, Journey, JourneyStatus, ResumeOutcome, Wait } from './journeys.ts';
import type { LedgerEntry, PointsAccount } from './loyalty/account.ts';
import type { PacingRecord } from './pacing.ts';
import type { ReputationBucket, SendingPause } from './reputation.ts';

// Ports the use cases need. Adapters live in functions/adapters (AWS) and tests (in-memory).

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

/** A keyed signature (HMAC): what it derives cannot be computed from public ids without the key. */
export interface Signer {
  sign(message: string): Promise<Uint8Array>;
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
  /** When the order was cancelled: what was left of it no longer counts, and refunds take back nothing more. */
  cancelledAt?: string | undefined;
}

/** A refund or cancellation that arrived before its order, kept until the order is recorded. */
export interface PendingEvent {
  orderId: string;
  /** The fact it states (`order.refunded:<refundId>`): one pending item per fact. */
  factKey: string;
  /** The canonical envelope as it was parsed, to ingest again once the order is there. */
  envelope: { id: string; 'detail-type': string; source: string; detail: unknown };
  receivedAt: string;
}

export type { LedgerEntry } from './loyalty/account.ts';

/** A points account change: the new account, the entries that explain it, and its next due time. */
export interface PointsWrite {
  account: PointsAccount;
  entries: LedgerEntry[];
  /** The account's next due time before and after: the timer index moves only when it changes. */
  dueBefore: string | undefined;
  due: string | undefined;
}

/** What else a points write carries: its idempotency guard, profile changes, a refund's bookkeeping, a coupon. */
export interface PointsWriteOptions {
  /** The entry whose existence means "done before". */
  primary?: string | undefined;
  changes?: ProfileChanges | undefined;
  refund?: {
    orderId: string;
    refundMinor: number;
    pointsReversed: number;
    expectedRefundedMinor: number;
    /** A cancellation: the order is marked cancelled at this time. */
    cancelledAt?: string | undefined;
  };
  coupon?: RewardCoupon | undefined;
}

/** A reward bought with points: its coupon code, unique, written with the debit. */
export interface RewardCoupon extends RewardDiscount {
  customerId: string;
  code: string;
  rewardId: string;
  requestId: string;
  cost: number;
  issuedAt: string;
  expiresAt: string;
}

/** An account's entry on the timer index. */
export interface DueAccount {
  customerId: string;
  dueAt: string;
}

/**
 * Index entries hold due times computed by the program's timing rules when they were written; a
 * program edit can make them late. `fingerprint` names the rules every entry agrees with;
 * `recheck`, a pass over the index for newer rules, and where it got to.
 */
export interface TimerIndexState {
  fingerprint?: string | undefined;
  recheck?: { fingerprint: string; shard: number; after?: DueAccount | undefined } | undefined;
}

export type WriteOutcome = 'applied' | 'duplicate' | 'conflict';

export interface SendClaim {
  customerId: string;
  /** flow, triggering event and step: one email per (customer, key), whatever is retried. */
  key: string;
  templateId: string;
  at: string;
}

/**
 * Where a send stands. `deferred` comes back later (quiet hours, a cap) and `skipped` is decided
 * again if its step runs again (consent may have been given since); the others are final.
 */
export type SendStatus = 'sending' | 'sent' | 'failed' | 'skipped' | 'deferred' | 'dropped';

/** Why a send did not go (now): machine-readable, for reports and metrics. */
export type SendReasonCode =
  | 'no-consent'
  | 'opted-out'
  | 'suppressed'
  | 'erased'
  | 'paused'
  | 'quiet-hours'
  | 'cap'
  | 'stale'
  | 'rejected';

export interface StoredSend extends SendClaim {
  status: SendStatus;
  messageId?: string | undefined;
  /** In words: the provider's refusal, the consent rule, the cap. */
  reason?: string | undefined;
  code?: SendReasonCode | undefined;
  /** When a deferred send is due again. */
  until?: string | undefined;
  /** When the send was first due: a capped message's staleness counts from here. */
  firstAt?: string | undefined;
  /** How often it was deferred before this status. */
  deferrals?: number | undefined;
}

/** The pacing record to replace with a send record's write: guarded by the version read. */
export interface PacingWrite {
  expectedVersion: number;
  next: PacingRecord;
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
  /** One transaction: the order item (must not exist), the profile changes and its points (version-guarded). */
  recordOrder(
    order: OrderRecord,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    at: string,
    points?: PointsWrite,
  ): Promise<WriteOutcome>;
  /**
   * One transaction: the account (guarded by the profile version read), every new ledger entry
   * (each must not exist; `primary`, if given, is the one whose existence means "done before"),
   * and optionally the order's refund bookkeeping (if unchanged since read) and a reward coupon,
   * whose code must be free across the table: CouponCodeTakenError if another coupon holds it.
   */
  writePoints(
    customerId: string,
    expectedVersion: number,
    points: PointsWrite,
    options?: PointsWriteOptions,
  ): Promise<WriteOutcome>;
  /**
   * Points accounts due for settlement by `now` in one timer shard, earliest first, with the due
   * time the index holds: up to `limit`, continuing after `after` (the last entry of the previous page).
   */
  duePointAccounts(shard: number, now: string, limit: number, after?: DueAccount): Promise<DueAccount[]>;
  /** The points timing rules the timer index was computed with, and any re-check in progress. */
  getTimerIndexState(): Promise<TimerIndexState | undefined>;
  setTimerIndexState(state: TimerIndexState): Promise<void>;
  getCoupon(customerId: string, code: string): Promise<RewardCoupon | undefined>;
  /**
   * The customer whose order this is, for events that do not say (a Shopify refund). Written by
   * `noteOrderOwner` after the order's own write, which also tells whether events wait for it.
   */
  findOrderOwner(orderId: string): Promise<string | undefined>;
  /** Records who owns the order; `waiting` is true if an event waits for it (see waitForOrder). */
  noteOrderOwner(orderId: string, customerId: string): Promise<{ waiting: boolean }>;
  /**
   * Keeps an event until its order is recorded: unless the order's owner is known by now (owner
   * unknown) or the order is recorded under `customerId` by now: then `order-recorded`, read again.
   */
  waitForOrder(pending: PendingEvent, customerId?: string): Promise<'waiting' | 'order-recorded'>;
  /** The events that wait for this order. */
  pendingForOrder(orderId: string): Promise<PendingEvent[]>;
  /** Forgets a waiting event once it is recorded. */
  releasePending(orderId: string, factKey: string): Promise<void>;
  /** Every ledger entry of one customer, oldest first. */
  ledger(customerId: string): Promise<LedgerEntry[]>;
  getLedgerEntry(customerId: string, entryId: string): Promise<LedgerEntry | undefined>;
  claimSend(claim: SendClaim): Promise<'claimed' | 'taken'>;
  getSend(customerId: string, key: string): Promise<StoredSend | undefined>;
  completeSend(customerId: string, key: string, messageId: string): Promise<void>;
  failSend(customerId: string, key: string, reason: string): Promise<void>;
  /** Gives a claim back when the send certainly did not happen, so a retry may send. */
  releaseSend(customerId: string, key: string): Promise<void>;
  /** The customer's recent marketing sends and waiting messages, for the frequency caps. */
  getPacing(customerId: string): Promise<PacingRecord | undefined>;
  /**
   * One transaction: the send record (new, or replacing a `deferred` or `skipped` one: `taken` if
   * it is in any other state) and, if given, the customer's pacing record (`conflict` if its version moved).
   * A claim is this with status `sending`; a skip, deferral or drop records itself the same way.
   */
  writeSend(send: StoredSend, pacing?: PacingWrite): Promise<'applied' | 'taken' | 'conflict'>;
}

export interface OutgoingEmail {
  to: string;
  from: string;
  replyTo?: string | undefined;
  subject: string;
  html: string;
  text: string;
  tags: Record<string, string>;
  /** Extra message headers (List-Unsubscribe on marketing email). */
  headers?: Record<string, string> | undefined;
}

export interface Mailer {
  /** Throws MailNotSentError when the provider surely did not accept it, MailRejectedError when it never will. */
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

// ---- sender reputation -------------------------------------------------------------------------

export type { ReputationBucket, SendingPause } from './reputation.ts';

/** Per sending identity: hourly counters of what SES reported, and the pause of marketing mail. */
export interface ReputationStore {
  /** Adds sends to an hour's counter (not deduplicated: a repeated Send event overstates volume a little). */
  countSends(identity: string, hour: string, sends: number): Promise<void>;
  /** Counts a bounce or complaint once per `eventKey`, whatever is redelivered. */
  countFeedback(
    identity: string,
    hour: string,
    kind: 'bounces' | 'complaints',
    eventKey: string,
  ): Promise<'applied' | 'duplicate'>;
  /** The identity's counters for the hours from `from` to `to`, inclusive. */
  buckets(identity: string, from: string, to: string): Promise<ReputationBucket[]>;
  getPause(identity: string): Promise<SendingPause | undefined>;
  /** Every identity with a pause item, paused or resumed. */
  pauses(): Promise<SendingPause[]>;
  /** Pauses the identity unless it is already paused: the first breach's reason stays. */
  pause(pause: SendingPause & { status: 'paused' }): Promise<'applied' | 'already-paused'>;
  /** Lifts a pause; false if the identity was not paused. */
  resume(identity: string, at: string): Promise<boolean>;
}

// ---- journeys (flows with waits, exits and goals) --------------------------------------------

export type EnterOutcome = 'applied' | 'duplicate' | 'conflict' | 'full';

export interface Coupon {
  customerId: string;
  code: string;
  flowId: string;
  journeyId: string;
  stepId: string;
  discount: CouponDiscount;
  issuedAt: string;
  expiresAt: string;
}

export interface JourneyStore {
  getFlowMemory(customerId: string, flowId: string): Promise<FlowMemory | undefined>;
  /**
   * One transaction: the journey (must not exist), the customer's memory of the flow (guarded by
   * the memory read) and, with a cap, the flow's active counter (only while below the cap).
   */
  enterJourney(
    journey: Journey,
    memoryBefore: FlowMemory | undefined,
    options: { cap?: number | undefined; exclusive: boolean },
  ): Promise<EnterOutcome>;
  getJourney(customerId: string, flowId: string, journeyId: string): Promise<Journey | undefined>;
  /** Active journeys, ended ones still inside their goal window, and their waits, for one customer. */
  listActive(customerId: string, now: string): Promise<{ journeys: Journey[]; waits: Wait[] }>;
  /** Ends an active journey once; frees its place in the flow (and in the cap). */
  endJourney(journey: Journey, status: Exclude<JourneyStatus, 'active'>, at: string): Promise<boolean>;
  recordConversion(journey: Journey, at: string): Promise<boolean>;
  /** Writes a wait (must not exist for this journey and step). */
  putWait(wait: Wait): Promise<'applied' | 'duplicate'>;
  /** waiting -> resuming with an outcome, once: an event and a timer race for it, one wins. */
  claimWait(wait: Wait, outcome: ResumeOutcome, at: string): Promise<boolean>;
  deleteWait(wait: Wait): Promise<void>;
  /**
   * Waits due by `now` in one timer shard, earliest first: still waiting, or claimed long ago and
   * not resumed. Up to `limit`, continuing after `after` (the last wait of the previous page).
   */
  dueWaits(shard: number, now: string, limit: number, after?: Wait): Promise<Wait[]>;
  /**
   * Writes the coupon once (a retry of the same journey step gets the stored one); its code must be
   * free across the table: CouponCodeTakenError if another coupon holds it.
   */
  issueCoupon(coupon: Coupon): Promise<Coupon>;
  updateAttributes(
    customerId: string,
    change: {
      set?: Record<string, string | number | boolean> | undefined;
      addTags?: string[] | undefined;
      removeTags?: string[] | undefined;
    },
    at: string,
  ): Promise<void>;
  /** Customers whose last order falls in (from, to]. */
  lastOrderedBetween(
    shard: number,
    from: string,
    to: string,
  ): Promise<{ customerId: string; lastOrderAt: string }[]>;
  /** Customers with a date (birthday, sign-up) on this month-day. */
  customersWithDate(
    field: string,
    monthDay: string,
  ): Promise<{ customerId: string; timeZone?: string | undefined }[]>;
  customerIds(): AsyncIterable<string[]>;
  getCursor(name: string): Promise<SweepCursor | undefined>;
  setCursor(name: string, cursor: SweepCursor): Promise<void>;
}

/** How far a sweep trigger (inactivity, a date, a schedule) has been published. */
export interface SweepCursor {
  /** Every trigger up to this instant is published. */
  at: string;
  /** The trigger the last sweep could not publish, right after `at`, and in how many sweeps in a row. */
  failing?: { eventId: string; attempts: number } | undefined;
}

// ---- coupons at checkout -----------------------------------------------------------------------

/** A coupon as stored, whichever way it was issued (a reward bought with points, a flow's step), and its use. */
export type StoredCoupon = (RewardCoupon | Coupon) & {
  redeemedAt?: string | undefined;
  redeemedOrderId?: string | undefined;
};

/** Coupons by code, across every customer: what checkout asks. */
export interface CouponBook {
  /** The coupon holding this code (one per code across the table), or undefined. */
  findCoupon(code: string): Promise<StoredCoupon | undefined>;
  /**
   * Marks the coupon used by an order, once: `duplicate` when this very order already did, `taken`
   * when another order did (the first one stays), `unknown` when the customer holds no such coupon.
   */
  markCouponRedeemed(
    customerId: string,
    code: string,
    use: { orderId: string; at: string },
  ): Promise<'applied' | 'duplicate' | 'taken' | 'unknown'>;
}

export interface JourneyStarter {
  /** Starts a flow's execution on the revision a journey entered with. */
  start(flowId: string, revision: string, input: unknown): Promise<void>;
}

export interface PublishedEvent {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  time?: string | undefined;
}

export interface EventPublisher {
  publish(events: readonly PublishedEvent[]): Promise<void>;
}

// ---- privacy requests (erasure and export) ------------------------------------------------------

/** Everything the table holds of one customer, as an export shows it. */
export interface CustomerData {
  profile: CustomerProfile | undefined;
  orders: OrderRecord[];
  ledger: LedgerEntry[];
  sends: StoredSend[];
  journeys: Journey[];
  waits: Wait[];
  coupons: (RewardCoupon | Coupon)[];
  receipt?: ErasureReceipt | undefined;
}

/** What an erasure did, without a word of what it erased: kinds and counts. */
export interface ErasureReceipt {
  customerId: string;
  requestId: string;
  requestedAt: string;
  startedAt: string;
  /** Absent while the erasure is under way (a crash leaves it so; the retry finishes it). */
  completedAt?: string | undefined;
  /** Items changed or deleted, by kind, summed over every attempt. */
  erased: Record<string, number>;
  /** Kinds kept because the books need them (orders, ledger, coupons), stripped of personal data. */
  kept: string[];
  /** Dead-letter copies: removed here, or where they could not be edited, when they expire. */
  deadLetters?: DeadLetterErasure | undefined;
}

export type DeadLetterErasure = { removed: number } | { retainedUntil: string; where: string };

export interface PrivacyStore {
  customerData(customerId: string): Promise<CustomerData>;
  /** Replaces the profile's personal fields with the erased form, guarded by the version read. */
  eraseProfile(customerId: string, erasedAt: string, expectedVersion: number): Promise<WriteOutcome>;
  /**
   * Deletes or strips the personal data of every other item of the customer (waits' trigger
   * context, dates, send reasons): counts by kind of what it changed; a second call changes nothing.
   */
  erasePersonalItems(customerId: string): Promise<Record<string, number>>;
  getErasureReceipt(customerId: string): Promise<ErasureReceipt | undefined>;
  /** Writes the receipt of an erasure that starts (none must exist): it collects the counts. */
  startErasure(receipt: ErasureReceipt): Promise<void>;
  /** Adds what a step changed to the receipt's counts. */
  countErased(customerId: string, counts: Record<string, number>): Promise<void>;
  completeErasure(customerId: string, completedAt: string, deadLetters: DeadLetterErasure): Promise<void>;
}

/** Where dead letters are kept: copies of the events that carried the customer's data. */
export interface DeadLetterStore {
  erase(customerId: string, now: string): Promise<DeadLetterErasure>;
}

/**
 * Where an export is put for the customer to fetch: a file locally, an S3 object in AWS. Ids are
 * the shop's text: the sink makes them safe as a path.
 */
export interface ExportSink {
  /** Stores the document; `link` is what the customer is sent (presigned in AWS), `expiresAt` when it stops working. */
  put(
    request: { customerId: string; requestId: string },
    json: string,
  ): Promise<{ location: string; link: string; expiresAt?: string | undefined }>;
}
