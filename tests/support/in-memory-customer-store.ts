import type { CustomerProfile, ProfileChanges } from '../../domain/customer.ts';
import { CouponCodeTakenError } from '../../domain/errors.ts';
import { shardOf } from '../../domain/journeys.ts';
import type { PacingRecord } from '../../domain/pacing.ts';
import type {
  Clock,
  CouponBook,
  CustomerStore,
  DueAccount,
  LedgerEntry,
  Mailer,
  OrderRecord,
  OutgoingEmail,
  PacingWrite,
  PendingEvent,
  PointsWrite,
  PointsWriteOptions,
  RewardCoupon,
  SendClaim,
  StoredCoupon,
  StoredSend,
  TimerIndexState,
  WriteOutcome,
} from '../../domain/ports.ts';
import { HmacSigner } from '../../functions/adapters/hmac-signer.ts';

/** The CustomerStore contract in memory, with the same conditions the DynamoDB adapter enforces. */
export class InMemoryCustomerStore implements CustomerStore, CouponBook {
  readonly profiles = new Map<string, CustomerProfile>();
  readonly orders = new Map<string, OrderRecord>();
  readonly entries = new Map<string, LedgerEntry>();
  /** Per customer (`customer/code`), as the coupon items live in the customer's partition. */
  readonly coupons = new Map<string, RewardCoupon & { redeemedAt?: string; redeemedOrderId?: string }>();
  /** Every code in use, whoever holds it: DynamoDB's one item per code across the table. */
  readonly codes = new Map<string, string>();
  readonly due = new Map<string, string>();
  readonly sends = new Map<string, StoredSend>();
  readonly pacing = new Map<string, PacingRecord>();
  readonly owners = new Map<string, { customerId?: string; waiting?: boolean }>();
  /** By `orderId/factKey`. */
  readonly pending = new Map<string, PendingEvent>();

  async findOrderOwner(orderId: string) {
    return this.owners.get(orderId)?.customerId;
  }
  async noteOrderOwner(orderId: string, customerId: string) {
    const old = this.owners.get(orderId);
    this.owners.set(orderId, { ...old, customerId });
    return { waiting: old?.waiting === true };
  }
  async waitForOrder(pending: PendingEvent, customerId?: string) {
    const owner = this.owners.get(pending.orderId);
    if (customerId ? this.orders.has(`${customerId}/${pending.orderId}`) : owner?.customerId !== undefined)
      return 'order-recorded' as const;
    this.owners.set(pending.orderId, { ...owner, waiting: true });
    this.pending.set(`${pending.orderId}/${pending.factKey}`, structuredClone(pending));
    return 'waiting' as const;
  }
  async pendingForOrder(orderId: string) {
    return [...this.pending.values()].filter((p) => p.orderId === orderId).map((p) => structuredClone(p));
  }
  async releasePending(orderId: string, factKey: string) {
    this.pending.delete(`${orderId}/${factKey}`);
  }

  async getProfile(customerId: string) {
    const profile = this.profiles.get(customerId);
    return profile ? { ...profile } : undefined;
  }
  async saveProfile(
    customerId: string,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    _at: string,
  ) {
    const current = this.profiles.get(customerId);
    if (current?.version !== expectedVersion) return 'conflict' as const;
    this.profiles.set(customerId, {
      ...(current ?? { customerId, pointsBalance: 0, lifetimePoints: 0 }),
      ...changes,
      version: (expectedVersion ?? 0) + 1,
    } as CustomerProfile);
    return 'applied' as const;
  }
  async getOrder(customerId: string, orderId: string) {
    const order = this.orders.get(`${customerId}/${orderId}`);
    return order ? { ...order } : undefined;
  }
  async recordOrder(
    order: OrderRecord,
    changes: ProfileChanges,
    expectedVersion: number | undefined,
    at: string,
    points?: PointsWrite,
  ) {
    if (this.orders.has(`${order.customerId}/${order.orderId}`)) return 'duplicate' as const;
    if (this.profiles.get(order.customerId)?.version !== expectedVersion) return 'conflict' as const;
    if (points?.entries.some((e) => this.entries.has(`${order.customerId}/${e.entryId}`)))
      return 'conflict' as const;
    await this.saveProfile(order.customerId, changes, expectedVersion, at);
    this.orders.set(`${order.customerId}/${order.orderId}`, { ...order });
    if (points) this.applyPoints(order.customerId, points);
    return 'applied' as const;
  }
  /** The same all-or-nothing checks as the DynamoDB transaction. */
  async writePoints(
    customerId: string,
    expectedVersion: number,
    points: PointsWrite,
    options: PointsWriteOptions = {},
  ): Promise<WriteOutcome> {
    if (options.primary && this.entries.has(`${customerId}/${options.primary}`)) return 'duplicate';
    const profile = this.profiles.get(customerId);
    if (!profile || profile.version !== expectedVersion) return 'conflict';
    if (points.entries.some((e) => this.entries.has(`${customerId}/${e.entryId}`))) return 'conflict';
    const order = options.refund ? this.orders.get(`${customerId}/${options.refund.orderId}`) : undefined;
    if (options.refund && order?.refundedMinor !== options.refund.expectedRefundedMinor) return 'conflict';
    if (options.coupon && this.codes.has(options.coupon.code))
      throw new CouponCodeTakenError(`coupon code ${options.coupon.code} belongs to another coupon`);
    if (order && options.refund) {
      order.refundedMinor += options.refund.refundMinor;
      order.pointsReversed += options.refund.pointsReversed;
      if (options.refund.cancelledAt) order.cancelledAt = options.refund.cancelledAt;
    }
    if (options.coupon) {
      this.codes.set(options.coupon.code, `${customerId}/reward:${options.coupon.requestId}`);
      this.coupons.set(`${customerId}/${options.coupon.code}`, structuredClone(options.coupon));
    }
    Object.assign(profile, options.changes ?? {});
    profile.version++;
    this.applyPoints(customerId, points);
    return 'applied';
  }
  private applyPoints(customerId: string, points: PointsWrite) {
    const profile = this.profiles.get(customerId);
    if (!profile) return;
    const account = structuredClone(points.account);
    Object.assign(profile, {
      points: account,
      pointsBalance: account.available,
      pointsPending: account.pending,
      pointsDebt: account.debt,
      lifetimePoints: account.earned,
      ...(account.tier ? { tier: account.tier.id } : {}),
    });
    for (const entry of points.entries)
      this.entries.set(`${customerId}/${entry.entryId}`, structuredClone(entry));
    // Like the DynamoDB adapter: the timer item moves only when the due time changed.
    if (points.due === points.dueBefore) return;
    if (points.due === undefined) this.due.delete(customerId);
    else this.due.set(customerId, points.due);
  }
  async duePointAccounts(shard: number, now: string, limit: number, after?: DueAccount) {
    // The index's order and key condition: `${dueAt}#${customerId}` <= `${now}#~`, after `after`.
    const sortKey = (entry: DueAccount) => `${entry.dueAt}#${entry.customerId}`;
    return [...this.due]
      .map(([customerId, dueAt]) => ({ customerId, dueAt }))
      .filter((entry) => shardOf(entry.customerId) === shard && sortKey(entry) <= `${now}#~`)
      .filter((entry) => !after || sortKey(entry) > sortKey(after))
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))
      .slice(0, limit);
  }
  timerIndexState: TimerIndexState | undefined;
  async getTimerIndexState() {
    return structuredClone(this.timerIndexState);
  }
  async setTimerIndexState(state: TimerIndexState) {
    this.timerIndexState = structuredClone(state);
  }
  async getCoupon(customerId: string, code: string) {
    return this.coupons.get(`${customerId}/${code}`);
  }
  /** The code's own item names the customer, as in the table; journey coupons are not kept here. */
  async findCoupon(code: string): Promise<StoredCoupon | undefined> {
    const holder = this.codes.get(code)?.split('/')[0];
    return holder === undefined ? undefined : structuredClone(this.coupons.get(`${holder}/${code}`));
  }
  async markCouponRedeemed(customerId: string, code: string, use: { orderId: string; at: string }) {
    const coupon = this.coupons.get(`${customerId}/${code}`);
    if (!coupon) return 'unknown' as const;
    if (coupon.redeemedOrderId)
      return coupon.redeemedOrderId === use.orderId ? ('duplicate' as const) : ('taken' as const);
    Object.assign(coupon, { redeemedOrderId: use.orderId, redeemedAt: use.at });
    return 'applied' as const;
  }
  async ledger(customerId: string) {
    return [...this.entries.values()].filter((e) => e.customerId === customerId);
  }
  async getLedgerEntry(customerId: string, entryId: string) {
    return this.entries.get(`${customerId}/${entryId}`);
  }
  async claimSend(claim: SendClaim) {
    const key = `${claim.customerId}/${claim.key}`;
    if (this.sends.has(key)) return 'taken' as const;
    this.sends.set(key, { ...claim, status: 'sending' });
    return 'claimed' as const;
  }
  async getSend(customerId: string, key: string) {
    return this.sends.get(`${customerId}/${key}`);
  }
  async completeSend(customerId: string, key: string, messageId: string) {
    const send = this.sends.get(`${customerId}/${key}`);
    if (send) Object.assign(send, { status: 'sent', messageId });
  }
  async failSend(customerId: string, key: string, reason: string) {
    const send = this.sends.get(`${customerId}/${key}`);
    if (send) Object.assign(send, { status: 'failed', reason });
  }
  async getPacing(customerId: string) {
    return structuredClone(this.pacing.get(customerId));
  }
  /** The DynamoDB transaction's all-or-nothing: the send record's state, then the pacing version. */
  async writeSend(send: StoredSend, pacing?: PacingWrite) {
    const key = `${send.customerId}/${send.key}`;
    const existing = this.sends.get(key);
    if (existing && existing.status !== 'deferred' && existing.status !== 'skipped') return 'taken' as const;
    if (pacing && (this.pacing.get(send.customerId)?.version ?? 0) !== pacing.expectedVersion)
      return 'conflict' as const;
    this.sends.set(key, structuredClone(send));
    if (pacing) this.pacing.set(send.customerId, structuredClone(pacing.next));
    return 'applied' as const;
  }
  async releaseSend(customerId: string, key: string) {
    if (this.sends.get(`${customerId}/${key}`)?.status === 'sending')
      this.sends.delete(`${customerId}/${key}`);
  }
}

export class CapturingMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  async send(email: OutgoingEmail) {
    this.sent.push(email);
    return { messageId: `message-${this.sent.length}` };
  }
}

/** The HMAC signer the functions use, under a key of the test's choosing. */
export const testSigner = (key = 'a test key that is long enough to sign with') =>
  new HmacSigner(() => Promise.resolve(key));

export const fixedClock = (iso = '2026-11-24T12:00:00Z'): Clock => ({
  now: () => new Date(iso),
  sleep: () => Promise.resolve(),
});
