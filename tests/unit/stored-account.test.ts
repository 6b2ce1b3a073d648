import { describe, expect, it } from 'vitest';
import { emptyAccount, type PointsAccount } from '../../domain/loyalty/account.ts';
import {
  accountSchema,
  profileItem,
  storedAccount,
  storedTimes,
} from '../../functions/adapters/table-items.ts';

// The points account is stored as one compact string (decision 35): whatever goes in comes back.

describe('the stored points account', () => {
  const rich: PointsAccount = {
    pending: 120,
    available: 340,
    debt: 15,
    earned: 900,
    redeemed: 500,
    expired: 25,
    reversed: 30,
    forgiven: 5,
    lots: [
      {
        id: 'pending:2026-12-20',
        points: 120,
        remaining: 120,
        status: 'pending',
        earnedAt: '2026-11-20T10:15:00.123Z',
        maturesAt: '2026-12-20T10:15:00.123Z',
        expiresAt: '2027-12-20T10:15:00.123Z',
      },
      {
        id: 'expires:2027-03',
        points: 400,
        remaining: 340,
        status: 'available',
        earnedAt: '2026-01-31T23:59:59.999Z',
        expiresAt: '2027-03-31T08:00:00.000Z',
        warned: true,
      },
      { id: 'never', points: 50, remaining: 0, status: 'available', earnedAt: '1997-01-01T05:00:00.000Z' },
    ],
    qualifying: [
      { id: '2026-01-31', amount: 12_345 },
      { id: '2026-11-20', amount: 9_999 },
    ],
    tier: {
      id: 'silver',
      since: '2026-02-01T00:00:00.000Z',
      reviewAt: '2027-01-01T05:00:00.000Z',
      downgradeAt: '2027-01-31T05:00:00.000Z',
      downgradeTo: 'member',
    },
    lastActivityAt: '2026-11-20T10:15:00.123Z',
    inactivityWarned: '2026-01-31T23:59:59.999Z',
    day: { date: '2026-11-20', points: 120 },
    settlements: 7,
    outbox: [
      {
        detailType: 'points.expiring',
        time: '2027-03-01T08:00:00.000Z',
        detail: { customerId: 'c-1', points: 340, meta: { eventId: 'expiring:c-1:2027-03-31' } },
      },
    ],
  };

  it('reads back every field of an account exactly as it was written', () => {
    expect(accountSchema.parse(storedAccount(rich))).toEqual(rich);
    expect(accountSchema.parse(storedAccount(emptyAccount()))).toEqual(emptyAccount());
  });

  it('takes far fewer bytes than the account as JSON', () => {
    expect(storedAccount(rich).length).toBeLessThan(JSON.stringify(rich).length * 0.6);
  });

  it('reads back the very text of when each contact field was set, canonical or not', () => {
    const asOf = { email: '2026-11-20T10:15:00.123Z', name: '2026-03-01T00:00:00Z', birthday: '2026-03-01' };
    const item = { customerId: 'c-1', email: 'a@example.com', name: 'A', createdAt: asOf.email, version: 1 };
    const stored = storedTimes(asOf);
    expect(stored.length).toBeLessThan(JSON.stringify(asOf).length);
    expect(profileItem.parse({ ...item, asOf: stored }).asOf).toEqual(asOf);
    expect(profileItem.safeParse({ ...item, asOf: 'zk2j3' }).success).toBe(false);
  });

  it('refuses a stored account that is not what it writes, naming the field', () => {
    expect(() => accountSchema.parse('{"l":[["x",1,1,"q","k",null,null,0]]}')).toThrow(/l/);
    expect(accountSchema.safeParse('not json').success).toBe(false);
  });
});
