import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { TransientError } from '#domain/errors.ts';
import type { EventPublisher, PublishedEvent } from '#domain/ports.ts';

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: readonly PublishedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const output = await this.client.send(
      new PutEventsCommand({
        Entries: events.map((event) => ({
          EventBusName: this.eventBusName,
          Source: event.source,
          DetailType: event.detailType,
          Detail: JSON.stringify(event.detail),
          Time: event.time ? new Date(event.time) : undefined,
        })),
      }),
    );
    if (output.FailedEntryCount) {
      const codes = (output.Entries ?? []).map((entry) => entry.ErrorCode).filter(Boolean);
      throw new TransientError(`EventBridge refused ${output.FailedEntryCount} events: ${codes.join(', ')}`);
    }
  }
}
