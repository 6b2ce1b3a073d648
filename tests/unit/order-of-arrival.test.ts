import { beforeEach, describe, expect, it } from 'vitest';
import { type CommerceEvent, parseCommerceEvent } from '../../domain/events.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { eventFixture } from '../support/fixtures.ts';
import { fixedClock, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { testProgram } from '../support/program.ts';

// Webhooks are retried and reordered: a refund or a cancellation may arrive before its order, and
// a platform's refund may not name its customer. Every order of arrival ends in the same state.

const program = testProgram;
const clock = fixedClock();
const context = eventContext(clock.now(), program);

const placed = (): CommerceEvent => parseCommerceEvent(eventFixture('order-placed'), context);
const refund = (id: string, amount: number, options: { customer?: boolean } = {}): CommerceEvent => {
  const fixture = eventFixture('order-refunded') as { detail: Record<string, unknown> };
  const { customerId, ...detail } = fixture.detail;
  return parseCommerceEvent(
    {
      ...fixture,
      id: `env-${id}`,
      detail: { ...detail, ...(options.customer === false ? {} : { customerId }), refundId: id, amount },
    },
    context,
  );
};
const cancel = (options: { customer?: boolean } = {}): CommerceEvent =>
  parseCommerceEvent(
    {
      id: 'env-cancel',
      'detail-type': 'order.cancelled',
      source: 'my.shop',
      detail: {
        version: 1,
        orderId: 'o-1001',
        ...(options.customer === false ? {} : { customerId: 'c-42' }),
        cancelledAt: '2026-11-22T10:00:00Z',
        reason: 'customer changed their mind',
      },
    },
    context,
  );

/** Ingest as the machine does: record, then ingest again whatever the order released. */
const ingest = async (store: InMemoryCustomerStore, event: CommerceEvent) => {
  const result = await recordEvent(event, { store, clock, program });
  if (result.type === 'order.placed')
    for (const released of result.released) {
      await ingest(store, parseCommerceEvent({ ...released, id: `again-${released.id}` }, context));
    }
  return result;
};

/** What the books say: balance, ledger, the order's bookkeeping, the profile's refunds. */
const state = (store: InMemoryCustomerStore) => ({
  balance: store.profiles.get('c-42')?.pointsBalance,
  refunded: store.profiles.get('c-42')?.refundedMinor,
  ledger: [...store.entries.values()].map((e) => [e.entryId, e.points]).sort(),
  order: (({ refundedMinor, pointsReversed, cancelledAt }) => ({
    refundedMinor,
    pointsReversed,
    cancelledAt,
  }))(store.orders.get('c-42/o-1001') ?? { refundedMinor: -1, pointsReversed: -1, cancelledAt: 'none' }),
  waiting: store.pending.size,
});

describe('refunds and cancellations in any order of arrival', () => {
  let ordered: ReturnType<typeof state>;
  beforeEach(async () => {
    const store = new InMemoryCustomerStore();
    await ingest(store, placed());
    await ingest(store, refund('r-1', 12.99));
    ordered = state(store);
  });

  it('keeps a refund that outran its order, then takes it back once the order lands', async () => {
    const store = new InMemoryCustomerStore();
    expect(await ingest(store, refund('r-1', 12.99))).toMatchObject({ outcome: 'waiting', publish: false });
    expect(store.entries.size).toBe(0);
    expect(store.pending.size).toBe(1);
    const order = await ingest(store, placed());
    expect(order).toMatchObject({
      outcome: 'applied',
      released: [expect.objectContaining({ id: 'env-r-1' })],
    });
    expect(state(store)).toEqual(ordered);
    expect(ordered).toMatchObject({
      balance: 29,
      ledger: [
        ['earn:order:o-1001', 42],
        ['reverse:refund:r-1', -13],
      ],
    });
  });

  it('finds the customer of a refund that does not name one from its order', async () => {
    const store = new InMemoryCustomerStore();
    await ingest(store, placed());
    expect(await ingest(store, refund('r-1', 12.99, { customer: false }))).toMatchObject({
      outcome: 'applied',
      customerId: 'c-42',
      pointsReversed: 13,
      publish: true,
    });
    expect(state(store)).toEqual(ordered);
  });

  it('waits for the order of a refund that names no customer, and applies it to the right one', async () => {
    const store = new InMemoryCustomerStore();
    expect(await ingest(store, refund('r-1', 12.99, { customer: false }))).toMatchObject({
      outcome: 'waiting',
    });
    await ingest(store, placed());
    expect(state(store)).toEqual(ordered);
  });

  it('releases nothing twice: a redelivered order finds the refund already recorded', async () => {
    const store = new InMemoryCustomerStore();
    await ingest(store, refund('r-1', 12.99));
    await ingest(store, placed());
    expect(await ingest(store, placed())).toMatchObject({ outcome: 'duplicate', released: [] });
    expect(await ingest(store, refund('r-1', 12.99))).toMatchObject({ outcome: 'duplicate' });
    expect(state(store)).toEqual(ordered);
  });

  it('takes back what is left of a cancelled order, and nothing more for a refund after it', async () => {
    const store = new InMemoryCustomerStore();
    await ingest(store, placed());
    expect(await ingest(store, cancel())).toMatchObject({ outcome: 'applied', pointsReversed: 42 });
    expect(await ingest(store, refund('r-1', 12.99))).toMatchObject({
      outcome: 'applied',
      pointsReversed: 0,
    });
    expect(await ingest(store, cancel())).toMatchObject({ outcome: 'duplicate', pointsReversed: 42 });
    expect(state(store)).toMatchObject({
      balance: 0,
      refunded: 4299,
      ledger: [
        ['earn:order:o-1001', 42],
        ['reverse:cancel:o-1001', -42],
      ],
      order: { refundedMinor: 4299, pointsReversed: 42, cancelledAt: '2026-11-22T10:00:00Z' },
    });
  });

  it('ends a refund, a cancellation and their order alike in all six orders of arrival', async () => {
    const events = [
      placed,
      () => refund('r-1', 12.99, { customer: false }),
      () => cancel({ customer: false }),
    ];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const ends = [];
    for (const order of orders) {
      const store = new InMemoryCustomerStore();
      for (const i of order) await ingest(store, (events[i] as () => CommerceEvent)());
      const { balance, refunded, order: record, waiting } = state(store);
      ends.push({ balance, refunded, record, waiting });
    }
    expect(new Set(ends.map((end) => JSON.stringify(end))).size).toBe(1);
    expect(ends[0]).toEqual({
      balance: 0,
      refunded: 4299,
      record: { refundedMinor: 4299, pointsReversed: 42, cancelledAt: '2026-11-22T10:00:00Z' },
      waiting: 0,
    });
  });
});
