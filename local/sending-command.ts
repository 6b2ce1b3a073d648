import type { Program } from '#domain/program.ts';
import { sendingIdentity } from '#domain/reputation.ts';
import { sendingStatus } from '#domain/use-cases/reputation.ts';
import { DynamoDbReputationStore } from '#functions/adapters/dynamodb-reputation-store.ts';
import type { CommandResult } from './commands.ts';
import { resolveTableTarget, tableClient } from './table-target.ts';

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
  const target = resolveTableTarget('sending', options, deps.stackFile);
  if ('error' in target) return { code: 1, stdout: [], stderr: [target.error] };
  const client = tableClient(target);
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
