import { sweepShardInputSchema } from '../contracts/tasks.ts';
import { TIMER_SHARDS } from '../journeys.ts';
import { fromPath, parametersFor } from './task-parameters.ts';

// The SweepShards state machine (Express: a worker's work ends within its minute): the scheduled
// sweep starts it with the shards that are backlogged, and a Map runs one SweepShard invocation
// per shard, all at once. The configuration is in the input once; each iteration takes it and its
// shard list, so the state does not grow with the number of shards.

export const SWEEP_SHARD_FUNCTION_PLACEHOLDER = 'SweepShardFunctionArn';

export const sweepShardsDefinition = () => ({
  Comment: 'Rapport sweep fan-out: one SweepShard invocation per backlogged timer shard',
  StartAt: 'Shards',
  States: {
    Shards: {
      Type: 'Map',
      ItemsPath: '$.shards',
      MaxConcurrency: TIMER_SHARDS,
      // The iteration's input is the SweepShard task's, built from its contract.
      ItemSelector: parametersFor('SweepShard', sweepShardInputSchema, {
        config: fromPath('$.config'),
        shards: fromPath('$$.Map.Item.Value'),
      }),
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'SweepShard',
        States: {
          SweepShard: {
            Type: 'Task',
            Resource: `\${${SWEEP_SHARD_FUNCTION_PLACEHOLDER}}`,
            // A failed worker is not retried here: its shard stays due and the next minute's sweep sees it.
            End: true,
          },
        },
      },
      ResultPath: null,
      End: true,
    },
  },
});
