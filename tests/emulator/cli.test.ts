import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { signatureHeader } from '../../functions/commons/request-signature.ts';
import { parseCdnow } from '../../local/cdnow.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators.ts';
import { readStackFile, STACK_FILE } from '../../local/stack-file.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
// No AWS account: strip every credential and profile the machine might have.
const offline = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));

describe('the commands a developer runs', () => {
  it('synthesizes with `npx cdk synth` offline, with no AWS credentials', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rapport-synth-'));
    try {
      await run('npx', ['cdk', 'synth', '--quiet', '--output', out], {
        cwd: root,
        env: { ...offline, AWS_EC2_METADATA_DISABLED: 'true' },
      });
      const template = JSON.parse(readFileSync(join(out, 'Rapport.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string }>;
      };
      const types = Object.values(template.Resources).map((r) => r.Type);
      // Ingest, the seven shipped flows and SweepShards (no flow has a schedule: no Broadcast).
      expect(types.filter((t) => t === 'AWS::StepFunctions::StateMachine')).toHaveLength(9);
      // Record, AwardPoints, SendEmail, Journey, Sweep, SweepShard, Storefront, Unsubscribe, SesEvents, Api.
      expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(10);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses to synthesize a broken workflow, naming the file and line', async () => {
    const error = await run('npx', ['tsx', 'infra/app.ts'], {
      cwd: root,
      env: { ...offline, RAPPORT_WORKFLOWS_DIR: 'tests/fixtures/broken-workflows' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain(
      'tests/fixtures/broken-workflows/flows/thank-you.yaml:14:12: steps[0].award: use lower-case letters, digits and dashes',
    );
  });

  it('replays purchases with `rapport run` and writes the summary as JSON', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rapport-run-'));
    try {
      const { stdout } = await run(
        'node',
        ['bin/rapport.mjs', 'run', '--limit', '100', '--json', join(out, 'summary.json'), '--exit'],
        {
          cwd: root,
          env: offline,
        },
      );
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
      const first100 = parseCdnow(readFileSync(join(root, 'data/cdnow_sample.txt'), 'utf8')).slice(0, 100);
      expect(summary).toMatchObject({
        orders: 100,
        customers: new Set(first100.map((p) => p.customerId)).size,
        sendsByFlow: expect.objectContaining({ 'thank-you': 100 }),
        rejected: 0,
        failedExecutions: 0,
        pointsAccountedFor: true,
        reconcile: expect.objectContaining({ mismatches: [] }),
      });
      // Every order earns at least its base point per whole dollar (tiers may add more), all of it on the ledger.
      const base = first100.reduce((sum, p) => sum + Math.floor(p.dollars + 1e-9), 0);
      const { reconcile } = summary as { reconcile: { points: { orderPoints: number } } };
      expect(summary.pointsEarned).toBe(reconcile.points.orderPoints);
      expect(reconcile.points.orderPoints).toBeGreaterThanOrEqual(base);
      expect(stdout).toContain('mismatches         0: every balance is the sum of its ledger entries');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/** What a CLI run printed and how it ended, without throwing on a non-zero exit. */
const rapport = (args: string[], env: NodeJS.ProcessEnv = offline) =>
  run('node', ['bin/rapport.mjs', ...args], { cwd: root, env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('help and errors of the commands that start the stack', () => {
  // A `java` on PATH that only notes it was called: DynamoDB Local cannot start without asking it.
  const probe = mkdtempSync(join(tmpdir(), 'rapport-java-'));
  const calls = join(probe, 'calls');
  writeFileSync(join(probe, 'java'), `#!/bin/sh\necho "$@" >> ${calls}\nexit 1\n`);
  chmodSync(join(probe, 'java'), 0o755);
  const probed = { ...offline, PATH: `${probe}:${process.env.PATH ?? ''}` };

  it.each(['serve', 'run', 'bench'])(
    'answers `%s --help` quickly and starts no DynamoDB Local',
    async (command) => {
      rmSync(calls, { force: true });
      const started = Date.now();
      const result = await rapport([command, '--help'], probed);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.split('\n')[0]).toMatch(new RegExp(`^rapport ${command}`));
      expect(existsSync(calls)).toBe(false);
    },
  );

  it('would have seen DynamoDB Local start: without --help, serve asks for java, and fails in one line', async () => {
    rmSync(calls, { force: true });
    const result = await rapport(['serve', '--port', '0'], probed);
    expect(existsSync(calls)).toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^rapport serve: DynamoDB Local needs a Java runtime .* \(RAPPORT_DEBUG=1 shows the stack\)$/,
      ),
    ]);
    rmSync(probe, { recursive: true, force: true });
  });

  it('refuses a missing dataset with exit 2 and one line, no stack trace', async () => {
    const result = await rapport(['run', '--dataset', 'data/no-such-history.txt']);
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'rapport run: --dataset data/no-such-history.txt: no such file (see rapport run --help)\n',
    });
  });
});

describe('rapport serve and rapport customer', () => {
  it('announces the running stack in .rapport/stack.json, where rapport customer finds it, and removes it on Ctrl-C', async () => {
    const serve = spawn('node', ['bin/rapport.mjs', 'serve', '--port', '0'], {
      cwd: root,
      env: offline,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
    try {
      let stack = readStackFile();
      for (let waited = 0; stack?.pid !== serve.pid && waited < 120_000; waited += 250) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        stack = readStackFile();
      }
      if (stack === undefined || stack.pid !== serve.pid) throw new Error('serve wrote no stack file');
      const events = new EventBridgeClient({
        endpoint: stack.eventsEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      await events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'my.shop',
              DetailType: 'customer.registered',
              EventBusName: 'rapport-local',
              Detail: JSON.stringify({
                version: 1,
                customerId: 'served-1',
                email: 'grace@example.com',
                name: 'Grace Hopper',
                registeredAt: '2026-01-05T10:00:00Z',
                marketingConsent: true,
              }),
            },
          ],
        }),
      );
      events.destroy();
      // The bus answers before the ingest execution has written the profile.
      let found = await rapport(['customer', 'served-1']);
      for (let tries = 0; found.code !== 0 && tries < 20; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        found = await rapport(['customer', 'served-1']);
      }
      expect(found.code).toBe(0);
      expect(found.stdout).toContain(
        'Customer served-1: Grace Hopper <grace@example.com>  (table rapport-local)',
      );
      expect(found.stdout).toMatch(/^ {4}welcome +hello +welcome +sent /m);

      // The signed API beside it, with the stack's key where the stack file says.
      if (!stack.apiUrl || !stack.apiKeyFile) throw new Error('serve announced no signed API');
      const body = JSON.stringify({
        id: 'reg-served-2',
        type: 'customer.registered',
        detail: {
          version: 1,
          customerId: 'served-2',
          email: 'ada@example.com',
          name: 'Ada Lovelace',
          registeredAt: '2026-01-05T10:00:00Z',
        },
      });
      const key = readFileSync(stack.apiKeyFile, 'utf8');
      const signed = await fetch(`${stack.apiUrl}v1/events`, {
        method: 'POST',
        headers: { 'rapport-signature': signatureHeader(key, Math.floor(Date.now() / 1000), body) },
        body,
      });
      expect(signed.status).toBe(200);
      expect((await rapport(['customer', 'served-2'])).stdout).toContain(
        'Customer served-2: Ada Lovelace <ada@example.com>',
      );

      serve.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(existsSync(STACK_FILE)).toBe(false);
      expect(await rapport(['customer', 'served-1'])).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('no local stack is running; start `rapport serve`'),
      });
    } finally {
      if (serve.exitCode === null) {
        serve.kill('SIGINT');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        if (serve.exitCode === null) serve.kill('SIGKILL');
      }
    }
  });
});
