import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { eventFixture } from '../support/fixtures.ts';

describe('commerce events', () => {
  it('parses an order.placed envelope into a typed event with its EventBridge id', () => {
    const event = parseCommerceEvent(eventFixture('order-placed'));
    expect(event.type).toBe('order.placed');
    expect(event.eventId).toBe('7bf73129-1428-4cd3-a780-95db273d1602');
    expect(event.type === 'order.placed' && event.detail.total).toBe(42.99);
  });

  it('parses customer.registered and order.refunded', () => {
    expect(parseCommerceEvent(eventFixture('customer-registered')).type).toBe('customer.registered');
    expect(parseCommerceEvent(eventFixture('order-refunded')).type).toBe('order.refunded');
  });

  it('rejects an order whose total is a string, naming the field', () => {
    const event = eventFixture('order-placed');
    event.detail.total = '42.99';
    expect(() => parseCommerceEvent(event)).toThrow(InvalidEventError);
    expect(() => parseCommerceEvent(event)).toThrow(/^detail\.total: /);
  });

  it('names every broken field at once, including nested item fields', () => {
    const event = eventFixture('order-placed');
    event.detail.email = 'not-an-email';
    (event.detail.items as { quantity: number }[])[1]!.quantity = 0;
    try {
      parseCommerceEvent(event);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as Error).message).toContain('detail.email: must be an email address');
      expect((error as Error).message).toContain('detail.items.1.quantity: must be at least 1');
      expect((error as InvalidEventError).field).toBe('detail.email');
    }
  });

  it('rejects an unknown schema version', () => {
    const event = eventFixture('order-placed');
    event.detail.version = 2;
    expect(() => parseCommerceEvent(event)).toThrow(/detail\.version/);
  });

  it('rejects a detail-type it does not know, listing the ones it does', () => {
    const event = { ...eventFixture('order-placed'), 'detail-type': 'order.shipped' };
    expect(() => parseCommerceEvent(event)).toThrow(
      'detail-type: order.shipped is not one of customer.registered, order.placed, order.refunded',
    );
  });

  it('rejects something that is not an EventBridge envelope', () => {
    expect(() => parseCommerceEvent({ detail: {} })).toThrow(InvalidEventError);
  });
});
