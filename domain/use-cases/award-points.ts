import type { Clock, CustomerStore } from '../ports.ts';
import type { Program } from '../program.ts';
import { awardFixed } from './points.ts';

export interface AwardFixedPointsInput {
  customerId: string;
  journeyId: string;
  flowId: string;
  stepId: string;
  points: number;
  rule: { id: string; version: number };
}

export interface AwardResult {
  points: number;
  entryId: string;
  duplicate: boolean;
}

/** A flow's award (a birthday gift, a review reward): once per journey and step. */
export const awardFixedPoints = (
  input: AwardFixedPointsInput,
  deps: { store: CustomerStore; clock: Clock; program: Program },
): Promise<AwardResult> =>
  awardFixed(
    {
      customerId: input.customerId,
      entryId: `bonus:${input.flowId}:${input.journeyId}:${input.stepId}`,
      points: input.points,
      rules: [{ ...input.rule, points: input.points }],
      eventId: input.journeyId,
      flowId: input.flowId,
    },
    deps,
  );
