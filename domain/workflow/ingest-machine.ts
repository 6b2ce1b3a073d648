import { recordEventInputSchema } from '../contracts/tasks.ts';
import { ACCEPTED_SOURCE } from '../events.ts';
import type { Program } from '../program.ts';
import { deadLetter, type Json, type JsonObject, PLACEHOLDERS, RETRY, ref } from './asl.ts';
import { constant, fromPath, parametersFor } from './task-parameters.ts';

/** The wait before a released event is ingested again: its order's flows enter in well under this. */
export const RELEASE_WAIT = 'LetItsFlowsStart';
const RELEASE_AFTER_SECONDS = 60;

/** A PutEvents is retried on anything: putting the same event again is what a retry means. */
const PUT_RETRY: Json = [
  { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 4, JitterStrategy: 'FULL' },
];

export const ingestDefinition = (program: Program): JsonObject => ({
  Comment:
    'Rapport ingest: validate and record a commerce event, resolve journeys, then publish it to the flows',
  StartAt: 'Record',
  States: {
    Record: {
      Type: 'Task',
      Resource: ref(PLACEHOLDERS.recordEvent),
      Parameters: parametersFor('record_event', recordEventInputSchema, {
        event: fromPath('$'),
        program: constant(program),
      }),
      // No ResultPath: the answer replaces the state (the default `$`), so the state holds the parsed
      // detail once, not the event twice (Step Functions' 256 KB). The event as it arrived stays in
      // the execution input, which the dead letters carry.
      Retry: RETRY,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterFailed' }],
      Next: 'Valid?',
    },
    'Valid?': {
      Type: 'Choice',
      // `ok` is always there; `publish` only on an accepted event (a missing path fails a Choice).
      Choices: [
        { Variable: '$.ok', BooleanEquals: false, Next: 'DeadLetterInvalid' },
        { Variable: '$.publish', BooleanEquals: true, Next: 'Publish' },
      ],
      Default: 'AlreadyPublished',
    },
    AlreadyPublished: {
      Type: 'Pass',
      Comment:
        'A fact re-sent under another envelope (recorded and published the first time), or one that waits for its order',
      Next: 'Release?',
    },
    Publish: {
      Type: 'Task',
      Resource: 'arn:aws:states:::events:putEvents',
      Parameters: {
        Entries: [
          {
            EventBusName: ref(PLACEHOLDERS.eventBus),
            Source: ACCEPTED_SOURCE,
            'DetailType.$': '$.detailType',
            'Detail.$': '$.detail',
          },
        ],
      },
      ResultPath: null,
      Retry: PUT_RETRY,
      // Recorded but not published: the dead letter is the event, and a redrive records nothing
      // twice (a duplicate of the same envelope is published again).
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterUnpublished' }],
      Next: 'Release?',
    },
    'Release?': {
      Type: 'Choice',
      Comment: 'Refunds and cancellations that arrived before this order, kept until it was recorded',
      Choices: [{ Variable: '$.released[0]', IsPresent: true, Next: 'Release' }],
      Default: 'Done',
    },
    // After the order is published and its flows have started (a refund must end the review
    // request the order began), as if delivered in order. Each is ingested again from the shop's
    // bus; it stays kept until it is recorded, so a failed put loses nothing (the order's next
    // delivery releases it again).
    Release: {
      Type: 'Map',
      ItemsPath: '$.released',
      MaxConcurrency: 1,
      Iterator: {
        StartAt: RELEASE_WAIT,
        States: {
          [RELEASE_WAIT]: { Type: 'Wait', Seconds: RELEASE_AFTER_SECONDS, Next: 'IngestAgain' },
          IngestAgain: {
            Type: 'Task',
            Resource: 'arn:aws:states:::events:putEvents',
            Parameters: {
              Entries: [
                {
                  EventBusName: ref(PLACEHOLDERS.shopBus),
                  'Source.$': '$.source',
                  'DetailType.$': '$.detailType',
                  'Detail.$': '$.detail',
                },
              ],
            },
            Retry: PUT_RETRY,
            End: true,
          },
        },
      },
      ResultPath: null,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeadLetterUnreleased' }],
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
    DeadLetterUnreleased: { ...deadLetter('release', '$.error.Cause'), Next: 'Unreleased' },
    Unreleased: {
      Type: 'Fail',
      Error: 'ReleaseFailed',
      Cause:
        'Recorded and published, but the events that waited for this order could not be put again; they stay kept for its next delivery',
    },
    DeadLetterInvalid: { ...deadLetter('ingest', '$.reason'), Next: 'Rejected' },
    Rejected: {
      Type: 'Succeed',
      Comment: 'Invalid events are kept in the dead-letter queue with their reason',
    },
    DeadLetterFailed: { ...deadLetter('ingest', '$.error.Cause'), Next: 'Failed' },
    Failed: {
      Type: 'Fail',
      Error: 'IngestFailed',
      Cause: 'Recording failed after retries; the event is in the dead-letter queue',
    },
    DeadLetterUnpublished: { ...deadLetter('publish', '$.error.Cause'), Next: 'Unpublished' },
    Unpublished: {
      Type: 'Fail',
      Error: 'PublishFailed',
      Cause:
        'Recorded, but publishing to the flows failed after retries; the event is in the dead-letter queue',
    },
  },
});
