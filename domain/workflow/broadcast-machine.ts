import { FIRST_CURSOR } from '../broadcast.ts';
import { scanPageInputSchema } from '../contracts/tasks.ts';
import { fromPath, parametersFor } from './task-parameters.ts';

// The Broadcast state machine (Standard: execution names are unique for 90 days, so one
// occurrence of a flow starts once however often the sweeper asks). An inline Map runs the Scan
// segments, at most `maxConcurrency` at once; each segment loops over the ScanPage Lambda, which
// takes a bounded budget of pages and answers the cursor to go on from. The cursor lives in the
// state, so a retried ScanPage starts from the last page the segment finished.
//
// Inline, not Distributed: aws-local-stepfunctions runs inline Maps (ItemsPath, ItemSelector,
// MaxConcurrency) but not ItemReader or child executions, and the same ASL must run locally. The
// price is one execution history for every segment: 25,000 events, about 7 per ScanPage call
// (docs/scale.md has the arithmetic).

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const BROADCAST_FUNCTION_PLACEHOLDER = 'BroadcastFunctionArn';

export interface BroadcastShape {
  /** Scan segments (Segment/TotalSegments): each is read by one loop of ScanPage calls. */
  totalSegments: number;
  /** Segments scanned at once. An inline Map runs at most 40 iterations in parallel. */
  maxConcurrency: number;
  /** Scan pages per ScanPage call: what a retry may repeat, against 7 history events per call. */
  pagesPerCall: number;
}

/** The shipped shape: see docs/scale.md for what serves 10 million customers. */
export const BROADCAST_SHAPE: BroadcastShape = { totalSegments: 16, maxConcurrency: 8, pagesPerCall: 8 };

/**
 * Every error of a ScanPage call is retried from the same cursor: a crash, a timeout, a throttled
 * PutEvents. A segment that still fails fails the execution, which a redrive resumes.
 */
const RETRY: Json = [
  {
    ErrorEquals: ['States.ALL'],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 6,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

export const broadcastDefinition = ({
  totalSegments,
  maxConcurrency,
  pagesPerCall,
}: BroadcastShape = BROADCAST_SHAPE) => {
  if (!Number.isInteger(totalSegments) || totalSegments < 1 || totalSegments > 1_000_000)
    throw new RangeError(`totalSegments: expected an integer from 1 to 1000000, received ${totalSegments}`);
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 40)
    throw new RangeError(`maxConcurrency: expected an integer from 1 to 40, received ${maxConcurrency}`);
  if (!Number.isInteger(pagesPerCall) || pagesPerCall < 1 || pagesPerCall > 1000)
    throw new RangeError(`pagesPerCall: expected an integer from 1 to 1000, received ${pagesPerCall}`);
  return {
    Comment: `Rapport broadcast: one occurrence of a scheduled flow, ${totalSegments} Scan segments, ${maxConcurrency} at once`,
    StartAt: 'Segments',
    States: {
      Segments: {
        Type: 'Pass',
        Comment: 'The input is the broadcast (flow, occurrence, entry conditions)',
        Parameters: {
          'broadcast.$': '$',
          segments: Array.from({ length: totalSegments }, (_, i) => i),
        },
        Next: 'ScanSegments',
      },
      ScanSegments: {
        Type: 'Map',
        ItemsPath: '$.segments',
        MaxConcurrency: maxConcurrency,
        ItemSelector: {
          'broadcast.$': '$.broadcast',
          'segment.$': '$$.Map.Item.Value',
          totalSegments,
          pagesPerCall,
          cursor: FIRST_CURSOR as unknown as Json,
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'ScanPage',
          States: {
            ScanPage: {
              Type: 'Task',
              Resource: `\${${BROADCAST_FUNCTION_PLACEHOLDER}}`,
              Parameters: parametersFor('ScanPage', scanPageInputSchema, {
                broadcast: fromPath('$.broadcast'),
                segment: fromPath('$.segment'),
                totalSegments: fromPath('$.totalSegments'),
                pagesPerCall: fromPath('$.pagesPerCall'),
                cursor: fromPath('$.cursor'),
              }),
              ResultPath: '$.cursor',
              Retry: RETRY,
              Next: 'SegmentDone?',
            },
            'SegmentDone?': {
              Type: 'Choice',
              Choices: [{ Variable: '$.cursor.done', BooleanEquals: true, Next: 'SegmentScanned' }],
              Default: 'ScanPage',
            },
            SegmentScanned: {
              Type: 'Pass',
              Comment: 'Only the totals leave the iteration: the Map result stays small',
              Parameters: {
                'segment.$': '$.segment',
                'scanned.$': '$.cursor.scanned',
                'matched.$': '$.cursor.matched',
                'pages.$': '$.cursor.pages',
                'readUnits.$': '$.cursor.readUnits',
                'invocations.$': '$.cursor.invocations',
              },
              End: true,
            },
          },
        },
        ResultPath: '$.segments',
        Next: 'Sent',
      },
      Sent: { Type: 'Succeed' },
    },
  } satisfies { [key: string]: Json };
};
