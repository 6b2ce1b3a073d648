import type { SweepConfig } from '../contracts/sweep-input.ts';

export type { SweepConfig } from '../contracts/sweep-input.ts';

import type { Program } from '../program.ts';
import type { Flow } from './flow-schema.ts';

/** What the sweeper must look for, for the flows that are deployed. */
export const sweepConfig = (flows: readonly Flow[], program: Program): SweepConfig => {
  const inactivity = new Set<number>();
  const dates = new Map<string, { field: string; at: string }>();
  const schedules: SweepConfig['schedules'] = [];
  for (const flow of flows) {
    const t = flow.trigger;
    if ('inactivity' in t) inactivity.add(t.inactivity.days);
    if ('date' in t) dates.set(`${t.date.field}@${t.date.at}`, { field: t.date.field, at: t.date.at });
    if ('schedule' in t) {
      schedules.push({
        flowId: flow.id,
        every: t.schedule.every,
        at: t.schedule.at,
        ...(t.schedule.weekday ? { weekday: t.schedule.weekday } : {}),
        ...(t.schedule.day_of_month ? { dayOfMonth: t.schedule.day_of_month } : {}),
        ...(flow.entry.when ? { when: flow.entry.when } : {}),
      });
    }
  }
  return {
    timeZone: program.timeZone,
    inactivityDays: [...inactivity].sort((a, b) => a - b),
    dates: [...dates.values()],
    schedules,
    ...(pointsComeDue(program) ? { program } : {}),
  };
};

export const pointsComeDue = (program: Program): boolean =>
  program.points.pendingDays > 0 ||
  program.points.expiry.afterDays !== undefined ||
  program.points.expiry.inactiveDays !== undefined ||
  program.tiers !== undefined ||
  program.rewards.length > 0;
