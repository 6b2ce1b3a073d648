import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Broadcast, BroadcastStarter } from '#domain/broadcast.ts';

/**
 * StartExecution on the Broadcast (Standard) machine under the occurrence's name. Step Functions
 * keeps a name for 90 days: the same name again is ExecutionAlreadyExists (or, while it runs with
 * the same input, the running execution), so no occurrence is broadcast twice.
 */
export class StepFunctionsBroadcastStarter implements BroadcastStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, broadcast: Broadcast): Promise<'started' | 'already started'> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(broadcast),
        }),
      );
      return 'started';
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return 'already started';
      throw error;
    }
  }
}
