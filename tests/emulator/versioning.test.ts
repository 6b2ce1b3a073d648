import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths.ts';
import { readInbox } from '../../local/emulators.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// A journey runs to its end on the revision it entered with, and a deploy that changes a flow says
// how many journeys are still in flight on the old one.

const DAY = 86_400_000;
const CHANGED = '.rapport/versioning-workflows';

describe('deploying a changed flow while journeys are in flight', () => {
  let runtime: LocalRapport;
  let orders = 0;

  beforeAll(async () => {
    rmSync(fromRoot(CHANGED), { recursive: true, force: true });
    cpSync(fromRoot('workflows'), fromRoot(CHANGED), { recursive: true });
    const template = fromRoot(CHANGED, 'emails/win-back-last-chance.liquid');
    writeFileSync(
      template,
      readFileSync(template, 'utf8').replace('subject: "Last chance,', 'subject: "Final call,'),
    );
    runtime = await LocalRapport.start({
      outputDir: fromRoot('.rapport/test-versioning'),
      clock: new VirtualClock(Date.parse('2026-03-02T08:00:00Z')),
      onlyFlows: ['win-back'],
    });
    await runtime.sweep();
  });
  afterAll(async () => {
    await runtime?.stop();
    rmSync(fromRoot(CHANGED), { recursive: true, force: true });
  });

  const order = async (customerId: string) => {
    runtime.putEvents([
      {
        Source: 'my.shop',
        EventBusName: runtime.names.eventBusName,
        DetailType: 'order.placed',
        Detail: {
          version: 1,
          orderId: `v-${++orders}`,
          customerId,
          email: `${customerId}@example.com`,
          name: `Robin ${customerId}`,
          currency: 'USD',
          total: 20,
          items: [],
          placedAt: runtime.clock.now().toISOString(),
          marketingConsent: true,
        },
      },
    ]);
    await runtime.drain();
  };
  const advance = (days: number) => runtime.advanceTo(new Date(runtime.clock.now().getTime() + days * DAY));
  const subjects = async (customerId: string) =>
    (await readInbox(runtime.ses.endpoint))
      .filter((m) => m.destination.to.includes(`${customerId}@example.com`))
      .map((m) => m.subject);

  it('says how many journeys are in flight on the old revision, and they finish on it', async () => {
    await order('old-1');
    await order('old-2');
    await advance(114);
    expect(await subjects('old-1')).toEqual(['We miss you, Robin: 15% off to come back']);

    const report = await runtime.redeploy(CHANGED);
    expect(report).toEqual([
      { flowId: 'win-back', from: expect.any(String), to: expect.any(String), inFlight: 2 },
    ]);
    expect(report[0]?.from).not.toBe(report[0]?.to);

    // A journey that entered after the deploy runs the new revision.
    await order('new-1');
    await advance(8);
    expect(await subjects('old-1')).toEqual([
      'We miss you, Robin: 15% off to come back',
      'Last chance, Robin: your 15% code expires soon',
    ]);
    // 113 days without an order, then the 7-day wait.
    await advance(113 + 8);
    expect(await subjects('new-1')).toEqual([
      'We miss you, Robin: 15% off to come back',
      'Final call, Robin: your 15% code expires soon',
    ]);
  });
});
