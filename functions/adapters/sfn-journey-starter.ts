import {
  DescribeStateMachineCommand,
  ListStateMachineVersionsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { NotFoundError } from '#domain/errors.ts';
import type { JourneyStarter } from '#domain/ports.ts';

export interface FlowMachine {
  arn: string;
  revision: string;
}

/**
 * Starts continuations on the revision a journey entered with: the current one by the state
 * machine's ARN, an older one by the published version whose description is that revision.
 */
export class StepFunctionsJourneyStarter implements JourneyStarter {
  private readonly versions = new Map<string, string>();

  constructor(
    private readonly client: SFNClient,
    private readonly machines: Readonly<Record<string, FlowMachine>>,
  ) {}

  async start(flowId: string, revision: string, input: unknown): Promise<void> {
    const machine = this.machines[flowId];
    if (!machine) throw new NotFoundError(`flow ${flowId} is not deployed; its journeys cannot resume`);
    const stateMachineArn =
      revision === machine.revision ? machine.arn : await this.versionOf(machine.arn, revision);
    await this.client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  }

  private async versionOf(arn: string, revision: string): Promise<string> {
    const known = this.versions.get(revision);
    if (known) return known;
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListStateMachineVersionsCommand({ stateMachineArn: arn, nextToken }),
      );
      for (const { stateMachineVersionArn } of page.stateMachineVersions ?? []) {
        if (!stateMachineVersionArn) continue;
        const { description } = await this.client.send(
          new DescribeStateMachineCommand({ stateMachineArn: stateMachineVersionArn }),
        );
        if (description) this.versions.set(description, stateMachineVersionArn);
        if (description === revision) return stateMachineVersionArn;
      }
      nextToken = page.nextToken;
    } while (nextToken);
    throw new NotFoundError(`no published version of ${arn} has revision ${revision}`);
  }
}
