import type { CustomerProfile, ProfileChanges } from '../../domain/customer.ts';
import type {
  Clock,
  CustomerStore,
  LedgerEntry,
  Mailer,
  OrderRecord,
  OutgoingEmail,
  SendClaim,
  StoredSend,
  WriteOutcome,
} from '../../domain/ports.ts';

/** The CustomerStore contract in memory, with the same conditions the DynamoDB adapter enforces. */
export class InMemoryCustomerStore implements CustomerStore {
  readonly profiles = new Map<string, CustomerProfile>();
  readonly orders = new Map<string, OrderRecord>();
  readonly ledger = new Map<string, LedgerEntry>();
  readonly sends = new Map<string, StoredSend>();

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
  ) {
    if (this.orders.has(`${order.customerId}/${order.orderId}`)) return 'duplicate' as const;
    if (this.profiles.get(order.customerId)?.version !== expectedVersion) return 'conflict' as const;
    await this.saveProfile(order.customerId, changes, expectedVersion, at);
    this.orders.set(`${order.customerId}/${order.orderId}`, { ...order });
    return 'applied' as const;
  }
  async awardOrderPoints(entry: LedgerEntry, expectedRefundedMinor: number): Promise<WriteOutcome> {
    const ledgerKey = `${entry.customerId}/${entry.entryId}`;
    if (this.ledger.has(ledgerKey)) return 'duplicate';
    const order = this.orders.get(`${entry.customerId}/${entry.orderId}`);
    const profile = this.profiles.get(entry.customerId);
    if (!order || !profile || order.refundedMinor !== expectedRefundedMinor || order.pointsAwarded !== 0)
      return 'conflict';
    this.ledger.set(ledgerKey, { ...entry });
    profile.pointsBalance += entry.points;
    profile.lifetimePoints += entry.points;
    profile.version++;
    order.pointsAwarded = entry.points;
    return 'applied';
  }
  async awardPoints(entry: LedgerEntry): Promise<WriteOutcome> {
    const ledgerKey = `${entry.customerId}/${entry.entryId}`;
    if (this.ledger.has(ledgerKey)) return 'duplicate';
    const profile = this.profiles.get(entry.customerId);
    if (!profile) return 'conflict';
    this.ledger.set(ledgerKey, { ...entry });
    profile.pointsBalance += entry.points;
    profile.lifetimePoints += entry.points;
    profile.version++;
    return 'applied';
  }
  async recordRefund(
    entry: LedgerEntry,
    refundMinor: number,
    expected: { refundedMinor: number; pointsAwarded: number },
  ): Promise<WriteOutcome> {
    const ledgerKey = `${entry.customerId}/${entry.entryId}`;
    if (this.ledger.has(ledgerKey)) return 'duplicate';
    const order = this.orders.get(`${entry.customerId}/${entry.orderId}`);
    const profile = this.profiles.get(entry.customerId);
    if (
      !order ||
      !profile ||
      order.refundedMinor !== expected.refundedMinor ||
      order.pointsAwarded !== expected.pointsAwarded
    )
      return 'conflict';
    this.ledger.set(ledgerKey, { ...entry });
    order.refundedMinor += refundMinor;
    order.pointsReversed -= entry.points;
    profile.pointsBalance += entry.points;
    profile.refundedMinor += refundMinor;
    profile.version++;
    return 'applied';
  }
  async getLedgerEntry(customerId: string, entryId: string) {
    return this.ledger.get(`${customerId}/${entryId}`);
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

export const fixedClock = (iso = '2026-11-24T12:00:00Z'): Clock => ({
  now: () => new Date(iso),
  sleep: () => Promise.resolve(),
});
