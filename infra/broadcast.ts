import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  BROADCAST_FUNCTION_PLACEHOLDER,
  BROADCAST_SHAPE,
  broadcastDefinition,
} from '#domain/workflow/broadcast-machine.ts';
import { RapportFunction } from './rapport-function.ts';

export interface BroadcastProps {
  table: ITable;
  systemBus: IEventBus;
  /** Starts the machine for each due occurrence of a scheduled flow. */
  sweeper: RapportFunction;
  environment: Record<string, string>;
}

/**
 * The Broadcast machine and its ScanPage function: a Standard machine, so StartExecution refuses a
 * name it has seen (one execution per flow and occurrence) and a broadcast may run for hours.
 */
export const addBroadcast = (scope: Construct, props: BroadcastProps): StateMachine => {
  const { table, systemBus, sweeper, environment } = props;
  const scanPage = new RapportFunction(scope, 'Broadcast', {
    entry: 'functions/broadcast.ts',
    environment,
    // Eight Scan pages and their PutEvents take seconds; the margin is for a throttled table.
    timeout: Duration.minutes(2),
  });
  table.grantReadData(scanPage);
  systemBus.grantPutEventsTo(scanPage);
  const tableId = Stack.of(scope).getLogicalId(table.node.defaultChild as never);
  Validations.of(scanPage).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
    reason: 'grantReadData covers the table and its own indexes, nothing else.',
  });
  Validations.of(scanPage).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'AWSLambdaBasicExecutionRole only lets the function write its own logs.',
  });

  const logs = new LogGroup(scope, 'BroadcastMachineLogs', {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const machine = new StateMachine(scope, 'BroadcastMachine', {
    stateMachineType: StateMachineType.STANDARD,
    definitionBody: DefinitionBody.fromString(JSON.stringify(broadcastDefinition(BROADCAST_SHAPE))),
    definitionSubstitutions: { [BROADCAST_FUNCTION_PLACEHOLDER]: scanPage.functionArn },
    logs: { destination: logs, level: LogLevel.ERROR, includeExecutionData: false },
    tracingEnabled: false,
  });
  scanPage.grantInvoke(machine);
  machine.grantStartExecution(sweeper);
  sweeper.addEnvironment('BROADCAST_MACHINE_ARN', machine.stateMachineArn);
  Validations.of(machine).acknowledge({
    id: 'AwsSolutions-SF1',
    reason: 'Errors only: logging ALL events of every ScanPage call duplicates the execution history.',
  });
  Validations.of(machine).acknowledge({
    id: 'AwsSolutions-SF2',
    reason: 'X-Ray tracing of every ScanPage call adds cost and nothing the execution history lacks.',
  });
  Validations.of(machine).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(scope).getLogicalId(scanPage.node.defaultChild as never)}.Arn>:*]`,
    reason: 'grantInvoke allows the function and its versions and aliases, nothing else.',
  });
  Validations.of(machine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'CloudWatch Logs delivery for state machines requires Resource "*" (AWS documented).',
  });
  return machine;
};
