import {
  ALL_MARKETING,
  type ConsentMap,
  type ConsentSource,
  type MailState,
  mergeConsent,
} from './consent.ts';
import type { CustomerRegistered, OrderPlaced } from './events.ts';
import { accountAt, type PointsAccount } from './loyalty/account.ts';

/** The customer record: one item per customer, updated on every event. */
export interface CustomerProfile {
  customerId: string;
  email: string;
  name: string;
  createdAt: string;
  registeredAt?: string | undefined;
  timeZone?: string | undefined;
  birthday?: string | undefined;
  /** Marketing consent per topic (`*`: every marketing topic), each a fact with its time and source. */
  consent?: ConsentMap | undefined;
  /** The address bounced hard or complained: set from SES's notifications. */
  suppression?: MailState['suppression'];
  /** When the customer's personal data was erased at their request; nothing brings it back. */
  erasedAt?: string | undefined;
  /** When each contact field's value was true: it changes only by a fact at least as new. */
  asOf?: FieldTimes | undefined;
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

/**
 * The profile with its points figures as of `now`: maturity and expiry are derived on read, and
 * the stored figures are those of the last settlement (decision 35).
 */
export const profileAsOf = <P extends CustomerProfile>(profile: P, now: Date): P => {
  if (!profile.points) return profile;
  const account = accountAt(profile.points, profile.customerId, now.toISOString());
  return {
    ...profile,
    pointsBalance: account.available,
    pointsPending: account.pending,
    pointsDebt: account.debt,
  };
};

/** The profile fields that events set, each with the time of the fact that set it. */
export type ContactField = 'email' | 'name' | 'timeZone' | 'birthday';
export type FieldTimes = Partial<Record<ContactField, string>>;

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
  orderCount: 0,
  lifetimeSpendMinor: 0,
  refundedMinor: 0,
  pointsBalance: 0,
  lifetimePoints: 0,
  version: 0,
});

/**
 * The one rule for contact fields, whatever event carries them: a value applies only if its fact
 * is at least as new as the one that set the field, so a late or replayed older event (a
 * registration that said yes before the customer said no) changes nothing. Equal times apply, so
 * a repeat of the newest fact is harmless.
 */
const contactChanges = (
  base: CustomerProfile,
  at: string,
  facts: { [F in ContactField]?: CustomerProfile[F] | undefined },
): ProfileChanges => {
  const asOf: FieldTimes = { ...base.asOf };
  const changes: ProfileChanges = {};
  const apply = <F extends ContactField>(field: F, value: CustomerProfile[F] | undefined) => {
    if (value === undefined) return;
    const since = asOf[field];
    if (since !== undefined && Date.parse(at) < Date.parse(since)) return;
    asOf[field] = at;
    (changes as Partial<CustomerProfile>)[field] = value;
  };
  apply('email', facts.email);
  apply('name', facts.name);
  apply('timeZone', facts.timeZone);
  apply('birthday', facts.birthday);
  return { ...changes, asOf };
};

/** Consent facts an event states, merged by the one rule (consent.ts); nothing when it states none. */
const consentChanges = (
  base: CustomerProfile,
  topics: Record<string, boolean>,
  at: string,
  source: ConsentSource,
): ProfileChanges =>
  Object.keys(topics).length > 0 ? { consent: mergeConsent(base.consent, topics, at, source) } : {};

/** What the first event of a customer writes besides its own changes: the record's starting fields. */
const firstWrite = (current: CustomerProfile | undefined, base: CustomerProfile): ProfileChanges =>
  current
    ? {}
    : {
        createdAt: base.createdAt,
        email: base.email,
        name: base.name,
        orderCount: 0,
        lifetimeSpendMinor: 0,
        refundedMinor: 0,
      };

/**
 * What an order changes. Orders may arrive out of order, so first and last order times are the
 * minimum and maximum seen, and contact details (and consent, if the checkout asked) follow the
 * newest fact. A profile an order creates has no marketing consent.
 */
export const changesForOrder = (
  current: CustomerProfile | undefined,
  order: OrderPlaced,
  totalMinor: number,
): ProfileChanges => {
  const base = current ?? newProfile(order.customerId, order.email, order.name, order.placedAt);
  return {
    ...firstWrite(current, base),
    ...contactChanges(base, order.placedAt, { email: order.email, name: order.name }),
    ...consentChanges(
      base,
      order.marketingConsent === undefined ? {} : { [ALL_MARKETING]: order.marketingConsent },
      order.placedAt,
      'order',
    ),
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
  const statedAt = event.updatedAt ?? event.registeredAt;
  const contact = contactChanges(base, statedAt, {
    email: event.email,
    name: event.name,
    timeZone: event.timeZone,
    birthday: event.birthday,
  });
  return {
    ...firstWrite(current, base),
    ...contact,
    ...consentChanges(
      base,
      {
        ...(event.marketingConsent === undefined ? {} : { [ALL_MARKETING]: event.marketingConsent }),
        ...event.consent,
      },
      event.consentAt ?? statedAt,
      'registration',
    ),
    // Date items carry the zone their time of day is read in, whichever fact set it.
    timeZone: contact.timeZone ?? base.timeZone,
    registeredAt: earlier(base.registeredAt, event.registeredAt),
  };
};

/** The first word of a name, for "Hi Ada". */
export const firstName = (name: string): string => name.trim().split(/\s+/)[0] ?? name;
