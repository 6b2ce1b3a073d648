import { stableHash } from '../journeys.ts';
import type { Program } from '../program.ts';
import type { EmailTemplate } from '../templates.ts';
import { allSteps, type Flow } from './flow-schema.ts';

const hex = (n: number) => n.toString(16).padStart(8, '0');
/** 64 bits from two FNV-1a runs: enough to tell a flow's revisions apart. */
export const contentHash = (text: string): string =>
  `${hex(stableHash(text))}${hex(stableHash(`${text.length}:${text}`))}`;

export const revisionOf = (
  flow: Flow,
  program: Program,
  templates: ReadonlyMap<string, EmailTemplate>,
): string => {
  const used = allSteps(flow.steps).flatMap((s) =>
    s.type === 'send_email' ? [templates.get(s.template) ?? null] : [],
  );
  return contentHash(
    JSON.stringify({ flow, used, earn: program.earn, sender: program.sender, topics: program.topics }),
  );
};
