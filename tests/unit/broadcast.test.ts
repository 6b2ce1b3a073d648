import { StateMachine } from 'aws-local-stepfunctions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Broadcast, broadcastName, holds, type SegmentCursor } from '../../domain/broadcast.ts';
import type { SweepConfig } from '../../domain/contracts/sweep-input.ts';
import { scanPageInputSchema } from '../../domain/contracts/tasks.ts';
import { type CustomerProfile, newProfile } from '../../domain/customer.ts';
import { emptyAccount } from '../../domain/loyalty/account.ts';
import type { PublishedEvent } from '../../domain/ports.ts';
import { scanSegmentPages } from '../../domain/use-cases/broadcast.ts';
import { sweep } from '../../domain/use-cases/sweep.ts';
import { broadcastDefinition } from '../../domain/workflow/broadcast-machine.ts';
import { conditionRule } from '../../domain/workflow/conditions.ts';
import type { Condition } from '../../domain/workflow/flow-schema.ts';
import { systemClock } from '../../functions/commons/runtime.ts';
import { InMemoryProfileScanner } from '../support/in-memory-profile-scanner.ts';
import { InMemorySweepStore } from '../support/in-memory-sweep-store.ts';

const OCCURRENCE = '2026-01-05T15:00:00.000Z';
const broadcast: Broadcast = {
  flowId: 'weekly-offer',
  occurrence: OCCURRENCE,
  when: [{ field: 'profile.orderCount', gte: 1 }],
};

const customers = (count: number): CustomerProfile[] =>
  Array.from({ length: count }, (_, i) => ({
    ...newProfile(`c-${String(i).padStart(4, '0')}`, `c-${i}@example.com`, `Casey ${i}`, OCCURRENCE),
    orderCount: i % 2,
  }));

const eventIds = (events: PublishedEvent[]) =>
  events.map((e) => (e.detail.meta as { eventId: string }).eventId);

/** Runs the Broadcast ASL in aws-local-stepfunctions with ScanPage bound to the use case. */
const runMachine = async (
  scanner: InMemoryProfileScanner,
  publish: (events: readonly PublishedEvent[]) => Promise<void>,
  shape = { totalSegments: 16, maxConcurrency: 8, pagesPerCall: 8 },
) => {
  const definition = JSON.stringify(broadcastDefinition(shape)).replace(
    '${BroadcastFunctionArn}',
    'arn:aws:lambda:us-east-1:123456789012:function:ScanPage',
  );
  const machine = new StateMachine(JSON.parse(definition), {
    validationOptions: { checkArn: false },
  });
  const execution = machine.run(broadcast as never, {
    overrides: {
      taskResourceLocalHandlers: {
        ScanPage: async (input: unknown) =>
          scanSegmentPages(scanPageInputSchema.parse(input), {
            scanner,
            publisher: { publish },
            clock: systemClock,
          }),
      },
      retryIntervalOverrides: { ScanPage: 0 },
    },
  });
  const path: string[] = [];
  const retries: string[] = [];
  const collecting = (async () => {
    for await (const log of execution.eventLogs) {
      if (log.type === 'StateEntered') path.push(log.state.name);
      if (log.type === 'StateRetried') retries.push(log.state.name);
    }
  })();
  const output = (await execution.result) as { segments: (SegmentCursor & { segment: number })[] };
  await collecting;
  return { output, path, retries };
};

describe('a broadcast’s segment filter', () => {
  const field = fc.constantFrom(
    'profile.orderCount',
    'profile.tier',
    'profile.attributes.vip',
    'profile.missing',
  );
  const scalar = fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constantFrom('gold', 'go', ''), fc.boolean());
  const condition: fc.Arbitrary<Condition> = fc.oneof(
    fc.record({ field, equals: scalar }),
    fc.record({ field, not_equals: scalar }),
    fc.record({ field, gt: fc.integer({ min: -1, max: 3 }) }),
    fc.record({ field, gte: fc.integer({ min: -1, max: 3 }) }),
    fc.record({ field, lt: fc.integer({ min: -1, max: 3 }) }),
    fc.record({ field, lte: fc.integer({ min: -1, max: 3 }) }),
    fc.record({ field, exists: fc.boolean() }),
    fc.record({ field, starts_with: fc.constantFrom('g', 'go', 'x', '') }),
    fc.record({ tag: fc.constantFrom('vip', 'new') }),
    fc.record({ not_tag: fc.constantFrom('vip', 'new') }),
  );
  const value = fc.option(scalar, { nil: undefined });
  const profile = fc.record({
    orderCount: value,
    tier: value,
    attributes: fc.option(fc.record({ vip: scalar }), { nil: undefined }),
    tags: fc.option(fc.dictionary(fc.constantFrom('vip', 'new'), fc.constant(true)), { nil: undefined }),
  });

  it('admits exactly the profiles the flow’s compiled Choice rule admits', async () => {
    await fc.assert(
      fc.asyncProperty(condition, profile, async (c, p) => {
        const defined = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
        const choice = new StateMachine(
          {
            StartAt: 'Eligible?',
            States: {
              'Eligible?': { Type: 'Choice', Choices: [{ ...conditionRule(c), Next: 'Yes' }], Default: 'No' },
              Yes: { Type: 'Pass', Result: { admitted: true }, End: true },
              No: { Type: 'Pass', Result: { admitted: false }, End: true },
            },
            // Validating each definition takes a tenth of a second; the shapes are conditionRule's, checked by compile's tests.
          } as never,
          { validationOptions: { noValidate: true } },
        );
        const asl = (await choice.run({ journey: { profile: defined } } as never).result) as {
          admitted: boolean;
        };
        expect(holds(c, defined)).toBe(asl.admitted);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the Broadcast machine', () => {
  it('names one execution per flow and occurrence, as Step Functions allows names', () => {
    const name = broadcastName('weekly-offer', new Date(OCCURRENCE));
    expect(name).toBe('weekly-offer_20260105T150000Z');
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(broadcastName('weekly-offer', new Date('2026-01-12T15:00:00Z'))).not.toBe(name);
    expect(broadcastName('a'.repeat(40), new Date(OCCURRENCE)).length).toBeLessThanOrEqual(80);
  });

  it('refuses more parallel segments than an inline Map runs', () => {
    expect(() => broadcastDefinition({ totalSegments: 64, maxConcurrency: 41, pagesPerCall: 8 })).toThrow(
      /maxConcurrency/,
    );
    expect(() => broadcastDefinition({ totalSegments: 0, maxConcurrency: 8, pagesPerCall: 8 })).toThrow(
      /totalSegments/,
    );
  });

  it('triggers every admitted customer once and no one else, segment by segment and page by page', async () => {
    const profiles = customers(400);
    const scanner = new InMemoryProfileScanner(profiles, 2, 5);
    const published: PublishedEvent[] = [];
    const { output, path, retries } = await runMachine(scanner, async (events) => {
      published.push(...events);
    });

    const admitted = profiles
      .filter((p) => p.orderCount >= 1)
      .map((p) => `schedule:weekly-offer:${OCCURRENCE}:${p.customerId}`);
    expect(eventIds(published).sort()).toEqual(admitted.sort());
    expect(retries).toEqual([]);
    expect(output.segments.map((s) => s.segment)).toEqual([...Array(16).keys()]);
    expect(output.segments.reduce((sum, s) => sum + s.scanned, 0)).toBe(1200);
    // 75 items a segment in pages of 5: 15 pages, two ScanPage calls of at most 8 pages.
    expect(output.segments.every((s) => s.invocations >= 2)).toBe(true);
    expect(path.filter((s) => s === 'ScanPage')).toHaveLength(
      output.segments.reduce((n, s) => n + s.invocations, 0),
    );
    expect(path.at(-1)).toBe('Sent');
    // The whole state after the Map stays far inside Step Functions' 256 KB.
    expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThan(8 * 1024);
  });

  it('resumes a crashed ScanPage call from its segment’s last cursor, repeating at most one call’s pages', async () => {
    const profiles = customers(400);
    const scanner = new InMemoryProfileScanner(profiles, 2, 5);
    const published: PublishedEvent[] = [];
    let calls = 0;
    const { output, retries } = await runMachine(scanner, async (events) => {
      published.push(...events);
      // The injected crash, after PutEvents succeeded: its answer is lost, so the call's pages are redone.
      if (++calls === 150) throw Object.assign(new Error('Task timed out'), { name: 'Sandbox.Timedout' });
    });

    const ids = eventIds(published);
    const admitted = profiles.filter((p) => p.orderCount >= 1).length;
    expect(new Set(ids).size).toBe(admitted);
    expect(retries).toEqual(['ScanPage']);
    const pages = output.segments.reduce((n, s) => n + s.pages, 0);
    const redone = scanner.calls.length - pages;
    expect(redone).toBeGreaterThan(0);
    expect(redone).toBeLessThanOrEqual(8);
    // Triggers sent twice are those pages' customers only, under the same event ids.
    expect(ids.length - admitted).toBeLessThanOrEqual(redone * 5);
  });

  it('refuses to publish a scheduled trigger that breaks the customer.scheduled contract, naming the field', async () => {
    const [first] = customers(2);
    const nameless = { ...(first as CustomerProfile), customerId: '', orderCount: 1 };
    const published: PublishedEvent[] = [];
    const page = {
      broadcast,
      segment: 0,
      totalSegments: 1,
      pagesPerCall: 8,
      cursor: { after: null, done: false, scanned: 0, matched: 0, pages: 0, readUnits: 0, invocations: 0 },
    };
    await expect(
      scanSegmentPages(page, {
        scanner: new InMemoryProfileScanner([nameless]),
        publisher: { publish: async (events) => void published.push(...events) },
        clock: systemClock,
      }),
    ).rejects.toThrow('customer.scheduled: detail.customerId:');
    expect(published).toEqual([]);
  });
});

describe('the sweeper and a scheduled flow', () => {
  const config: SweepConfig = {
    timeZone: 'America/New_York',
    inactivityDays: [],
    dates: [],
    schedules: [{ flowId: 'weekly-offer', every: 'week', weekday: 'mon', at: '10:00', when: broadcast.when }],
  };
  const setup = (start: (name: string, b: Broadcast) => Promise<'started' | 'already started'>) => {
    const store = new InMemorySweepStore();
    let now = Date.parse('2026-01-05T08:00:00Z');
    const clock = { now: () => new Date(now), sleep: async () => {} };
    const deps = {
      store,
      clock,
      starter: { start: async () => {} },
      publisher: { publish: async () => {} },
      broadcaster: { start },
    };
    return { store, deps, advanceTo: (iso: string) => (now = Date.parse(iso)) };
  };

  it('starts one broadcast per due occurrence and reads no profile', async () => {
    const started: [string, Broadcast][] = [];
    const { store, deps, advanceTo } = setup(async (name, b) => {
      started.push([name, b]);
      return 'started';
    });
    for (const profile of customers(3))
      await store.saveProfile(profile.customerId, profile, undefined, OCCURRENCE);
    await sweep(config, deps);
    advanceTo('2026-01-12T16:00:00Z');
    const result = await sweep(config, deps);

    expect(started).toEqual([
      ['weekly-offer_20260105T150000Z', broadcast],
      ['weekly-offer_20260112T150000Z', { ...broadcast, occurrence: '2026-01-12T15:00:00.000Z' }],
    ]);
    expect(result).toMatchObject({ scheduled: 2, failed: 0 });
  });

  it('asks again in the next sweep when a start fails, and counts a refused name as started before', async () => {
    const answers: ('fail' | 'started' | 'already started')[] = ['fail', 'already started'];
    const asked: string[] = [];
    const { deps, advanceTo } = setup(async (name) => {
      asked.push(name);
      const answer = answers.shift() ?? 'started';
      if (answer === 'fail') throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return answer;
    });
    await sweep(config, deps);
    advanceTo('2026-01-05T16:00:00Z');
    const failed = await sweep(config, deps);
    advanceTo('2026-01-05T16:01:00Z');
    const again = await sweep(config, deps);
    advanceTo('2026-01-05T16:02:00Z');
    const after = await sweep(config, deps);

    expect(asked).toEqual(['weekly-offer_20260105T150000Z', 'weekly-offer_20260105T150000Z']);
    expect([failed, again, after].map((r) => [r.scheduled, r.failed])).toEqual([
      [0, 1],
      [0, 0],
      [0, 0],
    ]);
  });

  it('admits by points as they stand at the broadcast, though the maturity was never written down', async () => {
    const stored: CustomerProfile = {
      ...newProfile('c-rich', 'rich@example.com', 'Rich', OCCURRENCE),
      points: {
        ...emptyAccount(),
        pending: 600,
        earned: 600,
        lots: [
          {
            id: 'pending:2026-01-01',
            points: 600,
            remaining: 600,
            status: 'pending',
            earnedAt: '2025-12-02T00:00:00.000Z',
            maturesAt: '2026-01-01T00:00:00.000Z',
            expiresAt: '2027-01-01T00:00:00.000Z',
          },
        ],
      },
      pointsPending: 600,
    };
    const published: PublishedEvent[] = [];
    const run = (at: string) =>
      scanSegmentPages(
        {
          broadcast: { ...broadcast, when: [{ field: 'profile.pointsBalance', gte: 500 }] },
          segment: 0,
          totalSegments: 1,
          pagesPerCall: 8,
          cursor: {
            after: null,
            done: false,
            scanned: 0,
            matched: 0,
            pages: 0,
            readUnits: 0,
            invocations: 0,
          },
        },
        {
          scanner: new InMemoryProfileScanner([stored]),
          publisher: { publish: async (events) => void published.push(...events) },
          clock: { now: () => new Date(at), sleep: async () => {} },
        },
      );
    await run('2025-12-31T23:59:00.000Z');
    expect(published).toEqual([]);
    await run('2026-01-01T00:00:00.000Z');
    expect(eventIds(published)).toEqual([`schedule:weekly-offer:${OCCURRENCE}:c-rich`]);
  });
});
