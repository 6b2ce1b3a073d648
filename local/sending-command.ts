import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Program } from '#domain/program.ts';
import { sendingIdentity } from '#domain/reputation.ts';
import { sendingStatus } from '#domain/use-cases/reputation.ts';
import { DynamoDbReputationStore } from '#functions/adapters/dynamodb-reputation-store.ts';
import type { CommandResult } from './commands.ts';
import type { TableTarget } from './customer-report.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.ts';
import { readStackFile } from './stack-file.ts';

// `rapport sending status [IDENTITY]`: each sending identity's rolling rates and its pause;
// `rapport sending resume [IDENTITY]`: lifts a pause after review. IDENTITY defaults to the
// program sender's domain.

export interface SendingCommandOptions {
  endpoint?: string | undefined;
  table?: string | undefined;
  region?: string | undefined;
  /** The time the rates are figured at and a resume is recorded at (the local stack's clock is virtual). */
  asOf?: string | undefined;
}

const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

export const sendingCommand = async (
  action: 'status' | 'resume',
  identityArgument: string | undefined,
  options: SendingCommandOptions,
  program: Program,
  deps: { stackFile?: string } = {},
): Promise<CommandResult> => {
  let target: TableTarget;
  if (options.table !== undefined) {
    target = { tableName: options.table, endpoint: options.endpoint, region: options.region };
  } else {
    const stack = readStackFile(deps.stackFile);
    if (stack === undefined) {
      return {
        code: 1,
        stdout: [],
        stderr: [
          `rapport sending: no local stack is running; start \`rapport serve\` in another terminal, or pass --table NAME (and --endpoint URL for DynamoDB Local)`,
        ],
      };
    }
    target = {
      tableName: stack.tableName,
      endpoint: stack.dynamoDbEndpoint,
      region: options.region ?? stack.region,
    };
  }
  const local = target.endpoint !== undefined;
  const client = new DynamoDBClient({
    ...(local ? { endpoint: target.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 } : {}),
    ...(target.region ? { region: target.region } : local ? { region: LOCAL_REGION } : {}),
  });
  const reputation = new DynamoDbReputationStore(client, target.tableName);
  const at = options.asOf ?? new Date().toISOString();
  const clock = { now: () => new Date(at), sleep: () => Promise.resolve() };
  try {
    if (action === 'resume') {
      const identity = (identityArgument ?? sendingIdentity(program.sender.from)).toLowerCase();
      const resumed = await reputation.resume(identity, at);
      if (!resumed)
        return { code: 1, stdout: [], stderr: [`rapport sending resume: ${identity} is not paused`] };
      return {
        code: 0,
        stdout: [`${identity}: marketing resumed at ${at}; its rates count afresh from the next hour`],
        stderr: [],
      };
    }
    const identities = identityArgument
      ? [identityArgument.toLowerCase()]
      : [
          ...new Set([
            sendingIdentity(program.sender.from),
            ...(await reputation.pauses()).map((p) => p.identity),
          ]),
        ];
    const stdout: string[] = [];
    for (const identity of identities) {
      const status = await sendingStatus(identity, { reputation, clock });
      const state =
        status.pause?.status === 'paused'
          ? `PAUSED since ${status.pause.at}: ${status.pause.reason}`
          : status.pause
            ? `sending (resumed ${status.pause.resumedAt})`
            : 'sending';
      stdout.push(
        `${identity}  ${state}`,
        `  ${status.from}:00Z .. ${status.to}:59Z  sends ${status.sends}  bounces ${status.bounces} (${percent(status.bounceRate)})  complaints ${status.complaints} (${percent(status.complaintRate)})`,
      );
    }
    return { code: 0, stdout, stderr: [] };
  } finally {
    client.destroy();
  }
};
