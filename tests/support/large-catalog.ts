import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { fromRoot, PROJECT_ROOT } from '../../infra/paths.ts';

export const LARGE_CATALOG_SIZE = 60;

/**
 * A copy of the shipped workflows whose program sells 60 rewards: far past the 3,000 characters an
 * environment variable could carry. Written under `parent` (the test's temporary directory); the
 * path returned is relative to the project root, as `buildApp`'s workflowsDir is.
 */
export const workflowsWithLargeCatalog = (parent: string): string => {
  const dir = mkdtempSync(join(parent, 'workflows-'));
  cpSync(fromRoot('workflows'), dir, { recursive: true });
  const file = join(dir, 'program.yaml');
  const program = parse(readFileSync(file, 'utf8')) as { rewards: unknown[] };
  program.rewards = Array.from({ length: LARGE_CATALOG_SIZE }, (_, i) => ({
    id: `reward-${i + 1}`,
    name: `$${i + 1} off your next order, with our thanks for being a member`,
    cost: 100 * (i + 1),
    kind: 'fixed_discount',
    amount: i + 1,
  }));
  writeFileSync(file, stringify(program));
  return relative(PROJECT_ROOT, dir);
};
