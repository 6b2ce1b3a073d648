import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { PutEventsEntry, PutEventsResultEntry } from './bus.ts';
import type { Invoke } from './state-machines.ts';

// The service integrations the state machines call (`arn:aws:states:::<service>:<action>`), by
// resource: a machine that needs another one adds an entry here.

export interface IntegrationTargets {
  /** PutEvents as Rapport's own state machines may: the system bus too. */
  publish: (entries: readonly PutEventsEntry[]) => PutEventsResultEntry[];
  /** SendMessage to a queue (the dead-letter queue is the only one). */
  deadLetter: (queueUrl: string, body: unknown) => void;
}

export const serviceIntegrations = (targets: IntegrationTargets): Record<string, Invoke> => ({
  'arn:aws:states:::events:putEvents': async (input) => {
    const { Entries } = z.object({ Entries: z.array(z.record(z.string(), z.unknown())) }).parse(input);
    const results = targets.publish(Entries as PutEventsEntry[]);
    return { Entries: results, FailedEntryCount: results.filter((r) => r.ErrorCode).length };
  },
  'arn:aws:states:::sqs:sendMessage': async (input) => {
    const { QueueUrl, MessageBody } = z
      .object({ QueueUrl: z.string(), MessageBody: z.unknown() })
      .parse(input);
    targets.deadLetter(QueueUrl, MessageBody);
    return { MessageId: randomUUID() };
  },
});
