import { describe, expect, it } from 'vitest';
import { consentFor, mailPermission, mergeConsent } from '../../domain/consent.ts';
import { InvalidEventError, NotFoundError } from '../../domain/errors.ts';
import { parseCommerceEvent } from '../../domain/events.ts';
import { changeConsent } from '../../domain/use-cases/consent.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { profileItem, storedConsent } from '../../functions/adapters/table-items.ts';
import { fixedClock, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

const program = loyaltyProgram({
  topics: [
    { id: 'orders', name: 'Orders', transactional: true },
    { id: 'loyalty', name: 'Points' },
    { id: 'promotions', name: 'Offers' },
  ],
});
const orders = { id: 'orders', transactional: true };
const loyalty = { id: 'loyalty', transactional: false };
const promotions = { id: 'promotions', transactional: false };
const clock = fixedClock('2026-06-01T12:00:00Z');

const envelope = (type: string, detail: object, id = `e-${type}-${JSON.stringify(detail).length}`) =>
  parseCommerceEvent(
    { id, 'detail-type': type, source: 'my.shop', detail },
    eventContext(clock.now(), program),
  );
const registration = (at: string, extra: object = {}) =>
  envelope('customer.registered', {
    version: 1,
    customerId: 'c-1',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    registeredAt: at,
    ...extra,
  });
const consentChange = (at: string, extra: object) =>
  envelope('customer.consent-changed', { version: 1, customerId: 'c-1', changedAt: at, ...extra });

describe('consent per topic', () => {
  it('lets the newer of the topic and all-marketing facts decide, a refusal winning a tie', () => {
    const yes = (at: string) => ({ granted: true, at, source: 'shop' as const });
    const no = (at: string) => ({ granted: false, at, source: 'unsubscribe' as const });
    expect(
      consentFor({ '*': yes('2026-01-01T00:00:00Z'), loyalty: no('2026-02-01T00:00:00Z') }, 'loyalty'),
    ).toEqual(no('2026-02-01T00:00:00Z'));
    expect(
      consentFor({ '*': no('2026-03-01T00:00:00Z'), loyalty: yes('2026-02-01T00:00:00Z') }, 'loyalty'),
    ).toEqual(no('2026-03-01T00:00:00Z'));
    expect(
      consentFor({ '*': yes('2026-03-01T00:00:00Z'), loyalty: no('2026-03-01T00:00:00Z') }, 'loyalty')
        ?.granted,
    ).toBe(false);
    expect(
      consentFor({ '*': no('2026-03-01T00:00:00Z'), loyalty: yes('2026-03-01T00:00:00Z') }, 'loyalty')
        ?.granted,
    ).toBe(false);
  });

  it('changes a topic only by a fact at least as new as the one it holds', () => {
    const first = mergeConsent(undefined, { loyalty: false }, '2026-03-01T00:00:00Z', 'unsubscribe');
    const late = mergeConsent(
      first,
      { loyalty: true, promotions: true },
      '2026-02-01T00:00:00Z',
      'registration',
    );
    expect(late).toEqual({
      loyalty: { granted: false, at: '2026-03-01T00:00:00Z', source: 'unsubscribe' },
      promotions: { granted: true, at: '2026-02-01T00:00:00Z', source: 'registration' },
    });
  });

  it('sends transactional mail without consent and through an opt-out, never to a dead address', () => {
    const optedOut = {
      consent: { '*': { granted: false, at: '2026-01-01T00:00:00Z', source: 'unsubscribe' as const } },
    };
    expect(mailPermission(optedOut, orders)).toMatchObject({ receives: true, code: 'transactional' });
    expect(mailPermission(optedOut, loyalty)).toMatchObject({ receives: false, code: 'opted-out' });
    expect(mailPermission({}, promotions)).toMatchObject({ receives: false, code: 'no-consent' });
    const complained = {
      ...optedOut,
      suppression: { reason: 'complaint' as const, at: '2026-01-02T00:00:00Z' },
    };
    expect(mailPermission(complained, orders).receives).toBe(true);
    expect(mailPermission(complained, promotions).code).toBe('suppressed');
    const bounced = { suppression: { reason: 'hard-bounce' as const, at: '2026-01-02T00:00:00Z' } };
    expect(mailPermission(bounced, orders)).toMatchObject({ receives: false, code: 'suppressed' });
    expect(mailPermission({ erasedAt: '2026-01-03T00:00:00Z' }, orders).code).toBe('erased');
  });

  it('records registration consent per topic, with its source and time', async () => {
    const store = new InMemoryCustomerStore();
    await recordEvent(
      registration('2026-01-01T00:00:00Z', { marketingConsent: true, consent: { promotions: false } }),
      { store, clock, program },
    );
    const profile = await store.getProfile('c-1');
    expect(profile?.consent).toEqual({
      '*': { granted: true, at: '2026-01-01T00:00:00Z', source: 'registration' },
      promotions: { granted: false, at: '2026-01-01T00:00:00Z', source: 'registration' },
    });
    expect(profile && mailPermission(profile, loyalty).receives).toBe(true);
    expect(profile && mailPermission(profile, promotions).receives).toBe(false);
  });

  it("records the shop's consent change, and a replayed older registration does not re-enable it", async () => {
    const store = new InMemoryCustomerStore();
    const deps = { store, clock, program };
    await recordEvent(registration('2026-01-01T00:00:00Z', { marketingConsent: true }), deps);
    const change = consentChange('2026-02-01T00:00:00Z', { consent: { loyalty: false } });
    expect(await recordEvent(change, deps)).toMatchObject({ outcome: 'applied', publish: true });
    expect(await recordEvent(change, deps)).toMatchObject({ outcome: 'duplicate' });
    await recordEvent(
      registration('2026-01-01T00:00:00Z', { marketingConsent: true, consent: { loyalty: true } }),
      deps,
    );
    const profile = await store.getProfile('c-1');
    expect(profile?.consent?.loyalty).toEqual({ granted: false, at: '2026-02-01T00:00:00Z', source: 'shop' });
    expect(profile && mailPermission(profile, loyalty).code).toBe('opted-out');
    expect(profile && mailPermission(profile, promotions).code).toBe('consented');
  });

  it('refuses consent for a topic the program lacks or a transactional one, naming the field, and writes nothing', async () => {
    const store = new InMemoryCustomerStore();
    const deps = { store, clock, program };
    await recordEvent(registration('2026-01-01T00:00:00Z'), deps);
    const before = await store.getProfile('c-1');
    await expect(
      recordEvent(consentChange('2026-02-01T00:00:00Z', { consent: { news: true } }), deps),
    ).rejects.toThrow(
      new InvalidEventError(
        'detail.consent.news: no topic "news" in the program (topics: orders, loyalty, promotions)',
        'detail.consent.news',
      ),
    );
    await expect(
      recordEvent(
        consentChange('2026-02-01T00:00:00Z', { marketingConsent: true, consent: { orders: false } }),
        deps,
      ),
    ).rejects.toThrow('detail.consent.orders: orders is transactional; it needs no consent');
    await expect(
      recordEvent(registration('2026-01-01T00:00:00Z', { consent: { news: true } }), {
        ...deps,
        store: new InMemoryCustomerStore(),
      }),
    ).rejects.toThrow(/^detail\.consent\.news: /);
    expect(await store.getProfile('c-1')).toEqual(before);
  });

  it('retries a consent change that outran the registration rather than lose it', async () => {
    const store = new InMemoryCustomerStore();
    await expect(
      recordEvent(consentChange('2026-02-01T00:00:00Z', { marketingConsent: false }), {
        store,
        clock,
        program,
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(
      await changeConsent(
        { customerId: 'c-9', topics: { '*': false }, at: clock.now().toISOString(), source: 'unsubscribe' },
        { store, clock },
      ),
    ).toEqual({
      outcome: 'no-customer',
    });
  });

  it('reports an unsubscribe that changes nothing as unchanged and writes no new version', async () => {
    const store = new InMemoryCustomerStore();
    await recordEvent(registration('2026-01-01T00:00:00Z', { marketingConsent: true }), {
      store,
      clock,
      program,
    });
    const input = {
      customerId: 'c-1',
      topics: { '*': false },
      at: '2026-05-01T00:00:00Z',
      source: 'unsubscribe' as const,
    };
    expect(await changeConsent(input, { store, clock })).toEqual({ outcome: 'applied' });
    const version = (await store.getProfile('c-1'))?.version;
    expect(await changeConsent(input, { store, clock })).toEqual({ outcome: 'unchanged' });
    expect((await store.getProfile('c-1'))?.version).toBe(version);
  });

  it('stores consent as one short string that reads back as written, and reads the old single flag', () => {
    const consent = {
      '*': { granted: true, at: '2026-01-01T00:00:00.000Z', source: 'registration' as const },
      loyalty: { granted: false, at: '2026-02-01T10:00:00+01:00', source: 'preference-page' as const },
    };
    const stored = storedConsent(consent);
    expect(stored.length).toBeLessThan(60);
    const base = {
      customerId: 'c-1',
      email: 'a@example.com',
      name: 'A',
      createdAt: '2025-01-01T00:00:00Z',
      version: 1,
    };
    expect(profileItem.parse({ ...base, consent: stored }).consent).toEqual(consent);
    expect(profileItem.parse({ ...base, marketingConsent: true }).consent).toEqual({
      '*': { granted: true, at: '2025-01-01T00:00:00Z', source: 'registration' },
    });
    expect(profileItem.safeParse({ ...base, consent: 'loyalty:2x1' }).success).toBe(false);
  });
});
