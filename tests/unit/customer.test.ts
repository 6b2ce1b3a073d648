import { describe, expect, it } from 'vitest';
import {
  type CustomerProfile,
  changesForOrder,
  changesForRegistration,
  firstName,
  newProfile,
} from '../../domain/customer.ts';
import type { OrderPlaced } from '../../domain/events.ts';

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
      marketingConsent: false,
      orderCount: 0,
    });
  });

  it('greets by first name', () => {
    expect(firstName('  Ada   Lovelace ')).toBe('Ada');
  });
});
