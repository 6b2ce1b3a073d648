import { type SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import type { ApiEnvelope, EventIngest, IngestRun } from '#domain/use-cases/api-events.ts';

// The signed API applies an event as the bus does: an execution of the Ingest Express machine, here
// started synchronously so its ending can be answered to the caller.

const outputSchema = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'the execution output is not JSON' });
    return z.NEVER;
  }
});

export class StepFunctionsSyncIngest implements EventIngest {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async run(envelope: ApiEnvelope): Promise<IngestRun> {
    const answer = await this.client.send(
      new StartSyncExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        input: JSON.stringify(envelope),
      }),
    );
    if (answer.status === 'SUCCEEDED')
      return { status: 'succeeded', output: outputSchema.parse(answer.output) };
    // TIMED_OUT as well: the machine's own Fail states name IngestFailed and PublishFailed.
    return { status: 'failed', error: answer.error ?? answer.status ?? 'FAILED', cause: answer.cause };
  }
}
