import type { CustomerRegistered, OrderPlaced } from './events.ts';
import type { PointsAccount } from './loyalty/account.ts';

/** The customer record: one item per customer, updated on every event. */
export interface CustomerProfile {
  customerId: string;
  email: string;
  name: string;
  createdAt: string;
  registeredAt?: string | undefined;
  timeZone?: string | undefined;
  birthday?: string | undefined;
  marketingConsent: boolean;
  orderCount: number;
  lifetimeSpendMinor: number;
  refundedMinor: number;
  firstOrderAt?: string | undefined;
  lastOrderAt?: string | undefined;
  /** Spendable points (available); pending points and debt are apart. */
  pointsBalance: number;
  pointsPending?: number | undefined;
  pointsDebt?: number | undefined;
  lifetimePoints: number;
  /** The loyalty tier's id, once the program has tiers. */
  tier?: string | undefined;
  /** The points account: lots, tier state, outbox. Written only with ledger entries. */
  points?: PointsAccount | undefined;
  /** Attributes and tags that flows set (update_profile); tags are a set kept as a map. */
  attributes?: Record<string, string | number | boolean> | undefined;
  tags?: Record<string, boolean> | undefined;
  version: number;
}

/** The fields an event sets on the profile; the store writes exactly these, guarded by `version`. */
export type ProfileChanges = Partial<
  Omit<
    CustomerProfile,
    | 'customerId'
    | 'version'
    | 'pointsBalance'
    | 'lifetimePoints'
    | 'pointsPending'
    | 'pointsDebt'
    | 'tier'
    | 'points'
  >
>;

const earlier = (a: string | undefined, b: string): string =>
  a !== undefined && Date.parse(a) <= Date.parse(b) ? a : b;
const later = (a: string | undefined, b: string): string =>
  a !== undefined && Date.parse(a) >= Date.parse(b) ? a : b;

export const newProfile = (
  customerId: string,
  email: string,
  name: string,
  createdAt: string,
): CustomerProfile => ({
  customerId,
  email,
  name,
  createdAt,
  marketingConsent: true,
  orderCount: 0,
  lifetimeSpendMinor: 0,
  refundedMinor: 0,
  pointsBalance: 0,
  lifetimePoints: 0,
  version: 0,
});

/**
 * What an order changes. Orders may arrive out of order, so first and last order times are the
 * minimum and maximum seen, and contact details follow the most recent order only.
 */
export const changesForOrder = (
  current: CustomerProfile | undefined,
  order: OrderPlaced,
  totalMinor: number,
): ProfileChanges => {
  const base = current ?? newProfile(order.customerId, order.email, order.name, order.placedAt);
  const isLatest =
    base.lastOrderAt === undefined || Date.parse(order.placedAt) >= Date.parse(base.lastOrderAt);
  return {
    ...(current
      ? {}
      : { createdAt: base.createdAt, marketingConsent: base.marketingConsent, refundedMinor: 0 }),
    email: isLatest ? order.email : base.email,
    name: isLatest ? order.name : base.name,
    orderCount: base.orderCount + 1,
    lifetimeSpendMinor: base.lifetimeSpendMinor + totalMinor,
    firstOrderAt: earlier(base.firstOrderAt, order.placedAt),
    lastOrderAt: later(base.lastOrderAt, order.placedAt),
  };
};

export const changesForRegistration = (
  current: CustomerProfile | undefined,
  event: CustomerRegistered,
): ProfileChanges => {
  const base = current ?? newProfile(event.customerId, event.email, event.name, event.registeredAt);
  return {
    ...(current ? {} : { createdAt: base.createdAt, orderCount: 0, lifetimeSpendMinor: 0, refundedMinor: 0 }),
    email: event.email,
    name: event.name,
    registeredAt: earlier(base.registeredAt, event.registeredAt),
    timeZone: event.timeZone ?? base.timeZone,
    birthday: event.birthday ?? base.birthday,
    marketingConsent: event.marketingConsent,
  };
};

/** The first word of a name, for "Hi Ada". */
export const firstName = (name: string): string => name.trim().split(/\s+/)[0] ?? name;
