import type { AwardPointsInput } from '../contracts/tasks.ts';
import type { Clock, CustomerStore } from '../ports.ts';
import type { Program } from '../program.ts';
import { awardFixed } from './points.ts';

/** The task's input; the program comes with the dependencies. */
export type AwardFixedPointsInput = Omit<AwardPointsInput, 'program' | 'eventId' | 'revision'>;

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
