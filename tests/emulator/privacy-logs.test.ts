import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths.ts';
import { parseCdnow, toOrderPlaced } from '../../local/cdnow.ts';
import { LocalRapport } from '../../local/runtime.ts';

// Logs are read by operators, shipped to log stores and kept for a month: no line may carry an
// email address or an event. A small replay (the first CDNOW purchases, every flow live), a shop
// that keys its customers by their address, broken events quoting addresses, and privacy
// requests; then every log file the local stack wrote is scanned line by line.

const outputDir = fromRoot('.rapport/test-privacy-logs');
const ADDRESS = /[\w.+-]+@[\w-]+\.[\w.-]+/;
/** Files that are not logs: dead letters and exports hold events and data by design. */
const NOT_LOGS = new Set(['rejected.ndjson', 'exports']);

const logFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    if (NOT_LOGS.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? logFiles(path) : [path];
  });

describe('the local stack’s logs after a replay', () => {
  let runtime: LocalRapport;
  let lines: { file: string; line: string }[] = [];

  beforeAll(async () => {
    runtime = await LocalRapport.start({ outputDir });
    const put = (type: string, detail: Record<string, unknown>) =>
      runtime.putEvents([
        {
          Source: 'my.shop',
          DetailType: type,
          Detail: JSON.stringify(detail),
          EventBusName: runtime.names.eventBusName,
        },
      ]);
    // Prepare: sixty purchases in time order, a day at a time as the replay does.
    const purchases = parseCdnow(readFileSync(fromRoot('data/cdnow_sample.txt'), 'utf8')).slice(0, 60);
    for (const purchase of purchases) {
      await runtime.advanceTo(`${purchase.date}T12:00:00Z`);
      put('order.placed', toOrderPlaced(purchase));
      await runtime.drain();
    }
    // A shop whose customer ids are their addresses, and events that fail on a field beside one.
    const at = runtime.clock.now().toISOString();
    put('customer.registered', {
      version: 1,
      customerId: 'grace@example.com',
      email: 'grace@example.com',
      name: 'Grace Hopper',
      registeredAt: at,
      marketingConsent: true,
    });
    put('order.placed', { ...toOrderPlaced(purchases[0]!), customerId: 'grace@example.com', total: 'lots' });
    put('customer.registered', {
      version: 1,
      customerId: 'c-x',
      email: 'not an address',
      name: 'Grace Hopper',
    });
    await runtime.drain();
    put('customer.export-requested', {
      version: 1,
      customerId: 'grace@example.com',
      requestId: 'x',
      requestedAt: at,
    });
    put('customer.erasure-requested', {
      version: 1,
      customerId: 'grace@example.com',
      requestId: 'e',
      requestedAt: at,
    });
    await runtime.drain();
    await runtime.advanceTo(new Date(Date.parse(at) + 120 * 86_400_000));
    await runtime.stop();
    lines = logFiles(outputDir).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ file, line })),
    );
  }, 600_000);
  afterAll(async () => {
    await runtime?.stop().catch(() => undefined);
  });

  it('wrote log lines for every function that ran', () => {
    expect(runtime.invocations.size).toBeGreaterThan(3);
    expect(lines.length).toBeGreaterThan(100);
  });

  it('has no email address on any line of any log file', () => {
    expect(lines.filter(({ line }) => ADDRESS.test(line))).toEqual([]);
  });

  it('has no event and no event detail on any line', () => {
    const events = lines.filter(
      ({ line }) => /"(detail|detail-type|event)":\s*[{"]/.test(line) || line.includes('Grace Hopper'),
    );
    expect(events).toEqual([]);
  });
});
