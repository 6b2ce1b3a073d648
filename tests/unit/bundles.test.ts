import { readdirSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths.ts';

// Each Lambda bundled as infra/rapport-function.ts has NodejsFunction bundle it (ESM, Node 24, the
// AWS SDK left to the runtime), to read from esbuild's metafile which files each bundle carries.
// The compiler and the YAML parser run at deploy time only: in a bundle they are cold-start weight.
// A handler module exports `handler`; the others beside them (route tables) are bundled by them.
const handlers = readdirSync(fromRoot('functions')).filter(
  (name) =>
    name.endsWith('.ts') &&
    readFileSync(fromRoot('functions', name), 'utf8').includes('export const handler'),
);

const bundleInputs = async (entry: string): Promise<string[]> => {
  const result = await build({
    entryPoints: [fromRoot('functions', entry)],
    absWorkingDir: fromRoot(),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs);
};

/** Deploy-time modules: the workflow compiler and everything only it needs. */
const DEPLOY_TIME = [/(^|\/)node_modules\/yaml\//, /(^|\/)domain\/workflow\//];

describe('the Lambda bundles', () => {
  it('bundles every handler in functions/', () => {
    expect(handlers).toEqual(
      expect.arrayContaining([
        'award-points.ts',
        'journey.ts',
        'record-event.ts',
        'send-email.ts',
        'sweep.ts',
      ]),
    );
  });

  for (const entry of handlers) {
    it(`keeps the compiler and yaml out of ${entry}`, async () => {
      const inputs = await bundleInputs(entry);
      expect(inputs.length).toBeGreaterThan(10);
      expect(inputs.filter((input) => DEPLOY_TIME.some((pattern) => pattern.test(input)))).toEqual([]);
    }, 60_000);
  }
});
