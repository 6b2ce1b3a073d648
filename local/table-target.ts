import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.ts';
import { readStackFile } from './stack-file.ts';

// The table a read-only command works on: the one named by --table (and --endpoint), else the
// running local stack's (.rapport/stack.json). `rapport customer` and `rapport sending` share it.

export interface TableTarget {
  tableName: string;
  /** DynamoDB Local or another endpoint; absent: AWS with the default credentials. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

/** The target, or the one line to print when there is neither a --table nor a running stack. */
export const resolveTableTarget = (
  command: string,
  options: { table?: string | undefined; endpoint?: string | undefined; region?: string | undefined },
  stackFile?: string,
): TableTarget | { error: string } => {
  if (options.table !== undefined)
    return { tableName: options.table, endpoint: options.endpoint, region: options.region };
  const stack = readStackFile(stackFile);
  if (stack === undefined)
    return {
      error: `rapport ${command}: no local stack is running; start \`rapport serve\` in another terminal, or pass --table NAME (and --endpoint URL for DynamoDB Local)`,
    };
  return {
    tableName: stack.tableName,
    endpoint: stack.dynamoDbEndpoint,
    region: options.region ?? stack.region,
  };
};

/** A client for the target: AWS's defaults, or a local endpoint as the local stack writes it. */
export const tableClient = (target: TableTarget): DynamoDBClient => {
  const local = target.endpoint !== undefined;
  return new DynamoDBClient({
    ...(local ? { endpoint: target.endpoint } : {}),
    ...(target.region ? { region: target.region } : local ? { region: LOCAL_REGION } : {}),
    // DynamoDB Local keeps data per access key: the local stack writes as local/local.
    ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
    // A local endpoint that refuses is down, not busy: say so at once.
    ...(local ? { maxAttempts: 1 } : {}),
  });
};
