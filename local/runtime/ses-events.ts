import { randomUUID } from 'node:crypto';
import { SES_DETAIL_TYPES, type SesEventType } from '#domain/contracts/ses-event.ts';
import type { Mailer, OutgoingEmail } from '#domain/ports.ts';
import type { LocalSesDestination } from '../template.ts';
import type { PutEventsEntry } from './bus.ts';

// SES event publishing, locally: SES v2 local takes mail and publishes nothing, so the mailer is
// wrapped to publish `Email Sent` as the configuration set's event destination does in AWS, and a
// test (or `rapport serve`) reports what would come back from the recipient's server: a bounce, a
// complaint, a delivery. The events have the shape SES gives them on the default bus.

/** What the recipient's side did with a message. */
export type SesFeedback =
  | { type: 'Bounce'; bounceType?: 'Permanent' | 'Transient' | undefined }
  | { type: 'Complaint' }
  | { type: 'Delivery' }
  | { type: 'Reject' };

export interface SentMessage {
  messageId: string;
  email: OutgoingEmail;
  timestamp: string;
}

export class LocalSesEvents {
  /** Every message SES local took, by message id. */
  readonly sent = new Map<string, SentMessage>();

  constructor(
    private readonly destination: LocalSesDestination,
    private readonly publish: (entry: PutEventsEntry) => void,
    private readonly now: () => Date,
  ) {}

  /** The mailer as the configuration set makes it: a message taken is a Send event. */
  wrap(mailer: Mailer): Mailer {
    return {
      send: async (email) => {
        const { messageId } = await mailer.send(email);
        const message = { messageId, email, timestamp: this.now().toISOString() };
        this.sent.set(messageId, message);
        this.emit('Send', message, {});
        return { messageId };
      },
    };
  }

  /** Publishes what SES would report about a message it sent; false if SES local never took it. */
  report(messageId: string, feedback: SesFeedback): boolean {
    const message = this.sent.get(messageId);
    if (!message) return false;
    const at = this.now().toISOString();
    const recipients = [{ emailAddress: message.email.to }];
    const body: Record<string, unknown> =
      feedback.type === 'Bounce'
        ? {
            bounce: {
              bounceType: feedback.bounceType ?? 'Permanent',
              bounceSubType: feedback.bounceType === 'Transient' ? 'MailboxFull' : 'General',
              bouncedRecipients: recipients,
              timestamp: at,
              feedbackId: randomUUID(),
            },
          }
        : feedback.type === 'Complaint'
          ? {
              complaint: {
                complainedRecipients: recipients,
                timestamp: at,
                feedbackId: randomUUID(),
                complaintFeedbackType: 'abuse',
              },
            }
          : feedback.type === 'Delivery'
            ? { delivery: { timestamp: at, recipients: [message.email.to], smtpResponse: '250 2.0.0 OK' } }
            : { reject: { reason: 'Bad content' } };
    this.emit(feedback.type, message, body);
    return true;
  }

  private emit(type: SesEventType, message: SentMessage, body: Record<string, unknown>): void {
    if (!this.destination.events.includes(type.toLowerCase())) return;
    const tags: Record<string, string[]> = {
      'ses:configuration-set': [this.destination.configurationSet],
      'ses:from-domain': [message.email.from.replace(/^.*@|>$/g, '')],
    };
    for (const [name, value] of Object.entries(message.email.tags)) tags[name] = [value];
    this.publish({
      Source: 'aws.ses',
      DetailType: SES_DETAIL_TYPES[type],
      Detail: {
        eventType: type,
        mail: {
          timestamp: message.timestamp,
          source: message.email.from,
          messageId: message.messageId,
          destination: [message.email.to],
          headersTruncated: false,
          tags,
        },
        ...body,
      },
    });
  }
}
