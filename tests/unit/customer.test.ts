import { describe, expect, it } from 'vitest';
import {
  type CustomerProfile,
  changesForOrder,
  changesForRegistration,
  firstName,
  newProfile,
} from '../../domain/customer.ts';
import type { CustomerRegistered, OrderPlaced } from '../../domain/events.ts';

const order = (placedAt: string, overrides: Partial<OrderPlaced> = {}): OrderPlaced => ({
  version: 1,
  orderId: `o-${placedAt}`,
  customerId: 'c-1',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  currency: 'USD',
  total: 10,
  items: [],
  placedAt,
  ...overrides,
});

const apply = (
  profile: CustomerProfile | undefined,
  o: OrderPlaced,
  totalMinor: number,
): CustomerProfile => ({
  ...(profile ?? newProfile(o.customerId, o.email, o.name, o.placedAt)),
  ...changesForOrder(profile, o, totalMinor),
});

const registration = (
  registeredAt: string,
  overrides: Partial<CustomerRegistered> = {},
): CustomerRegistered => ({
  version: 1,
  customerId: 'c-1',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  registeredAt,
  marketingConsent: false,
  ...overrides,
});

const register = (profile: CustomerProfile | undefined, r: CustomerRegistered): CustomerProfile => ({
  ...(profile ?? newProfile(r.customerId, r.email, r.name, r.registeredAt)),
  ...changesForRegistration(profile, r),
});

describe('the customer record', () => {
  it('is created by a first order with its count, spend and dates', () => {
    const profile = apply(undefined, order('2026-01-05T10:00:00Z'), 1000);
    expect(profile).toMatchObject({
      orderCount: 1,
      lifetimeSpendMinor: 1000,
      firstOrderAt: '2026-01-05T10:00:00Z',
      lastOrderAt: '2026-01-05T10:00:00Z',
      createdAt: '2026-01-05T10:00:00Z',
    });
  });

  it('keeps first and last order times right when orders arrive out of order', () => {
    let profile = apply(undefined, order('2026-03-01T00:00:00Z'), 500);
    profile = apply(profile, order('2026-01-01T00:00:00Z', { name: 'Old Name' }), 700);
    profile = apply(profile, order('2026-02-01T00:00:00Z'), 300);
    expect(profile.firstOrderAt).toBe('2026-01-01T00:00:00Z');
    expect(profile.lastOrderAt).toBe('2026-03-01T00:00:00Z');
    expect(profile.orderCount).toBe(3);
    expect(profile.lifetimeSpendMinor).toBe(1500);
    // Contact details follow the most recent order, not the latest to arrive.
    expect(profile.name).toBe('Ada Lovelace');
  });

  it('takes contact details and consent from a registration', () => {
    const changes = changesForRegistration(undefined, {
      version: 1,
      customerId: 'c-1',
      email: 'grace@example.com',
      name: 'Grace Hopper',
      registeredAt: '2026-01-01T00:00:00Z',
      timeZone: 'America/New_York',
      marketingConsent: false,
    });
    expect(changes).toMatchObject({
      email: 'grace@example.com',
      timeZone: 'America/New_York',
      consent: { '*': { granted: false, at: '2026-01-01T00:00:00Z', source: 'registration' } },
      orderCount: 0,
    });
  });

  it('greets by first name', () => {
    expect(firstName('  Ada   Lovelace ')).toBe('Ada');
  });

  it('keeps an opt-out when an older registration that gave consent is replayed after it', () => {
    let profile = register(undefined, registration('2026-01-01T00:00:00Z', { marketingConsent: true }));
    profile = register(profile, registration('2026-03-01T00:00:00Z', { marketingConsent: false }));
    profile = register(profile, registration('2026-01-01T00:00:00Z', { marketingConsent: true }));
    expect(profile.consent?.['*']).toEqual({
      granted: false,
      at: '2026-03-01T00:00:00Z',
      source: 'registration',
    });
  });

  it('changes each field only by a newer fact, field by field', () => {
    let profile = register(
      undefined,
      registration('2026-02-01T00:00:00Z', { timeZone: 'Europe/London', birthday: '12-10' }),
    );
    // A late registration from before: older email and zone, but the first birthday ever given.
    profile = register(
      profile,
      registration('2026-01-01T00:00:00Z', {
        email: 'old@example.com',
        timeZone: 'Asia/Tokyo',
        birthday: '11-11',
        marketingConsent: true,
      }),
    );
    expect(profile).toMatchObject({
      email: 'ada@example.com',
      timeZone: 'Europe/London',
      birthday: '12-10',
      registeredAt: '2026-01-01T00:00:00Z',
    });
    // The late registration's yes is older than the first one's no.
    expect(profile.consent?.['*']).toMatchObject({ granted: false, at: '2026-02-01T00:00:00Z' });
  });

  it('applies the same rule to orders and registrations: the newest fact wins, whichever carried it', () => {
    let profile = apply(undefined, order('2026-03-01T00:00:00Z', { email: 'new@example.com' }), 100);
    profile = register(
      profile,
      registration('2026-02-01T00:00:00Z', { email: 'reg@example.com', marketingConsent: true }),
    );
    expect(profile.email).toBe('new@example.com');
    // Nothing had said anything about consent yet, so the registration's yes stands.
    expect(profile.consent?.['*']?.granted).toBe(true);
    profile = apply(profile, order('2026-04-01T00:00:00Z', { marketingConsent: false }), 100);
    profile = apply(profile, order('2026-03-15T00:00:00Z', { marketingConsent: true, name: 'Late' }), 100);
    expect(profile.consent?.['*']).toEqual({ granted: false, at: '2026-04-01T00:00:00Z', source: 'order' });
    expect(profile).toMatchObject({
      name: 'Ada Lovelace',
      email: 'ada@example.com',
    });
  });

  it('gives a customer first seen in an order no marketing consent', () => {
    expect(apply(undefined, order('2026-01-05T10:00:00Z'), 1000).consent).toBeUndefined();
  });

  it('replays the newest registration harmlessly', () => {
    const newest = registration('2026-03-01T00:00:00Z', { marketingConsent: true, name: 'Ada King' });
    const once = register(register(undefined, registration('2026-01-01T00:00:00Z')), newest);
    expect(register(once, newest)).toEqual(once);
  });
});
