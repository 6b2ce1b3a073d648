import { describe, expect, it } from 'vitest';
import { changesForOrder, changesForRegistration, newProfile } from '../../domain/customer.ts';
import { InvalidEventError } from '../../domain/errors.ts';
import { EVENT_TYPES, factKey, parseCommerceEvent } from '../../domain/events.ts';
import { withoutPersonalData } from '../../domain/use-cases/privacy.ts';
import { eventContext } from '../support/parse.ts';

const context = eventContext('2026-03-05T12:00:00Z');
const request = (type: string, detail: Record<string, unknown>) => ({
  id: 'env-1',
  'detail-type': type,
  source: 'my.shop',
  detail,
});
const at = '2026-03-02T15:00:00Z';

describe('privacy requests', () => {
  it('reads an erasure request keyed by its request id', () => {
    const event = parseCommerceEvent(
      request('customer.erasure-requested', {
        version: 1,
        customerId: 'c-1',
        requestId: 'r-1',
        requestedAt: at,
      }),
      context,
    );
    expect(event).toMatchObject({ type: 'customer.erasure-requested', detail: { customerId: 'c-1' } });
    expect(factKey(event)).toBe('customer.erasure-requested:r-1');
  });

  it('refuses an export request without a request id, naming the field', () => {
    const parse = () =>
      parseCommerceEvent(
        request('customer.export-requested', { version: 1, customerId: 'c-1', requestedAt: at }),
        context,
      );
    expect(parse).toThrow(InvalidEventError);
    expect(parse).toThrow(/^detail\.requestId: /);
  });

  it('offers no flow a privacy request as a trigger', () => {
    expect(EVENT_TYPES).not.toContain('customer.erasure-requested');
    expect(EVENT_TYPES).not.toContain('customer.export-requested');
  });

  it('lets an order change an erased profile’s figures but not its address, name or consent', () => {
    const erased = { ...newProfile('c-1', '', '', at), erasedAt: at, version: 4 };
    const order = {
      version: 1 as const,
      orderId: 'o-9',
      customerId: 'c-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      currency: 'USD',
      total: 20,
      items: [],
      placedAt: '2026-04-01T10:00:00Z',
      marketingConsent: true,
    };
    const changes = withoutPersonalData(erased, changesForOrder(erased, order, 2000));
    expect(changes).toMatchObject({ orderCount: 1, lifetimeSpendMinor: 2000 });
    for (const field of ['email', 'name', 'consent', 'asOf']) expect(changes).not.toHaveProperty(field);
  });

  it('lets a registration write nothing personal on an erased profile, and everything on another', () => {
    const registration = {
      version: 1 as const,
      customerId: 'c-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      registeredAt: at,
      birthday: '1990-12-10',
      timeZone: 'Europe/London',
      marketingConsent: true,
    };
    const erased = { ...newProfile('c-1', '', '', at), erasedAt: at };
    expect(withoutPersonalData(erased, changesForRegistration(erased, registration))).toEqual({});
    const live = newProfile('c-1', 'old@example.com', 'Ada', at);
    expect(withoutPersonalData(live, changesForRegistration(live, registration))).toMatchObject({
      email: 'ada@example.com',
      birthday: '1990-12-10',
    });
  });
});
