import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../domain/workflow/compile.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { parseCdnow } from '../../local/cdnow.ts';
import { startEventsEndpoint } from '../../local/events-endpoint.ts';
import { type ReplaySummary, replayClock, replayPurchases } from '../../local/replay.ts';
import { LocalRapport } from '../../local/runtime.ts';

// The whole CDNOW sample through the local stack with the shipped loyalty program and the flows every
// order touches (thank-you, tier upgrades, expiry reminders). The timed flows are backtested apart
// (simulate.test.ts), so this replay stays within a CI budget.
describe('replaying the CDNOW sample', () => {
  let runtime: LocalRapport;
  let server: Server;
  let summary: ReplaySummary;

  beforeAll(async () => {
    const purchases = parseCdnow(readFileSync(fromRoot('data/cdnow_sample.txt'), 'utf8'));
    runtime = await LocalRapport.start({
      outputDir: fromRoot('.rapport/test-replay'),
      clock: replayClock(purchases),
      onlyFlows: ['thank-you', 'tier-upgrade', 'points-expiring'],
    });
    const endpoint = await startEventsEndpoint(runtime);
    server = endpoint.server;
    const dataset = fromRoot('data/cdnow_sample.txt');
    summary = await replayPurchases(runtime, endpoint.endpoint, parseCdnow(readFileSync(dataset, 'utf8')), {
      dataset,
      program: compileProject(readWorkflowSources()).program,
    });
  }, 1_500_000);
  afterAll(async () => {
    server?.close();
    await runtime?.stop();
  });

  it('records 6,919 orders from 2,357 customers', () => {
    expect(summary).toMatchObject({
      events: 6919,
      orders: 6919,
      customers: 2357,
      rejected: 0,
      failedExecutions: 0,
    });
  });

  it('accounts for every point: reconcile finds every balance equal to its ledger, and orders earn at least the base rate', () => {
    // Sum over the sample of floor(dollars): computed from the file, not from the system under test.
    const base = parseCdnow(readFileSync(fromRoot('data/cdnow_sample.txt'), 'utf8')).reduce(
      (sum, p) => sum + Math.floor(Math.round(p.dollars * 100) / 100),
      0,
    );
    expect(summary.reconcile.mismatches).toEqual([]);
    expect(summary.pointsEarned).toBe(summary.reconcile.points.orderPoints);
    // Tier multipliers only add: silver and gold members earn more than the base.
    expect(summary.pointsEarned).toBeGreaterThan(base);
    const p = summary.reconcile.points;
    expect(p.issued - p.reversed - p.redeemed - p.expired).toBe(p.outstanding);
    expect(Object.values(summary.reconcile.tiers).reduce((a, b) => a + b, 0)).toBe(2357);
  });

  it('sends one thank-you per order, a welcome per tier upgrade and a reminder before points expire', () => {
    expect(summary.sendsByFlow['thank-you']).toBe(6919);
    // Every silver or gold member was welcomed at least once (gold members passed silver first or not).
    const upgraded = (summary.reconcile.tiers.silver ?? 0) + (summary.reconcile.tiers.gold ?? 0);
    expect(summary.sendsByFlow['tier-upgrade'] ?? 0).toBeGreaterThanOrEqual(upgraded);
    expect(summary.sendsByFlow['points-expiring'] ?? 0).toBeGreaterThan(0);
    expect(summary.emailsSent).toBe(summary.sends);
  });
});
