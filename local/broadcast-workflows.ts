import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '#infra/paths.ts';

// The shipped workflows plus one scheduled flow, `weekly-offer`: every Monday at 10:00 in the
// program's time zone, an email to every customer with at least one order. What the broadcast
// bench and the broadcast tests deploy.

export const WEEKLY_OFFER = 'weekly-offer';

const flow = `version: 1
id: ${WEEKLY_OFFER}
name: Weekly offer to customers who ordered
status: active

trigger:
  schedule: { every: week, weekday: mon, at: "10:00" }

entry:
  when:
    - { field: profile.orderCount, gte: 1 }

steps:
  - id: offer
    type: send_email
    template: ${WEEKLY_OFFER}
    topic: promotions
`;

const email = `---
subject: "This week's offer for {{ customer.firstName }}"
---
<p>Hi {{ customer.firstName }}, here is this week's offer.</p>
`;

/**
 * A fresh copy of workflows/ with the weekly-offer flow added, under .rapport/NAME; returns that
 * folder relative to the project root, as the stack builder takes it.
 */
export const workflowsWithBroadcast = (name: string): string => {
  const relative = `.rapport/${name}`;
  const dir = fromRoot(relative);
  rmSync(dir, { recursive: true, force: true });
  cpSync(fromRoot('workflows'), dir, { recursive: true });
  mkdirSync(join(dir, 'flows'), { recursive: true });
  writeFileSync(join(dir, 'flows', `${WEEKLY_OFFER}.yaml`), flow);
  writeFileSync(join(dir, 'emails', `${WEEKLY_OFFER}.liquid`), email);
  return relative;
};
