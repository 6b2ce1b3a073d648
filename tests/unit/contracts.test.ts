import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  awardPointsInputSchema,
  journeyInputSchema,
  recordEventInputSchema,
  scanPageInputSchema,
  sendEmailInputSchema,
  sweepShardInputSchema,
} from '../../domain/contracts/tasks.ts';
import { broadcastDefinition } from '../../domain/workflow/broadcast-machine.ts';
import { compileProject, PLACEHOLDERS } from '../../domain/workflow/compile.ts';
import { sweepShardsDefinition } from '../../domain/workflow/sweep-shards-machine.ts';
import { constant, fromPath, parametersFor } from '../../domain/workflow/task-parameters.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';

type State = { Type: string; Resource?: string; Parameters?: Record<string, unknown> };

const statesOf = (definition: unknown): State[] =>
  Object.values(z.object({ States: z.record(z.string(), z.unknown()) }).parse(definition).States).map((s) =>
    z
      .object({
        Type: z.string(),
        Resource: z.string().optional(),
        Parameters: z.record(z.string(), z.unknown()).optional(),
      })
      .parse(s),
  );

/** What a handler receives for a task's Parameters: paths filled from a state that has them all. */
const resolve = (parameters: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(parameters).map(([key, value]) =>
      key.endsWith('.$')
        ? [key.slice(0, -2), `value of ${String(value)}`]
        : [
            key,
            typeof value === 'object' && value !== null && !Array.isArray(value)
              ? resolve(value as Record<string, unknown>)
              : value,
          ],
    ),
  );

const contractOf: Record<string, z.ZodType> = {
  [`\${${PLACEHOLDERS.recordEvent}}`]: recordEventInputSchema,
  [`\${${PLACEHOLDERS.awardPoints}}`]: awardPointsInputSchema,
  [`\${${PLACEHOLDERS.sendEmail}}`]: sendEmailInputSchema,
  [`\${${PLACEHOLDERS.journey}}`]: journeyInputSchema,
};

describe('the task contracts', () => {
  const project = compileProject(readWorkflowSources());
  const machines = [project.ingest.definition, ...project.flows.map((f) => f.definition)];
  const tasks = machines.flatMap(statesOf).filter((s) => s.Resource && s.Resource in contractOf);

  it('emits Parameters for every Lambda task of the shipped flows that its handler accepts', () => {
    expect(tasks.length).toBeGreaterThan(20);
    for (const state of tasks) {
      const schema = contractOf[state.Resource ?? ''];
      // A path is a string here; a field typed otherwise is checked by the emulator tests.
      const input = resolve(state.Parameters ?? {});
      const parsed = schema?.safeParse(input);
      const wrongTypeOnlyAtPaths = parsed?.error?.issues.every((issue) => {
        const value = issue.path.reduce<unknown>(
          (at, key) => (at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined),
          input,
        );
        return typeof value === 'string' && value.startsWith('value of $');
      });
      expect(parsed?.success || wrongTypeOnlyAtPaths, JSON.stringify(parsed?.error?.issues)).toBe(true);
    }
  });

  it('refuses to build a task whose schema has a field the compiler gives no source', () => {
    const extended = awardPointsInputSchema.extend({ campaign: z.string() });
    const sources = {
      customerId: fromPath('$.journey.customerId'),
      journeyId: fromPath('$.journey.journeyId'),
      flowId: constant('f'),
      revision: constant('r'),
      stepId: constant('s'),
      eventId: fromPath('$.journey.journeyId'),
      points: constant(10),
      rule: constant({ id: 'r', version: 1 }),
      program: constant(project.program),
    };
    expect(() => parametersFor('award_points', awardPointsInputSchema, sources)).not.toThrow();
    // @ts-expect-error TypeScript already refuses it: `campaign` is missing.
    expect(() => parametersFor('award_points', extended, sources)).toThrow(
      'award_points.campaign: required by the task',
    );
  });

  it('refuses a constant the handler would refuse, naming the field', () => {
    expect(() =>
      parametersFor('award_points', awardPointsInputSchema.pick({ points: true, stepId: true }), {
        points: constant(0),
        stepId: constant('gift'),
      }),
    ).toThrow(/award_points\.points: .*award_points\.points: Too small/);
  });

  it('refuses a source for a field the schema does not have', () => {
    expect(() =>
      parametersFor('send_email', sendEmailInputSchema.pick({ stepId: true }), {
        stepId: constant('s'),
        // @ts-expect-error not in the contract
        stepID: constant('typo'),
      }),
    ).toThrow('send_email.stepID: the task');
  });

  it('hands the Broadcast’s ScanPage and the SweepShards worker every field their handlers parse', () => {
    const scanSegments = broadcastDefinition().States.ScanSegments;
    const scanPage = scanSegments.ItemProcessor.States.ScanPage.Parameters;
    expect(Object.keys(resolve(scanPage))).toEqual(Object.keys(scanPageInputSchema.shape));
    // The ScanPage state's input is the Map iteration's, which the ItemSelector builds.
    const iteration = resolve(scanSegments.ItemSelector);
    expect(scanPageInputSchema.omit({ broadcast: true, segment: true }).safeParse(iteration).error).toBe(
      undefined,
    );
    const worker = resolve(sweepShardsDefinition().States.Shards.ItemSelector);
    expect(Object.keys(worker)).toEqual(Object.keys(sweepShardInputSchema.shape));
  });
});
