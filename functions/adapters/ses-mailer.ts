import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { MailNotSentError, MailRejectedError } from '#domain/errors.ts';
import type { Mailer, OutgoingEmail } from '#domain/ports.ts';

// SES answered and did not take the message: sending again later is safe.
const NOT_SENT = new Set(['TooManyRequestsException', 'LimitExceededException', 'SendingPausedException']);
// SES will never take this message as it is.
const REJECTED = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'BadRequestException',
  'NotFoundException',
  'AccountSuspendedException',
]);

// SES tag values allow only ASCII letters, digits, _ and -.
const tagValue = (value: string) => value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256);

export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly configurationSetName?: string,
  ) {}

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    try {
      const output = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: email.from,
          Destination: { ToAddresses: [email.to] },
          ReplyToAddresses: email.replyTo ? [email.replyTo] : undefined,
          Content: {
            Simple: {
              Subject: { Data: email.subject, Charset: 'UTF-8' },
              Body: {
                Html: { Data: email.html, Charset: 'UTF-8' },
                Text: { Data: email.text, Charset: 'UTF-8' },
              },
              Headers: email.headers
                ? Object.entries(email.headers).map(([Name, Value]) => ({ Name, Value }))
                : undefined,
            },
          },
          EmailTags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value: tagValue(Value) })),
          ConfigurationSetName: this.configurationSetName,
        }),
      );
      return { messageId: output.MessageId ?? 'unknown' };
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      if (NOT_SENT.has(error.name))
        throw new MailNotSentError(`SES did not take the email: ${error.name}`, { cause: error });
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // aws-ses-v2-local answers 400 without an error type; real SES names it.
      if (REJECTED.has(error.name) || status === 400) {
        throw new MailRejectedError(`SES rejected the email: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}
