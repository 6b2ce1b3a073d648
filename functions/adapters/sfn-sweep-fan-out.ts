import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SweepConfig } from '#domain/contracts/sweep-input.ts';
import type { SweepFanOut } from '#domain/use-cases/sweep.ts';

/** StartExecution on the SweepShards (Express) machine: one worker per backlogged shard. */
export class StepFunctionsSweepFanOut implements SweepFanOut {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(work: { config: SweepConfig; shards: number[][] }): Promise<void> {
    await this.client.send(
      new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, input: JSON.stringify(work) }),
    );
  }
}
