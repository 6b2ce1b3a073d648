import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { shardOf } from '../../domain/journeys.ts';
import { dueRulesFingerprint } from '../../domain/loyalty/engine.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// A timer shard with more due accounts than a sweep page: the scheduled sweep hands it to the
// SweepShards machine, whose Map runs the SweepShard function on it, on the local stack.

const PLACED = '2026-01-05T12:00:00.000Z';
const { program } = compileProject(readWorkflowSources());

describe('the sweep fan-out on the local stack', () => {
  let runtime: LocalRapport;
  const busy: string[] = [];
  for (let i = 0; busy.length < 120; i++) if (shardOf(`busy-${i}`) === 2) busy.push(`busy-${i}`);

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-sweep-fan-out'),
      clock: new VirtualClock(Date.parse(PLACED)),
      onlyFlows: [],
    });
    const store = runtime.store();
    await store.setTimerIndexState({ fingerprint: dueRulesFingerprint(program) });
    for (const customerId of busy) {
      const event = {
        version: '0',
        id: `e-${customerId}`,
        'detail-type': 'order.placed',
        source: 'test',
        time: PLACED,
        detail: {
          version: 1,
          orderId: `o-${customerId}`,
          customerId,
          email: `${customerId}@example.com`,
          name: 'Casey',
          currency: program.currency,
          total: 42.5,
          items: [],
          placedAt: PLACED,
        },
      };
      const context = { now: runtime.clock.now(), limits: program.limits };
      await recordEvent(parseCommerceEvent(event, context), { store, clock: runtime.clock, program });
    }
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('hands the backlogged shard to a SweepShard worker, which settles every account on it', async () => {
    // Maturity brings no visit (a read derives it); the expiry warning a year later does.
    const { pendingDays, expiry } = program.points;
    const warnDays = (expiry.afterDays ?? 0) - (expiry.warnDaysBefore ?? 0);
    runtime.clock.advanceTo(new Date(Date.parse(PLACED) + (pendingDays + warnDays + 1) * 86_400_000));
    const [result] = (await runtime.sweep()) as { fannedOut?: number; more?: boolean }[];
    await runtime.drain();

    expect(result).toMatchObject({ fannedOut: 1, more: true });
    const workers = runtime.executions.filter((e) => e.machine.startsWith('SweepShards'));
    expect(workers.map((e) => [e.status, e.path])).toEqual([['SUCCEEDED', ['Shards', 'SweepShard']]]);
    expect(workers[0]?.input).toMatchObject({ shards: [[2]] });
    // Every account on the shard was visited: its expiry warning is written down.
    const warned = await Promise.all(
      busy.map(async (id) => (await runtime.store().getProfile(id))?.points?.lots.some((l) => l.warned)),
    );
    expect(warned.filter((w) => !w)).toEqual([]);
  });
});
