import type { DeadLetterErasure, DeadLetterStore } from '#domain/ports.ts';

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
