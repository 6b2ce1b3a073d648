import { readdirSync, readFileSync } from 'node:fs';
import type { WorkflowSources } from '#domain/workflow/compile.ts';
import { fromRoot } from './paths.ts';

const list = (dir: string, pattern: RegExp): string[] =>
  readdirSync(fromRoot(dir))
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => `${dir}/${name}`);

const read = (file: string) => ({ file, text: readFileSync(fromRoot(file), 'utf8') });

/** Reads the marketer-owned files; paths in errors are relative to the project root. */
export const readWorkflowSources = (dir = 'workflows'): WorkflowSources => ({
  program: read(`${dir}/program.yaml`),
  flows: list(`${dir}/flows`, /\.ya?ml$/).map(read),
  emails: list(`${dir}/emails`, /\.liquid$/).map(read),
});
