import { describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths.ts';
import { type SimulationReport, simulateFlow } from '../../local/simulate.ts';

// rapport simulate: a backtest of the win-back flow over the start of the CDNOW history, on the
// virtual clock. The first 1,500 purchases span January to March 1997; the clock then runs on to
// the end of the sample's purchases in that window plus 113 + 7 days, so journeys play out.

describe('simulating the win-back flow over the CDNOW history', () => {
  let report: SimulationReport;

  it('reports per step how many customers reached it, the emails and the journeys still waiting', async () => {
    report = await simulateFlow('win-back', fromRoot('data/cdnow_sample.txt'), {
      limit: 1500,
      until: '1997-08-15',
    });
    const step = (id: string) => report.steps.find((s) => s.id === id);
    expect(report.steps.map((s) => s.id)).toEqual([
      'coupon',
      'we-miss-you',
      'wait-for-order',
      'won-back',
      'last-chance',
    ]);
    expect(report.journeys.entered).toBeGreaterThan(100);
    // Every journey issues its coupon and sends the first email once.
    expect(step('we-miss-you')?.emails).toBe(report.journeys.entered);
    expect(step('coupon')?.customers).toBe(step('we-miss-you')?.customers);
    // After the wait each journey takes exactly one branch: an order, or the last chance.
    const waited = step('wait-for-order')?.customers ?? 0;
    expect((step('won-back')?.customers ?? 0) + (step('last-chance')?.customers ?? 0)).toBe(
      waited - report.journeysWaiting,
    );
    expect(step('last-chance')?.emails).toBe(step('last-chance')?.customers);
    expect(report.emailsSent).toBe((step('we-miss-you')?.emails ?? 0) + (step('last-chance')?.emails ?? 0));
    expect(report.journeys.completed + report.journeys.waiting).toBe(report.journeys.entered);
  }, 600_000);
});
