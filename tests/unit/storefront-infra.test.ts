import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { LARGE_CATALOG_SIZE, workflowsWithLargeCatalog } from '../support/large-catalog.ts';

// The program used to ride in the Redeem function's environment, which refused one over 3,000
// characters. It is bundled now: a catalog of 60 rewards synthesizes.

describe('a program with a large rewards catalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-catalog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('synthesizes, with the program in no function environment', () => {
    const { app, stack, project } = buildApp({
      outdir: join(dir, 'cdk.out'),
      workflowsDir: workflowsWithLargeCatalog(dir),
      bundle: false,
    });
    app.synth();

    expect(project.program.rewards).toHaveLength(LARGE_CATALOG_SIZE);
    expect(JSON.stringify(project.program).length).toBeGreaterThan(3000);
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(functions.filter((fn) => fn.Metadata['rapport:program'] === true)).toHaveLength(3);
    for (const fn of functions) expect(fn.Properties.Environment.Variables.RAPPORT_PROGRAM).toBeUndefined();
  }, 60_000);
});
