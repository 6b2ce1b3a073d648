import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommerceEvent } from '../../domain/events.ts';
import { recordEvent } from '../../domain/use-cases/record-event.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { parseCommandLine } from '../../local/cli-options.ts';
import { previewCommand } from '../../local/preview.ts';
import { eventFixture } from '../support/fixtures.ts';
import { fixedClock, InMemoryCustomerStore } from '../support/in-memory-customer-store.ts';
import { eventContext } from '../support/parse.ts';

const project = compileProject(readWorkflowSources());
const now = new Date('2026-11-24T12:00:00Z');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rapport-preview-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rapport preview', () => {
  it('writes the HTML of a sample welcome-offer and prints its path, subject and text with the footer', async () => {
    const result = await previewCommand('welcome-offer', { sample: true }, project, {
      cwd: dir,
      previewDir: join(dir, 'preview'),
      now,
    });
    expect(result.code).toBe(0);
    const html = readFileSync(join(dir, 'preview/welcome-offer.html'), 'utf8');
    expect(html).toContain('<strong>WELCOME-7K2QX-M4HZD</strong>, valid until December 8, 2026');
    expect(html).toContain('Rapport Shop, 100 Example Street<br>Springfield, OR 97477, USA');
    expect(result.stdout.slice(0, 5)).toEqual([
      'HTML: preview/welcome-offer.html',
      'Sent by: welcome.first-order-offer (topic promotions)',
      'Data: a sample customer, a sample customer.registered event',
      'Subject: Ada, 10% off your first order',
      '',
    ]);
    expect(result.stdout.slice(5).join('\n')).toBe(
      [
        'Hi Ada,',
        '',
        'Here is 10% off your first order with code WELCOME-7K2QX-M4HZD, valid until December 8, 2026.',
        '',
        'The Rapport Shop team',
        '',
        '-- ',
        'Rapport Shop, 100 Example Street',
        'Springfield, OR 97477, USA',
      ].join('\n'),
    );
  });

  it('renders a receipt from an event file and a customer the store holds, without the marketing footer', async () => {
    const store = new InMemoryCustomerStore();
    const clock = fixedClock();
    const order = eventFixture('order-placed');
    await recordEvent(parseCommerceEvent(order, eventContext(clock.now(), project.program)), {
      store,
      clock,
      program: project.program,
    });
    const eventFile = join(dir, 'order.json');
    writeFileSync(eventFile, JSON.stringify({ ...order, detail: { ...order.detail, meta: { points: 42 } } }));
    const out = join(dir, 'receipt.html');
    const result = await previewCommand('thank-you', { customer: 'c-42', event: eventFile, out }, project, {
      cwd: dir,
      previewDir: join(dir, 'preview'),
      profiles: store,
      now,
    });
    expect(result.stdout.slice(0, 4)).toEqual([
      'HTML: receipt.html',
      'Sent by: thank-you.thank (topic orders)',
      'Data: customer c-42 from the local stack, the event in order.json',
      'Subject: Thank you for your order, Ada!',
    ]);
    const text = result.stdout.join('\n');
    expect(text).toContain('Thank you for your order o-1001.');
    expect(text).toContain('It earned you 42 points.');
    expect(text).not.toContain('Example Street');
    expect(readFileSync(out, 'utf8')).toContain('Thank you for your order o-1001.');
  });

  it('says in one line what is missing: the template, the customer, the stack', async () => {
    const deps = { cwd: dir, previewDir: join(dir, 'preview'), stackFile: join(dir, 'no-stack.json') };
    expect((await previewCommand('nope', {}, project, deps)).stderr).toEqual([
      expect.stringMatching(/^rapport preview: no template "nope" \(templates: birthday, /),
    ]);
    expect((await previewCommand('welcome', { customer: 'c-1' }, project, deps)).stderr).toEqual([
      'rapport preview: no local stack is running for --customer; start `rapport serve` in another terminal, or use --sample',
    ]);
    const empty = { ...deps, profiles: new InMemoryCustomerStore() };
    expect(await previewCommand('welcome', { customer: 'c-1' }, project, empty)).toEqual({
      code: 1,
      stdout: [],
      stderr: ['rapport preview: no customer "c-1" in the local stack'],
    });
  });

  it('refuses --customer with --sample and an event file that does not exist, naming the option', () => {
    expect(parseCommandLine(['preview', 'welcome', '--customer', 'c-1', '--sample'], dir)).toMatchObject({
      kind: 'usage-error',
      code: 2,
      message: expect.stringContaining('--customer and --sample contradict each other'),
    });
    expect(parseCommandLine(['preview', 'welcome', '--event', 'missing.json'], dir)).toMatchObject({
      kind: 'usage-error',
      message: expect.stringContaining('missing.json: no such file'),
    });
  });
});
