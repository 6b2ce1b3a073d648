import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCdnow } from '../../local/cdnow.ts';

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
      expect(types.filter((t) => t === 'AWS::StepFunctions::StateMachine')).toHaveLength(8);
      expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(6);
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
