import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newProfile } from '../../domain/customer.ts';
import { compileProject } from '../../domain/workflow/compile.ts';
import { DynamoDbReputationStore } from '../../functions/adapters/dynamodb-reputation-store.ts';
import { fromRoot } from '../../infra/paths.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readInbox } from '../../local/emulators.ts';
import { LocalRapport, VirtualClock } from '../../local/runtime.ts';
import { sendingCommand } from '../../local/sending-command.ts';

// A bounce storm on the local stack: SES local takes the mail, the runtime publishes SES's events
// on the default bus as the configuration set does, the synthesized rule routes them to the real
// handler, and the pause it writes stops the next marketing send.

const START = Date.parse('2026-03-02T09:00:00Z');
const program = compileProject(readWorkflowSources()).program;
const identity = program.sender.from.replace(/^.*@|>$/g, '').toLowerCase();

describe('suppression and the reputation pause on the local stack', () => {
  let runtime: LocalRapport;
  let reputation: DynamoDbReputationStore;

  beforeAll(async () => {
    runtime = await LocalRapport.start({
      outputDir: fromRoot('.rapport/test-reputation'),
      clock: new VirtualClock(START),
      onlyFlows: [],
    });
    reputation = new DynamoDbReputationStore(
      new DynamoDBClient({
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      runtime.names.tableName,
    );
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  const customer = (n: number) => `c-${n}`;
  const addCustomers = async (from: number, to: number) => {
    for (let n = from; n <= to; n++) {
      const { email, name, createdAt, orderCount, lifetimeSpendMinor, refundedMinor } = newProfile(
        customer(n),
        `shopper${n}@example.org`,
        `Shopper ${n}`,
        '2026-01-01T00:00:00Z',
      );
      const changes = { email, name, createdAt, orderCount, lifetimeSpendMinor, refundedMinor };
      await runtime
        .store()
        .saveProfile(
          customer(n),
          { ...changes, consent: { '*': { granted: true, at: createdAt, source: 'registration' } } },
          undefined,
          '',
        );
    }
  };
  const send = (n: number, stepId: string, transactional = false) =>
    runtime.invoke('SendEmail', {
      customerId: customer(n),
      flowId: 'storm',
      stepId,
      eventId: `e-${n}`,
      template: { id: 'news', subject: 'News', html: '<p>News</p>' },
      topic: { id: transactional ? 'receipts' : 'promotions', transactional },
      sender: program.sender,
      currency: 'USD',
      context: { event: {}, steps: {} },
    });
  const messageOf = (n: number, stepId: string) =>
    [...runtime.sentMail.values()].find(
      (m) => m.email.tags.customer === customer(n) && m.email.tags.step === stepId,
    )?.messageId ?? '';
  const status = async () =>
    (
      await sendingCommand(
        'status',
        identity,
        {
          endpoint: runtime.dynamo.endpoint,
          table: runtime.names.tableName,
          asOf: runtime.clock.now().toISOString(),
        },
        program,
      )
    ).stdout.join('\n');

  it('counts SES sends, pauses marketing when hard bounces reach 4%, and keeps transactional mail going', async () => {
    await addCustomers(1, 201);
    for (let n = 1; n <= 200; n += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => send(n + i, 'promo')));
    }
    await runtime.drain();
    expect(runtime.sentMail.size).toBe(200);
    expect(await status()).toContain('sends 200  bounces 0');

    runtime.clock.advanceTo(new Date(START + 20 * 60_000));
    for (let n = 1; n <= 7; n++)
      expect(runtime.reportSesEvent(messageOf(n, 'promo'), { type: 'Bounce' })).toBe(true);
    // Soft bounces and deliveries do not count against the list.
    runtime.reportSesEvent(messageOf(9, 'promo'), { type: 'Bounce', bounceType: 'Transient' });
    runtime.reportSesEvent(messageOf(10, 'promo'), { type: 'Delivery' });
    await runtime.drain();
    expect(await reputation.getPause(identity)).toBeUndefined();

    runtime.reportSesEvent(messageOf(8, 'promo'), { type: 'Bounce' });
    // A redelivered bounce changes nothing.
    runtime.reportSesEvent(messageOf(8, 'promo'), { type: 'Bounce' });
    await runtime.drain();
    expect(await reputation.getPause(identity)).toMatchObject({
      status: 'paused',
      reason: 'bounce rate 4.00% (8 of 200) >= 4.00%',
    });
    expect(await status()).toContain('sends 200  bounces 8 (4.00%)');
    expect(runtime.deadLetters).toEqual([]);

    // The bounced addresses are suppressed: nothing more goes to them, not even a receipt.
    expect((await runtime.store().getProfile(customer(3)))?.suppression).toEqual({
      reason: 'hard-bounce',
      at: new Date(START + 20 * 60_000).toISOString(),
    });
    expect(await send(3, 'receipt', true)).toEqual({
      status: 'skipped',
      reason: `address suppressed after a hard-bounce ${new Date(START + 20 * 60_000).toISOString()}`,
    });
    expect((await runtime.store().getProfile(customer(9)))?.suppression).toBeUndefined();

    expect(await send(201, 'promo')).toEqual({ status: 'skipped', reason: 'paused' });
    expect(await send(201, 'receipt', true)).toMatchObject({ status: 'sent' });
    const inbox = await readInbox(runtime.ses.endpoint);
    expect(inbox.filter((m) => m.destination.to.includes('shopper201@example.org'))).toHaveLength(1);
  }, 240_000);

  it('lifts the pause with `rapport sending resume`, and the storm that caused it does not pause again', async () => {
    const resumed = await sendingCommand(
      'resume',
      undefined,
      {
        endpoint: runtime.dynamo.endpoint,
        table: runtime.names.tableName,
        asOf: runtime.clock.now().toISOString(),
      },
      program,
    );
    expect(resumed).toMatchObject({ code: 0, stderr: [] });
    expect(await reputation.getPause(identity)).toMatchObject({ status: 'resumed' });
    expect(await send(201, 'promo-again')).toMatchObject({ status: 'sent' });
    runtime.reportSesEvent(messageOf(11, 'promo'), { type: 'Bounce' });
    await runtime.drain();
    expect(await reputation.getPause(identity)).toMatchObject({ status: 'resumed' });
    const again = await sendingCommand(
      'resume',
      undefined,
      {
        endpoint: runtime.dynamo.endpoint,
        table: runtime.names.tableName,
      },
      program,
    );
    expect(again).toMatchObject({ code: 1, stderr: [`rapport sending resume: ${identity} is not paused`] });
  }, 120_000);

  it('suppresses a customer who complained from marketing, however often the complaint arrives', async () => {
    runtime.reportSesEvent(messageOf(20, 'promo'), { type: 'Complaint' });
    runtime.reportSesEvent(messageOf(20, 'promo'), { type: 'Complaint' });
    await runtime.drain();
    const profile = await runtime.store().getProfile(customer(20));
    expect(profile?.suppression?.reason).toBe('complaint');
    // ... and opts them out of every marketing topic, as an unsubscribe-all would.
    expect(profile?.consent?.['*']).toMatchObject({ granted: false, source: 'complaint' });
    expect(await send(20, 'promo-later')).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/^address suppressed after a complaint /),
    });
    expect(await send(20, 'receipt', true)).toMatchObject({ status: 'sent' });
    const [hour] = await reputation.buckets(identity, '2026-03-02T09', '2026-03-02T09');
    expect(hour).toMatchObject({ complaints: 1 });
  }, 120_000);
});
