import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { fromRoot } from '../../infra/paths.ts';
import { LocalRapport } from '../../local/runtime.ts';
import { eventFixture } from '../support/fixtures.ts';

// What the functions log, read from the local runtime's log file: Powertools lines with the
// request id and cold start, one line per invocation with its duration, EMF metrics, and never an
// address or an event.

const outputDir = fromRoot('.rapport/test-logs');
const logLine = z.looseObject({
  level: z.string(),
  message: z.string(),
  function: z.string(),
  function_request_id: z.string().min(1),
  cold_start: z.boolean(),
});
const emfLine = z.looseObject({
  _aws: z.object({
    CloudWatchMetrics: z.array(
      z.object({ Namespace: z.string(), Metrics: z.array(z.object({ Name: z.string() })) }),
    ),
  }),
});

describe('the functions’ logs on the local stack', () => {
  let runtime: LocalRapport;
  let lines: Record<string, unknown>[] = [];
  let text = '';

  beforeAll(async () => {
    // Prepare: a registration (no marketing consent: the welcome email is skipped), an order (its
    // thank-you goes out) and an order missing its total.
    runtime = await LocalRapport.start({ outputDir, onlyFlows: ['welcome', 'thank-you'] });
    const registered = eventFixture('customer-registered');
    const order = eventFixture('order-placed');
    const entry = (fixture: ReturnType<typeof eventFixture>, detail: Record<string, unknown>) => ({
      Source: 'my.shop',
      DetailType: fixture['detail-type'],
      Detail: JSON.stringify(detail),
      EventBusName: runtime.names.eventBusName,
    });
    // Act
    runtime.putEvents([entry(registered, registered.detail)]);
    await runtime.drain();
    runtime.putEvents([
      entry(order, order.detail),
      entry(order, { ...order.detail, email: 'grace@example.com', total: undefined }),
    ]);
    await runtime.drain();
    await runtime.stop();
    text = readFileSync(`${outputDir}/lambda.log.ndjson`, 'utf8');
    lines = text
      .trim()
      .split('\n')
      .map((line) => z.record(z.string(), z.unknown()).parse(JSON.parse(line)));
  }, 300_000);
  afterAll(async () => {
    await runtime?.stop().catch(() => undefined);
  });

  it('writes one line per invocation with its request id, cold start and duration', () => {
    const ends = lines.filter((l) => ['done', 'failed', 'rejected'].includes(String(l.message)));
    const invocations = [...runtime.invocations.values()].reduce((a, b) => a + b, 0);
    expect(invocations).toBeGreaterThan(2);
    expect(ends).toHaveLength(invocations);
    for (const end of ends) {
      const parsed = logLine.parse(end);
      expect(z.number().nonnegative().parse(end.durationMs)).toBeGreaterThanOrEqual(0);
      expect(parsed.function_request_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    // The first invocation of each function is its cold start, and only that one.
    const parsed = ends.map((l) => logLine.parse(l));
    for (const name of new Set(parsed.map((l) => l.function))) {
      const calls = parsed.filter((l) => l.function === name);
      expect(calls.map((c) => c.cold_start)).toEqual(calls.map((_, i) => i === 0));
    }
  });

  it('never logs an email address or the event itself', () => {
    expect(text).toContain('"message":"rejected"');
    expect(text).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.]+/);
    expect(text).not.toContain('Ada Lovelace');
    expect(text).not.toContain('"detail"');
  });

  it('counts the emails sent and skipped and the order it rejected as EMF metrics', () => {
    const metrics = lines.flatMap((l) => {
      const emf = emfLine.safeParse(l);
      return emf.success
        ? emf.data._aws.CloudWatchMetrics.flatMap((m) =>
            m.Metrics.map((metric) => [metric.Name, l[metric.Name]]),
          )
        : [];
    });
    expect(metrics).toContainEqual(['EmailsSent', 1]);
    expect(metrics).toContainEqual(['EmailsSkipped', 1]);
    expect(metrics).toContainEqual(['EventsRejected', 1]);
  });
});
