import * as z from 'zod';

// What SES event publishing puts on the account's default EventBridge bus (source `aws.ses`): the
// envelope, and as `detail` the same record SES publishes to SNS or Firehose. Only the fields the
// reputation handler reads are declared; the rest passes through unread. Bounded, so a hostile or
// broken event cannot make the handler loop over a million recipients.

export const SES_DETAIL_TYPES = {
  Send: 'Email Sent',
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Reject: 'Email Rejected',
} as const;
export type SesEventType = keyof typeof SES_DETAIL_TYPES;

const time = z.iso.datetime({ offset: true });
const text = (max: number) => z.string().min(1).max(max);
const recipients = z.array(z.looseObject({ emailAddress: text(320) })).max(50);

const mailSchema = z.looseObject({
  timestamp: time,
  messageId: text(256),
  source: text(512).optional(),
  destination: z.array(text(320)).max(50).default([]),
  /** SES returns tags as name -> values, its own (`ses:configuration-set`, ...) beside ours. */
  tags: z.record(text(256), z.array(z.string().max(256)).max(10)).default({}),
});

export const sesEventDetailSchema = z.discriminatedUnion('eventType', [
  z.looseObject({ eventType: z.literal('Send'), mail: mailSchema }),
  z.looseObject({ eventType: z.literal('Delivery'), mail: mailSchema }),
  z.looseObject({ eventType: z.literal('Reject'), mail: mailSchema }),
  z.looseObject({
    eventType: z.literal('Bounce'),
    mail: mailSchema,
    bounce: z.looseObject({
      bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
      bounceSubType: z.string().max(64).optional(),
      bouncedRecipients: recipients,
      timestamp: time,
      feedbackId: text(256).optional(),
    }),
  }),
  z.looseObject({
    eventType: z.literal('Complaint'),
    mail: mailSchema,
    complaint: z.looseObject({
      complainedRecipients: recipients,
      timestamp: time,
      feedbackId: text(256).optional(),
      complaintFeedbackType: z.string().max(64).optional(),
    }),
  }),
]);
export type SesEventDetail = z.infer<typeof sesEventDetailSchema>;

export const sesEventSchema = z.object({
  id: text(128),
  source: z.literal('aws.ses'),
  'detail-type': z.enum(Object.values(SES_DETAIL_TYPES)),
  time,
  detail: sesEventDetailSchema,
});
export type SesEvent = z.infer<typeof sesEventSchema>;
