import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { eventFixture } from '../support/fixtures.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// The fixtures are from November 2026; the clock reads a few days later.
const context = eventContext('2026-11-24T12:00:00Z');
const parse = (input: unknown) => parseCommerceEvent(input, context);

describe('commerce events', () => {
  it('parses an order.placed envelope into a typed event with its EventBridge id', () => {
    const event = parse(eventFixture('order-placed'));
    expect(event.type).toBe('order.placed');
    expect(event.eventId).toBe('7bf73129-1428-4cd3-a780-95db273d1602');
    expect(event.type === 'order.placed' && event.detail.total).toBe(42.99);
  });

  it('parses customer.registered and order.refunded', () => {
    expect(parse(eventFixture('customer-registered')).type).toBe('customer.registered');
    expect(parse(eventFixture('order-refunded')).type).toBe('order.refunded');
  });

  it('rejects an order whose total is a string, naming the field', () => {
    const event = eventFixture('order-placed');
    event.detail.total = '42.99';
    expect(() => parse(event)).toThrow(InvalidEventError);
    expect(() => parse(event)).toThrow(/^detail\.total: /);
  });

  it('names every broken field at once, including nested item fields', () => {
    const event = eventFixture('order-placed');
    event.detail.email = 'not-an-email';
    (event.detail.items as { quantity: number }[])[1]!.quantity = 0;
    try {
      parse(event);
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
    expect(() => parse(event)).toThrow(/detail\.version/);
  });

  it('rejects a detail-type it does not know, listing the ones it does', () => {
    const event = { ...eventFixture('order-placed'), 'detail-type': 'order.shipped' };
    expect(() => parse(event)).toThrow(
      'detail-type: "order.shipped" is not one of customer.registered, order.placed, order.refunded',
    );
  });

  it('rejects something that is not an EventBridge envelope', () => {
    expect(() => parse({ detail: {} })).toThrow(InvalidEventError);
  });

  /** The reason an event with these detail changes is refused, or undefined if it is accepted. */
  const reasonFor = (
    name: 'order-placed' | 'order-refunded' | 'customer-registered',
    change: Record<string, unknown>,
    ctx = context,
  ): string | undefined => {
    const event = eventFixture(name);
    Object.assign(event.detail, change);
    try {
      parseCommerceEvent(event, ctx);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidEventError);
      return (error as Error).message;
    }
  };
  const item = (unitPrice: number) => [{ sku: 'S-1', quantity: 1, unitPrice }];

  it.each([
    ['NaN', { total: Number.NaN }, /^detail\.total: /],
    ['Infinity', { total: Number.POSITIVE_INFINITY }, /^detail\.total: /],
    ['a negative total', { total: -1 }, /^detail\.total: must not be negative/],
    ['1e308', { total: 1e308 }, /^detail\.total: must be at most/],
    ['a total above the program limit', { total: 100_000.01 }, /^detail\.total: must be at most 100000/],
    [
      'three decimals in USD',
      { total: 10.005 },
      /^detail\.total: 10\.005 has more decimals than USD allows \(2\)/,
    ],
    ['a tiny fraction', { total: 1e-200 }, /^detail\.total: 1e-200 has more decimals/],
    ['0.1 + 0.2', { total: 0.1 + 0.2 }, /^detail\.total: 0\.30000000000000004 has more decimals/],
    ['a line price with cents fractions', { items: item(1.001) }, /^detail\.items\.0\.unitPrice: /],
    [
      'a line price above the limit',
      { items: item(2e5), total: 10 },
      /^detail\.items\.0\.unitPrice: must be at most/,
    ],
    [
      'decimals in JPY',
      { currency: 'JPY', total: 10.5 },
      /^detail\.total: 10\.5 has more decimals than JPY allows \(0\)/,
    ],
  ])('refuses an order total or price of %s, naming the field', (_, change, reason) => {
    expect(reasonFor('order-placed', change)).toMatch(reason);
  });

  it('takes the money limit from the program', () => {
    const strict = eventContext('2026-11-24T12:00:00Z', loyaltyProgram({ limits: { maxOrderTotal: 40 } }));
    expect(reasonFor('order-placed', {}, strict)).toMatch(/^detail\.total: must be at most 40 /);
    expect(reasonFor('order-refunded', { amount: 50 }, strict)).toMatch(
      /^detail\.amount: must be at most 40 /,
    );
    expect(reasonFor('order-placed', { total: 3, items: [] }, strict)).toBeUndefined();
  });

  it.each([
    ['year 9999', '9999-12-31T23:59:59Z', /must be between 1970 and 2200/],
    ['year 0001', '0001-01-01T00:00:00Z', /must be between 1970 and 2200/],
    ['30 February', '2026-02-30T10:00:00Z', /must be an ISO 8601 date-time/],
    ['a month after the clock', '2026-12-24T12:00:00Z', /must not be more than 7 days after now/],
  ])('refuses an order placed in %s', (_, placedAt, reason) => {
    expect(reasonFor('order-placed', { placedAt })).toMatch(
      new RegExp(`^detail\\.placedAt: ${reason.source}`),
    );
  });

  it('measures the future from the injected clock, so a replay of 1997 is accepted in 1997 only', () => {
    const in1997 = eventContext('1997-01-01T00:00:00Z');
    const order = { placedAt: '1997-01-02T12:00:00Z', items: [], total: 29.33 };
    expect(reasonFor('order-placed', order, in1997)).toBeUndefined();
    expect(reasonFor('order-placed', { ...order, placedAt: '1997-03-01T12:00:00Z' }, in1997)).toMatch(
      /^detail\.placedAt: must not be more than 7 days after now \(1997-01-01/,
    );
    expect(reasonFor('order-refunded', { refundedAt: '2027-01-01T00:00:00Z' })).toMatch(
      /^detail\.refundedAt: /,
    );
    expect(reasonFor('customer-registered', { registeredAt: '2030-01-01T00:00:00Z' })).toMatch(
      /^detail\.registeredAt: /,
    );
  });

  it.each([
    ['Mars/Olympus_Mons', true],
    ['+05:00', true],
    ['Europe/London ', true],
    ['', true],
    ['Europe/London', false],
    ['America/Argentina/Buenos_Aires', false],
    ['UTC', false],
  ])('checks the time zone %j against the IANA names Intl knows (refused: %s)', (timeZone, refused) => {
    const reason = reasonFor('customer-registered', { timeZone });
    if (refused) expect(reason).toMatch(/^detail\.timeZone: must be an IANA time zone/);
    else expect(reason).toBeUndefined();
  });

  it.each([
    ['02-30', true],
    ['13-01', true],
    ['00-10', true],
    ['2023-02-29', true],
    ['1800-05-01', true],
    ['02-29', false],
    ['2024-02-29', false],
    ['1990-12-31', false],
  ])('checks the birthday %s is a real date (refused: %s)', (birthday, refused) => {
    const reason = reasonFor('customer-registered', { birthday });
    if (refused) expect(reason).toMatch(/^detail\.birthday: /);
    else expect(reason).toBeUndefined();
  });

  it.each([
    ['customerId', 'c-1\u0000'],
    ['customerId', 'c-\u202eevil'],
    ['customerId', 'c-\u2066x\u2069'],
    ['customerId', 'c-\ud800'],
    ['customerId', 'x'.repeat(129)],
    ['name', 'Ada\u0007 Lovelace'],
    ['name', `Ada ${'\udfff'}`],
    ['name', 'A'.repeat(201)],
    ['email', 'ada@example.com\r\nBcc: all@example.com'],
    ['email', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`],
  ])('refuses a registration whose %s is %j', (field, value) => {
    expect(reasonFor('customer-registered', { [field]: value })).toMatch(new RegExp(`^detail\\.${field}: `));
  });

  it('lets a refund reason run over lines, but not carry other control characters', () => {
    expect(reasonFor('order-refunded', { reason: 'arrived broken.\r\nBox crushed.\tSorry' })).toBeUndefined();
    expect(reasonFor('order-refunded', { reason: 'broken\u001b[2J' })).toMatch(/^detail\.reason: /);
  });

  it('names the whole event when it is not an object at all', () => {
    for (const input of [null, 42, 'order.placed', []])
      expect(() => parse(input)).toThrow(/^event: Invalid input: expected object/);
  });

  it('reports a malformed currency on the currency, not as a failure to count decimals', () => {
    expect(reasonFor('order-placed', { currency: 'US$' })).toBe(
      'detail.currency: must be a three-letter ISO 4217 code such as USD',
    );
  });

  it('keeps names in any script and emoji with their joiners', () => {
    expect(reasonFor('customer-registered', { name: 'Zoë 李 👩‍💻 Ωμέγα' })).toBeUndefined();
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'refuses the detail-type %s as unknown rather than reading it off Object.prototype',
    (type) => {
      const event = { ...eventFixture('order-placed'), 'detail-type': type };
      expect(() => parse(event)).toThrow(`detail-type: "${type}" is not one of`);
    },
  );

  it('quotes an unknown detail-type short, however long it was', () => {
    const event = { ...eventFixture('order-placed'), 'detail-type': `x${'\n'.repeat(10)}` };
    expect(() => parse(event)).toThrow(/^detail-type: must not contain control/);
    const long = { ...eventFixture('order-placed'), 'detail-type': 'y'.repeat(128) };
    expect(() => parse(long)).toThrow(/^detail-type: "y{64}…" is not one of/);
  });

  it('states no marketing consent unless the registration says so', () => {
    const event = parse(eventFixture('customer-registered'));
    expect(event.type === 'customer.registered' && event.detail.marketingConsent).toBeUndefined();
  });

  it('refuses a consent change that says nothing, or names a topic that is not an id', () => {
    const change = (detail: object) => ({
      ...eventFixture('customer-registered'),
      'detail-type': 'customer.consent-changed',
      detail: { version: 1, customerId: 'c-1', changedAt: '2026-01-01T00:00:00Z', ...detail },
    });
    expect(() => parse(change({}))).toThrow(
      'detail.consent: must give marketingConsent or consent for at least one topic',
    );
    expect(() => parse(change({ consent: { 'Promo<s>': true } }))).toThrow(
      /^detail\.consent\.Promo<s>: must be a topic id/,
    );
    expect(() => parse(change({ consent: { promotions: 'yes' } }))).toThrow(/^detail\.consent\.promotions: /);
    const parsed = parse(change({ consent: { promotions: false } }));
    expect(parsed).toMatchObject({
      type: 'customer.consent-changed',
      detail: { consent: { promotions: false } },
    });
  });
});
