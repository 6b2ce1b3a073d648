import { parseCommerceEvent } from '#domain/events.ts';
import { shardOf, TIMER_SHARDS } from '#domain/journeys.ts';
import { dueRulesFingerprint } from '#domain/loyalty/engine.ts';
import { recordEvent } from '#domain/use-cases/record-event.ts';
import { type SweepResult, sweep } from '#domain/use-cases/sweep.ts';
import { compileProject } from '#domain/workflow/compile.ts';
import { readWorkflowSources } from '#infra/workflow-files.ts';
import { LocalRapport, VirtualClock } from './runtime.ts';

// How fast one sweep worker settles due points accounts on its timer shard, on DynamoDB Local:
// orders of customers on chosen shards are recorded, the clock moves past their maturity, and a
// worker per shard settles them (the use case the SweepShard function runs, with the real store).
// docs/scale.md turns the figure into shards for a customer count and order rate.

const PLACED = Date.parse('2026-01-05T12:00:00Z');

const customersOn = (shard: number, count: number, prefix: string) => {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++)
    if (shardOf(`${prefix}-${i}`) === shard) ids.push(`${prefix}-${i}`);
  return ids;
};

/** Runs the shard bench and prints its lines through `out`. */
export const benchSweepShards = async (out: (line: string) => void, perShard = 200): Promise<void> => {
  const { program } = compileProject(readWorkflowSources());
  const clock = new VirtualClock(PLACED);
  const runtime = await LocalRapport.start({ clock, onlyFlows: [] });
  try {
    const store = runtime.store();
    const deps = { store, clock, starter: { start: async () => {} }, publisher: { publish: async () => {} } };
    // The timer index agrees with the program, so no one-off recheck pass runs.
    await store.setTimerIndexState({ fingerprint: dueRulesFingerprint(program) });
    const record = async (ids: string[]) => {
      const at = clock.now().toISOString();
      for (let i = 0; i < ids.length; i += 8)
        await Promise.all(
          ids.slice(i, i + 8).map((customerId) =>
            recordEvent(
              parseCommerceEvent(
                {
                  version: '0',
                  id: `bench-${customerId}`,
                  'detail-type': 'order.placed',
                  source: 'bench',
                  time: at,
                  detail: {
                    version: 1,
                    orderId: `o-${customerId}`,
                    customerId,
                    email: `${customerId}@example.com`,
                    name: 'Casey Bench',
                    currency: program.currency,
                    total: 42.5,
                    items: [],
                    placedAt: at,
                  },
                },
                { now: clock.now(), limits: program.limits },
              ),
              { store, clock, program },
            ),
          ),
        );
    };
    const config = { timeZone: program.timeZone, inactivityDays: [], dates: [], schedules: [], program };
    const settle = async (shards: number[]) => {
      const started = performance.now();
      const results: SweepResult[] = await Promise.all(
        shards.map((shard) => sweep({ ...config, shards: [shard] }, deps)),
      );
      return { seconds: (performance.now() - started) / 1000, results };
    };
    const line = (
      label: string,
      shards: number,
      accounts: number,
      run: Awaited<ReturnType<typeof settle>>,
    ) => {
      const entries = run.results.reduce((n, r) => n + r.settled, 0);
      const failed = run.results.reduce((n, r) => n + r.failed, 0);
      out(
        `  ${label.padEnd(30)}${(accounts / run.seconds / shards).toFixed(0)} accounts/s per shard (${accounts} accounts, ${entries} ledger entries, ${shards} worker${shards > 1 ? 's' : ''} at once, ${run.seconds.toFixed(1)} s${failed ? `, ${failed} failed` : ''})`,
      );
    };
    const matured = () => new Date(clock.now().getTime() + (program.points.pendingDays + 1) * 86_400_000);

    out('  Sweep workers (due points accounts settled on DynamoDB Local, shipped program):');
    const alone = customersOn(0, perShard, 'alone');
    await record(alone);
    clock.advanceTo(matured());
    line('one shard alone', 1, alone.length, await settle([0]));

    const shards = Array.from({ length: TIMER_SHARDS }, (_, shard) => shard);
    const each = Math.ceil(perShard / 2);
    const together = shards.flatMap((shard) => customersOn(shard, each, 'together'));
    await record(together);
    clock.advanceTo(matured());
    line(`${TIMER_SHARDS} shards at once`, TIMER_SHARDS, together.length, await settle(shards));
  } finally {
    await runtime.stop();
  }
};
