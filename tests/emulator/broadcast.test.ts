import { readFileSync, rmSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { TransientError } from '../../domain/errors.ts';
import { DynamoDbProfileScanner } from '../../functions/adapters/dynamodb-profile-scanner.ts';
import { fromRoot } from '../../infra/paths.ts';
import { WEEKLY_OFFER, workflowsWithBroadcast } from '../../local/broadcast-workflows.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';

// A scheduled flow on the local stack: the sweeper starts one Broadcast execution per occurrence,
// whose inline Map scans the table in 16 segments (one item a page here, so a segment takes
// several ScanPage calls of eight pages each) and starts the flow once for each customer it admits.

const START = Date.parse('2026-01-05T08:00:00Z'); // Monday 03:00 in New York
const OCCURRENCE = '2026-01-05T15:00:00.000Z'; // Monday 10:00 in New York
const CUSTOMERS = 200;

describe('a weekly broadcast on the local stack', () => {
  let runtime: LocalRapport;
  let workflows: string;
  /** PutEvents calls of the Broadcast function, and the one after which it crashes. */
  let publishes = 0;
  let crashAfter = Number.POSITIVE_INFINITY;

  beforeAll(async () => {
    workflows = workflowsWithBroadcast('test-broadcast-workflows');
    runtime = await LocalRapport.start({
      trace: true,
      outputDir: fromRoot('.rapport/test-broadcast'),
      clock: new VirtualClock(START),
      workflowsDir: workflows,
      onlyFlows: [WEEKLY_OFFER],
      decorate: (deps, logicalId) => {
        if (!logicalId.startsWith('Broadcast')) return deps;
        // One-item pages, so a segment takes several calls (built on first use: the emulator is up by then).
        let small: DynamoDbProfileScanner | undefined;
        const scanner = () => {
          const client = new DynamoDBClient({
            endpoint: runtime.dynamo.endpoint,
            region: LOCAL_REGION,
            credentials: LOCAL_CREDENTIALS,
          });
          small ??= new DynamoDbProfileScanner(client, runtime.names.tableName, undefined, 1);
          return small;
        };
        return {
          ...deps,
          scanner: { scanSegment: (...page) => scanner().scanSegment(...page) },
          publisher: {
            // The injected crash: the function dies right after a PutEvents succeeded, its answer lost.
            publish: async (events) => {
              await deps.publisher.publish(events);
              if (++publishes === crashAfter) throw new TransientError('the function crashed mid-segment');
            },
          },
        };
      },
    });
    const at = new Date(START).toISOString();
    for (let i = 0; i < CUSTOMERS; i++) {
      await runtime.store().saveProfile(
        `c-${String(i).padStart(3, '0')}`,
        {
          email: `c-${i}@example.com`,
          name: `Casey ${i}`,
          createdAt: at,
          consent: { '*': { granted: true, at, source: 'registration' } },
          // One in four has ordered: the flow admits those.
          orderCount: i % 4 === 0 ? 1 + (i % 3) : 0,
        },
        undefined,
        at,
      );
    }
    // The deployed sweeper starts its cursors at deploy time.
    await runtime.sweep();
    await runtime.drain();
  });
  afterAll(async () => {
    await runtime?.stop();
    if (workflows) rmSync(fromRoot(workflows), { recursive: true, force: true });
  });

  const admitted = Array.from({ length: CUSTOMERS }, (_, i) => i).filter((i) => i % 4 === 0);
  const offers = async () =>
    (await readInbox(runtime.ses.endpoint)).filter((email) => email.subject.startsWith("This week's offer"));
  const broadcasts = () => runtime.executions.filter((e) => e.machine.startsWith('BroadcastMachine'));

  it('starts the flow once for every customer it admits, though a ScanPage call crashes mid-segment', async () => {
    crashAfter = 30;
    await runtime.advanceTo('2026-01-05T16:00:00Z');
    await runtime.drain();

    const [execution, ...more] = broadcasts();
    expect(more).toEqual([]);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.executionArn).toMatch(
      /:execution:BroadcastMachine[^:]*:weekly-offer_20260105T150000Z$/,
    );
    expect(execution?.input).toEqual({
      flowId: WEEKLY_OFFER,
      occurrence: OCCURRENCE,
      when: [{ field: 'profile.orderCount', gte: 1 }],
    });
    // The crashed call was retried from the segment's cursor; the ASL went round the page loop.
    expect(execution?.retries).toEqual({ ScanPage: 1 });
    const path = execution?.path ?? [];
    expect(path.slice(0, 3)).toEqual(['Segments', 'ScanSegments', 'ScanPage']);
    expect(path.filter((s) => s === 'SegmentScanned')).toHaveLength(16);
    expect(path.filter((s) => s === 'ScanPage').length).toBeGreaterThan(16);
    expect(path.at(-1)).toBe('Sent');
    const { segments } = z
      .object({ segments: z.array(z.object({ segment: z.number(), matched: z.number() })) })
      .parse(execution?.output);
    expect(segments.map((s) => s.segment)).toEqual([...Array(16).keys()]);
    expect(segments.reduce((sum, s) => sum + s.matched, 0)).toBe(admitted.length);

    const sent = await offers();
    expect(sent.map((email) => email.destination.to[0]).sort()).toEqual(
      admitted.map((i) => `c-${i}@example.com`).sort(),
    );
  });

  it('refuses a second start of the same occurrence and sends nothing more', async () => {
    // A sweep that runs again over the same minute (a retry of its invocation, an overlap).
    await runtime.store().setCursor(`schedule#${WEEKLY_OFFER}`, { at: '2026-01-05T14:00:00.000Z' });
    const [result] = (await runtime.sweep()) as { scheduled: number }[];
    await runtime.drain();

    expect(result?.scheduled).toBe(0);
    const log = readFileSync(fromRoot('.rapport/test-broadcast/lambda.log.ndjson'), 'utf8');
    expect(log).not.toContain('"step":"schedule#');
    expect(broadcasts()).toHaveLength(1);
    expect(await offers()).toHaveLength(admitted.length);
  });

  it('starts no journey twice when the same occurrence is scanned again (a redrive)', async () => {
    const machine = runtime.stack.machines.find((m) => m.logicalId.startsWith('BroadcastMachine'));
    runtime.startExecution(machine?.arn ?? '', broadcasts()[0]?.input);
    await runtime.drain();

    expect(broadcasts().map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await offers()).toHaveLength(admitted.length);
  });

  it('broadcasts the next week’s occurrence as its own execution', async () => {
    await runtime.advanceTo('2026-01-12T16:00:00Z');
    await runtime.drain();

    expect(broadcasts().map((e) => e.executionArn.split(':').at(-1))).toEqual([
      'weekly-offer_20260105T150000Z',
      expect.any(String),
      'weekly-offer_20260112T150000Z',
    ]);
    expect(await offers()).toHaveLength(2 * admitted.length);
  });
});
