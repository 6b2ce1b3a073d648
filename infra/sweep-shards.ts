import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  SWEEP_SHARD_FUNCTION_PLACEHOLDER,
  sweepShardsDefinition,
} from '#domain/workflow/sweep-shards-machine.ts';
import type { RapportFunction } from './rapport-function.ts';

/**
 * The SweepShards machine: the sweeper starts it with its backlogged timer shards, and it runs one
 * SweepShard worker per shard. A machine of its own, not the sweeper invoking itself: a function
 * cannot name itself in its own environment.
 */
export const addSweepShards = (scope: Construct, sweeper: RapportFunction, worker: RapportFunction) => {
  const logs = new LogGroup(scope, 'SweepShardsLogs', {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const machine = new StateMachine(scope, 'SweepShards', {
    stateMachineType: StateMachineType.EXPRESS,
    definitionBody: DefinitionBody.fromString(JSON.stringify(sweepShardsDefinition())),
    definitionSubstitutions: { [SWEEP_SHARD_FUNCTION_PLACEHOLDER]: worker.functionArn },
    logs: { destination: logs, level: LogLevel.ERROR, includeExecutionData: false },
    tracingEnabled: false,
  });
  worker.grantInvoke(machine);
  machine.grantStartExecution(sweeper);
  sweeper.addEnvironment('SWEEP_SHARDS_MACHINE_ARN', machine.stateMachineArn);
  Validations.of(machine).acknowledge({
    id: 'AwsSolutions-SF1',
    reason: 'Express executions log errors only: the workers log their own totals.',
  });
  Validations.of(machine).acknowledge({
    id: 'AwsSolutions-SF2',
    reason: 'X-Ray tracing adds cost and nothing the workers’ logs lack.',
  });
  Validations.of(machine).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(scope).getLogicalId(worker.node.defaultChild as never)}.Arn>:*]`,
    reason: 'grantInvoke allows the function and its versions and aliases, nothing else.',
  });
  Validations.of(machine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'CloudWatch Logs delivery for state machines requires Resource "*" (AWS documented).',
  });
  return machine;
};
