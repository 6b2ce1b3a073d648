import { appendFileSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../domain/journeys.ts';
import type { StoredSend } from '../../domain/ports.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { formatCustomer, readCustomer } from '../../local/customer-report.ts';
import { readInbox } from '../../local/emulators.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';
import { InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';

// Quiet hours and frequency caps through real flows on the local stack: two marketing flows on
// order.placed, a high-priority flash sale (no journey record of its own until a send is deferred)
// and a low-priority digest, under quiet hours 21:00-08:00 and caps of 3 in 7 days and 1 a day.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Monday 5 January 2026, 10:00 in New York (EST, UTC-5).
const MONDAY_10 = Date.parse('2026-01-05T15:00:00Z');

const flow = (id: string, priority: number, where: string) => `version: 1
id: ${id}
name: ${id}
priority: ${priority}
trigger:
  event: order.placed
  where: { total: [{ numeric: ["${where}", 100] }] }
steps:
  - id: mail
    type: send_email
    template: ${id}
    topic: promotions
`;

const workflows = (): string => {
  const relative = '.rapport/test-pacing-workflows';
  const dir = fromRoot(relative);
  rmSync(dir, { recursive: true, force: true });
  cpSync(fromRoot('workflows'), dir, { recursive: true });
  appendFileSync(
    join(dir, 'program.yaml'),
    `
delivery:
  quietHours: { from: "21:00", to: "08:00" }
  caps:
    - { emails: 3, days: 7 }
    - { emails: 1, days: 1 }
  staleAfter: { hours: 36 }
`,
  );
  // The flash sale for orders of 100 or more, the digest for smaller ones.
  writeFileSync(join(dir, 'flows', 'flash-sale.yaml'), flow('flash-sale', 10, '>='));
  writeFileSync(join(dir, 'flows', 'digest.yaml'), flow('digest', 1, '<'));
  for (const id of ['flash-sale', 'digest'])
    writeFileSync(
      join(dir, 'emails', `${id}.liquid`),
      `---\nsubject: "${id} for {{ customer.firstName }}"\n---\n<p>${id}</p>\n`,
    );
  return relative;
};

describe('quiet hours and frequency caps on the local stack', () => {
  let runtime: LocalRapport;
  let orders = 0;
  const dir = workflows();

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-pacing'),
      clock: new VirtualClock(MONDAY_10),
      workflowsDir: dir,
      onlyFlows: ['flash-sale', 'digest'],
    });
    await runtime.sweep();
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  const at = (ms: number) => runtime.advanceTo(new Date(ms));
  const order = async (customerId: string, total: number) => {
    runtime.putEvents([
      {
        Source: 'my.shop',
        DetailType: 'order.placed',
        EventBusName: runtime.names.eventBusName,
        Detail: JSON.stringify({
          version: 1,
          orderId: `o-${++orders}`,
          customerId,
          email: `${customerId}@example.com`,
          name: `Casey ${customerId}`,
          currency: 'USD',
          total,
          items: [],
          placedAt: runtime.clock.now().toISOString(),
          // No time zone of their own: the program's, America/New_York.
          marketingConsent: true,
        }),
      },
    ]);
    await runtime.drain();
    return `order.placed:o-${orders}`;
  };
  const inbox = async (customerId: string) =>
    (await readInbox(runtime.ses.endpoint))
      .filter((m) => m.destination.to.includes(`${customerId}@example.com`))
      .map((m) => m.subject.split(' ')[0]);
  /** The sends table of `rapport customer ID`, one line per send. */
  const sendLines = async (customerId: string) => {
    const target = { tableName: runtime.names.tableName, endpoint: runtime.dynamo.endpoint };
    const project = compileProject(readWorkflowSources(dir));
    const report = await readCustomer(target, customerId, project, {
      asOf: runtime.clock.now().toISOString(),
    });
    return report
      ? formatCustomer(report).filter((line) => /^\s+(flash-sale|digest)\s+mail\s/.test(line))
      : [];
  };
  const send = async (customerId: string, flowId: string, eventId: string): Promise<StoredSend | undefined> =>
    runtime.store().getSend(customerId, `${flowId}#${eventId}#mail`);

  it('defers a flash sale due at 23:00 local to 08:00, sends it then, and records both', async () => {
    await at(MONDAY_10 + 13 * HOUR); // 23:00 local
    const eventId = await order('q-1', 150);
    expect(await inbox('q-1')).toEqual([]);
    expect(await send('q-1', 'flash-sale', eventId)).toMatchObject({
      status: 'deferred',
      code: 'quiet-hours',
      until: '2026-01-06T13:00:00.000Z',
    });
    expect(await sendLines('q-1')).toEqual([
      expect.stringMatching(
        /flash-sale +mail +flash-sale +deferred \(quiet-hours\) .* until 2026-01-06T13:00/,
      ),
    ]);
    // A flow without journey records keeps one only for the deferred send, to resume it.
    expect(await runtime.store().getJourney('q-1', 'flash-sale', eventId)).toMatchObject({
      status: 'active',
    });

    await at(MONDAY_10 + 22 * HOUR); // 08:00 local
    expect(await inbox('q-1')).toEqual(['flash-sale']);
    expect(await send('q-1', 'flash-sale', eventId)).toMatchObject({
      status: 'sent',
      at: '2026-01-06T13:00:00.000Z',
      deferrals: 1,
    });
    expect(await runtime.store().getJourney('q-1', 'flash-sale', eventId)).toMatchObject({
      status: 'completed',
    });
  });

  it('never sends twice when the trigger is delivered again while the send waits or after it went', async () => {
    const start = Date.parse('2026-01-12T02:00:00Z'); // Sunday 21:00 local
    await at(start);
    const eventId = await order('d-1', 150);
    const runs = () =>
      runtime.executions.filter(
        (e) => e.machine.startsWith('FlowFlashSale') && JSON.stringify(e.input).includes(`"${eventId}"`),
      );
    const trigger = runs()[0]?.input;
    const arn = [...runtime.revisions].find(([name]) => name.startsWith('flash-sale@'))?.[1] ?? '';
    // EventBridge delivers the trigger again while the send waits for 08:00, and after it went.
    runtime.startExecution(arn, trigger);
    await runtime.drain();
    await at(start + 12 * HOUR);
    runtime.startExecution(arn, trigger);
    await runtime.drain();
    await at(start + 13 * HOUR);
    expect(runs().map((e) => [e.status, e.path.at(-1)])).toEqual([
      ['SUCCEEDED', 'mail:parked'],
      ['SUCCEEDED', 'mail:parked'],
      ['SUCCEEDED', 'Done'],
      ['SUCCEEDED', 'Done'],
    ]);
    expect(await inbox('d-1')).toEqual(['flash-sale']);
  });

  it('holds caps across two flows: the digest waits behind the flash sale, then goes, or is dropped when stale', async () => {
    // A customer whose waiting digest the sweeper resumes before the waiting flash sale (timer
    // shards are swept in order): only its priority puts the flash sale first.
    const journey = (n: number) => `order.placed:o-${orders + n}`;
    const customer =
      Array.from({ length: 100 }, (_, i) => `c-${i}`).find(
        (c) => shardOf(`${c}/${journey(3)}`) < shardOf(`${c}/${journey(2)}`),
      ) ?? 'c-0';
    const monday = Date.parse('2026-01-19T15:00:00Z'); // 10:00 local
    await at(monday);
    const news1 = await order(customer, 20); // the day's one email
    await at(monday + HOUR);
    const sale = await order(customer, 150); // the flash sale waits for tomorrow's slot
    await at(monday + 2 * HOUR);
    const news2 = await order(customer, 20); // so does another digest, behind the flash sale
    expect(await inbox(customer)).toEqual(['digest']);
    expect(await send(customer, 'flash-sale', sale)).toMatchObject({ status: 'deferred', code: 'cap' });
    expect(await send(customer, 'digest', news2)).toMatchObject({ status: 'deferred', code: 'cap' });

    // Tuesday 10:00: the slot frees; the flash sale has priority, the digest waits again, and
    // by Wednesday's slot it would be older than 36 hours: dropped, with its reason.
    await at(monday + DAY + 2 * HOUR);
    expect(await inbox(customer)).toEqual(['digest', 'flash-sale']);
    expect(await send(customer, 'digest', news1)).toMatchObject({ status: 'sent' });
    expect(await send(customer, 'flash-sale', sale)).toMatchObject({
      status: 'sent',
      at: '2026-01-20T15:00:00.000Z',
    });
    expect(await send(customer, 'digest', news2)).toMatchObject({ status: 'dropped', code: 'stale' });
    expect((await sendLines(customer)).map((line) => line.split(/\s{2,}/)[4])).toEqual([
      'sent',
      'sent',
      'dropped (stale)',
    ]);

    // Wednesday 08:00: a digest that only waits for the day's slot (at 10:00) goes then.
    await at(monday + 2 * DAY - 2 * HOUR);
    const news3 = await order(customer, 20);
    expect(await send(customer, 'digest', news3)).toMatchObject({ status: 'deferred', code: 'cap' });
    await at(monday + 3 * DAY);
    expect(await inbox(customer)).toEqual(['digest', 'flash-sale', 'digest']);
    expect(await send(customer, 'digest', news3)).toMatchObject({ status: 'sent', deferrals: 1 });
  });

  it('allows three marketing emails in seven days: the fourth waits for the week to roll, or is dropped', async () => {
    const monday = Date.parse('2026-02-02T15:00:00Z');
    const events: string[] = [];
    for (let day = 0; day < 4; day++) {
      await at(monday + day * DAY);
      events.push(await order('w-1', 150));
    }
    expect(await inbox('w-1')).toEqual(['flash-sale', 'flash-sale', 'flash-sale']);
    // The first of the three leaves the window on the next Monday, past the 36 hours it may wait.
    expect(await send('w-1', 'flash-sale', events[3] ?? '')).toMatchObject({
      status: 'dropped',
      code: 'stale',
    });
    const pacing = await runtime.store().getPacing('w-1');
    expect(pacing?.sends).toHaveLength(3);
    expect(pacing?.holds).toEqual([]);
  });

  it('writes send records and the pacing record as the in-memory store does: one transaction, guarded', async () => {
    for (const store of [runtime.store(), new InMemoryCustomerStore()]) {
      const at = '2026-03-02T15:00:00.000Z';
      const send = { customerId: 'x-1', key: 'digest#e-1#mail', templateId: 'digest', at };
      const pacing = (version: number) => ({
        expectedVersion: version,
        next: { version: version + 1, sends: [{ key: `k-${version}`, at }], holds: [] },
      });
      expect(await store.writeSend({ ...send, status: 'deferred', code: 'cap', until: at }, pacing(0))).toBe(
        'applied',
      );
      // Another writer's pacing version: nothing is written, the send stays deferred.
      expect(await store.writeSend({ ...send, status: 'sending' }, pacing(0))).toBe('conflict');
      expect((await store.getSend('x-1', send.key))?.status).toBe('deferred');
      expect(await store.writeSend({ ...send, status: 'sending' }, pacing(1))).toBe('applied');
      expect((await store.getPacing('x-1'))?.sends).toEqual([{ key: 'k-1', at }]);
      // A send in flight or done is never written over, with or without a pacing record.
      expect(await store.writeSend({ ...send, status: 'deferred' })).toBe('taken');
      expect(await store.writeSend({ ...send, status: 'sending' }, pacing(2))).toBe('taken');
      expect((await store.getPacing('x-1'))?.version).toBe(2);
    }
  });
});
