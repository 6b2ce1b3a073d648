import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterErasure, DeadLetterStore } from '#domain/ports.ts';
import type { RejectedEvents } from '#domain/use-cases/api-events.ts';

// SQS cannot edit or delete a message it has not handed out, and receiving every message to find
// one customer's would hide the queue from the operator for the visibility timeout. What the
// queue holds of an erased customer is gone when its retention ends; a redrive before then
// records nothing personal (the profile is erased) and reaches no flow.

export class SqsDeadLetters implements DeadLetterStore {
  constructor(private readonly retentionDays: number) {}

  async erase(_customerId: string, now: string): Promise<DeadLetterErasure> {
    return {
      retainedUntil: new Date(Date.parse(now) + this.retentionDays * 86_400_000).toISOString(),
      where: 'SQS dead-letter queue (not editable; expires by its retention)',
    };
  }
}

/** Events the signed API refused before the Ingest machine, kept beside the ones the machine refuses. */
export class SqsRejectedEvents implements RejectedEvents {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async keep(letter: Parameters<RejectedEvents['keep']>[0]): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(letter) }),
    );
  }
}
