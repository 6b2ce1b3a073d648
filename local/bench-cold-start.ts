import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { buildApp, STACK_NAME } from '#infra/app.ts';
import { fromRoot } from '#infra/paths.ts';
import { ENTRY_METADATA } from '#infra/rapport-function.ts';
import { workflowsWithBroadcast } from './broadcast-workflows.ts';

// npm run bench, cold start: every Lambda bundle as the stack deploys it (esbuild through CDK),
// imported in a fresh Node process several times, against a hello-world handler that imports the
// same AWS SDK packages, measured in the same run. The ratio is what the handler's own code costs
// at cold start; the SDK is the runtime's, and the same for both.

export interface ColdStartFigure {
  entry: string;
  medianMs: number;
  helloWorldMs: number;
  ratio: number;
}

/** The middle value (the mean of the two middle ones for an even count). */
export const median = (values: readonly number[]): number => {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * A handler's median import time against the hello-world's. The ratio is the median of the
 * run-by-run ratios (each handler import next to its hello-world's): on a shared machine the load
 * changes over a run, and a pair measured together sees the same load.
 */
export const coldStartFigure = (
  entry: string,
  handlerMs: readonly number[],
  helloWorldMs: readonly number[],
): ColdStartFigure => {
  if (handlerMs.length !== helloWorldMs.length)
    throw new RangeError('one hello-world import per handler import');
  return {
    entry,
    medianMs: median(handlerMs),
    helloWorldMs: median(helloWorldMs),
    ratio: median(handlerMs.map((ms, i) => ms / helloWorldMs[i]!)),
  };
};

export const formatColdStart = (figure: ColdStartFigure): string =>
  `${figure.entry.padEnd(30)} import ${figure.ratio.toFixed(1)}x hello-world (${figure.medianMs.toFixed(0)} ms; hello-world ${figure.helloWorldMs.toFixed(0)} ms)`;

/** The packages a bundle leaves to the runtime (`@aws-sdk/*`), as esbuild writes the imports. */
export const sdkImports = (code: string): string[] =>
  [...new Set([...code.matchAll(/from\s*["'](@aws-sdk\/[^"']+)["']/g)].map((m) => m[1]!))].sort();

const templateSchema = z.object({
  Resources: z.record(
    z.string(),
    z.object({
      Type: z.string(),
      Metadata: z.record(z.string(), z.unknown()).optional(),
      Properties: z.object({ Code: z.object({ S3Key: z.string() }).optional() }).optional(),
    }),
  ),
});

/**
 * Synthesizes the stack with bundling on; the bundles stay inside the project so `@aws-sdk/*`
 * resolves. The workflows are the shipped ones plus a scheduled flow: the stack deploys the
 * Broadcast function only when a flow has a `schedule` trigger, and it is measured too.
 */
const deployedBundles = (outdir: string): { entry: string; file: string }[] => {
  buildApp({ outdir, workflowsDir: workflowsWithBroadcast('bench-cold-start-workflows') }).app.synth();
  const template = templateSchema.parse(
    JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.template.json`), 'utf8')),
  );
  return Object.values(template.Resources).flatMap((resource) => {
    const key = resource.Properties?.Code?.S3Key;
    const entry = resource.Metadata?.[ENTRY_METADATA];
    if (resource.Type !== 'AWS::Lambda::Function' || !key || typeof entry !== 'string') return [];
    const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const main = readdirSync(dir).find((f) => f.endsWith('.mjs'));
    return main ? [{ entry, file: join(dir, main) }] : [];
  });
};

// The import alone, timed inside the child: process start-up is the same for both and left out.
const IMPORT_AND_TIME =
  'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';

/** One import of a module in a fresh Node process, as the Lambda runtime's first import of the handler. */
const importOnce = (file: string): number => {
  const out = execFileSync(
    process.execPath,
    // As deployed: NODE_OPTIONS=--enable-source-maps is in every function's environment.
    ['--enable-source-maps', '--input-type=module', '-e', IMPORT_AND_TIME, pathToFileURL(file).href],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
  );
  return Number(out);
};

export const measureColdStarts = (runs = 9): ColdStartFigure[] => {
  const outdir = fromRoot('.rapport/bench-cold-start');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  try {
    const bundles = deployedBundles(outdir);
    const helloWorlds = new Map<string, string>();
    const helloWorldOf = (imports: string[]): string => {
      const key = imports.join(' ');
      let file = helloWorlds.get(key);
      if (!file) {
        file = join(outdir, `hello-world-${helloWorlds.size}.mjs`);
        writeFileSync(
          file,
          `${imports.map((name, i) => `import * as sdk${i} from '${name}';`).join('\n')}\nexport const handler = async () => ({ ok: true, clients: ${imports.length ? imports.map((_, i) => `Object.keys(sdk${i}).length`).join(' + ') : 0} });\n`,
        );
        helloWorlds.set(key, file);
      }
      return file;
    };
    const pairs = bundles.map((b) => ({
      ...b,
      hello: helloWorldOf(sdkImports(readFileSync(b.file, 'utf8'))),
    }));
    const handlerMs = pairs.map((): number[] => []);
    const helloWorldMs = pairs.map((): number[] => []);
    // Interleaved, each handler right after its hello-world: load from the rest of the machine
    // (which changes over a run) falls on both alike, so the ratio holds where the times do not.
    for (let run = 0; run < runs; run++) {
      pairs.forEach((pair, i) => {
        helloWorldMs[i]!.push(importOnce(pair.hello));
        handlerMs[i]!.push(importOnce(pair.file));
      });
    }
    return pairs.map((pair, i) => coldStartFigure(pair.entry, handlerMs[i]!, helloWorldMs[i]!));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};
