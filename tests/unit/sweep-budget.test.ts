import { describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import type { JourneyStore } from '../../domain/ports.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { sweep } from '../../domain/use-cases/sweep.ts';
import { sweepConfig } from '../../domain/workflow/compile.ts';
import { eventFixture } from '../support/fixtures.ts';
import { InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';
import { loyaltyProgram } from '../support/program.ts';

// The sweeper settles due points accounts within its invocation's time budget: when the budget
// runs low it stops taking accounts and says `more`, and the next sweep carries on.

describe('settling due points accounts within the time budget', () => {
  // Maturity alone brings no sweep (a read derives it): the warning a day later does.
  const program = loyaltyProgram({
    points: { pendingDays: 30, expiry: { afterDays: 31, warnDaysBefore: 30 } },
  });
  const setup = async () => {
    const store = new InMemoryCustomerStore();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = { now: () => new Date(now), sleep: async () => {} };
    for (const customerId of ['a', 'b', 'c']) {
      const event = eventFixture('order-placed');
      event.id = `e-${customerId}`;
      Object.assign(event.detail, {
        customerId,
        orderId: `o-${customerId}`,
        placedAt: '2026-01-01T00:00:00Z',
      });
      await recordEvent(parseCommerceEvent(event, eventContext(clock.now(), program)), {
        store,
        clock,
        program,
      });
    }
    now += 31 * 86_400_000;
    // The sweep also resumes waits; this store has none.
    const journeys: Pick<JourneyStore, 'dueWaits'> = { dueWaits: async () => [] };
    const deps = {
      store: Object.assign(store, journeys) as InMemoryCustomerStore & JourneyStore,
      clock,
      starter: { start: async () => {} },
      publisher: { publish: async () => {} },
    };
    return { store, deps };
  };
  const config = sweepConfig([], program);

  it('settles nothing and asks for another sweep when the budget is nearly spent', async () => {
    const { store, deps } = await setup();
    const result = await sweep(config, { ...deps, timeLeft: () => 1_000 });
    expect(result).toMatchObject({ settled: 0, more: true });
    expect(store.profiles.get('a')?.pointsPending).toBe(42);
  });

  it('settles every due account when there is time, and the next sweep finds nothing due', async () => {
    const { store, deps } = await setup();
    expect(await sweep(config, { ...deps, timeLeft: () => 60_000 })).toMatchObject({ settled: 3 });
    expect(['a', 'b', 'c'].map((id) => store.profiles.get(id)?.points?.lots[0]?.warned)).toEqual([
      true,
      true,
      true,
    ]);
    expect((await sweep(config, deps)).settled).toBe(0);
  });
});
