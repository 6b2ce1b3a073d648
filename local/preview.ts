import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { type CustomerProfile, profileAsOf } from '#domain/customer.ts';
import { type EmailFooter, renderEmail } from '#domain/templates.ts';
import { templateData } from '#domain/use-cases/send-email.ts';
import type { CompiledProject } from '#domain/workflow/compile.ts';
import { allSteps, durationMinutes, type Flow, type Step } from '#domain/workflow/flow-schema.ts';
import { triggerDetailOf } from '#domain/workflow/validate.ts';
import { DynamoDbCustomerStore } from '#functions/adapters/dynamodb-customer-store.ts';
import type { CommandResult } from './commands.ts';
import { LOCAL_CREDENTIALS } from './emulators.ts';
import { readStackFile } from './stack-file.ts';

// `rapport preview TEMPLATE`: renders a template as the SendEmail function would, without sending.
// The data is a sample built from the schema of the event that triggers the flows sending it (so a
// preview shows what a marketer can count on), the customer from the running local stack, and the
// event from a file when given.

export interface PreviewOptions {
  customer?: string | undefined;
  sample?: boolean | undefined;
  /** An event as JSON: an EventBridge entry (its `detail` is used) or the detail itself. */
  event?: string | undefined;
  out?: string | undefined;
}

export interface PreviewDeps {
  /** Where relative paths in the output start. */
  cwd: string;
  /** The HTML goes here without --out. */
  previewDir: string;
  stackFile?: string | undefined;
  /** The local stack's profile reader (tests give an in-memory store). */
  profiles?: { getProfile(id: string): Promise<CustomerProfile | undefined> };
  now?: Date;
}

const fail = (message: string): CommandResult => ({
  code: 1,
  stdout: [],
  stderr: [`rapport preview: ${message}`],
});

export const previewCommand = async (
  templateId: string,
  options: PreviewOptions,
  project: CompiledProject,
  deps: PreviewDeps,
): Promise<CommandResult> => {
  const template = project.templates.get(templateId);
  if (!template)
    return fail(
      `no template "${templateId}" (templates: ${[...project.templates.keys()].join(', ') || 'none'})`,
    );
  const now = deps.now ?? new Date();
  const senders = project.flows.flatMap(({ flow }) =>
    allSteps(flow.steps).flatMap((step) =>
      step.type === 'send_email' && step.template === templateId ? [{ flow, step }] : [],
    ),
  );
  const first = senders[0];

  let event: unknown;
  if (options.event) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(options.event, 'utf8'));
    } catch (error) {
      return fail(`${relative(deps.cwd, options.event)}: not JSON (${(error as Error).message})`);
    }
    event = isRecord(parsed) && 'detail-type' in parsed && 'detail' in parsed ? parsed.detail : parsed;
  } else if (first) {
    event = sampleOf(triggerDetailOf(first.flow).schema);
  }

  let customer: CustomerProfile;
  if (options.customer) {
    const profiles = deps.profiles ?? localProfiles(deps.stackFile);
    if (!profiles)
      return fail(
        'no local stack is running for --customer; start `rapport serve` in another terminal, or use --sample',
      );
    const stored = await profiles.getProfile(options.customer);
    if (!stored) return fail(`no customer "${options.customer}" in the local stack`);
    customer = profileAsOf(stored, now);
  } else {
    customer = sampleCustomer(now);
  }

  const marketing = senders.some(({ step }) => !transactional(project, step));
  // The signed unsubscribe links exist only for a real send; the address is what the law asks for.
  const footer: EmailFooter | undefined = marketing
    ? { postalAddress: project.program.sender.postalAddress }
    : undefined;
  const rendered = renderEmail(
    template,
    templateData(customer, {
      currency: project.program.currency,
      context: { event, steps: first ? sampleSteps(first.flow, project, now) : {} },
    }),
    footer,
  );
  const out = options.out ?? join(deps.previewDir, `${templateId}.html`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, rendered.html);
  const shownOut = relative(deps.cwd, out).startsWith('..') ? out : relative(deps.cwd, out);
  const sentBy = senders.map(({ flow, step }) => `${flow.id}.${step.id} (topic ${step.topic})`).join(', ');
  return {
    code: 0,
    stdout: [
      `HTML: ${shownOut}`,
      `Sent by: ${sentBy || 'no active flow'}`,
      `Data: ${options.customer ? `customer ${options.customer} from the local stack` : 'a sample customer'}, ${options.event ? `the event in ${relative(deps.cwd, options.event)}` : first ? `a sample ${triggerDetailOf(first.flow).type} event` : 'no event'}`,
      `Subject: ${rendered.subject}`,
      '',
      ...rendered.text.split('\n'),
    ],
    stderr: [],
  };
};

const transactional = (project: CompiledProject, step: Extract<Step, { type: 'send_email' }>) =>
  project.program.topics.find((t) => t.id === step.topic)?.transactional === true;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const localProfiles = (stackFile: string | undefined) => {
  const stack = readStackFile(stackFile);
  if (!stack) return undefined;
  const client = new DynamoDBClient({
    endpoint: stack.dynamoDbEndpoint,
    region: stack.region,
    credentials: LOCAL_CREDENTIALS,
  });
  return new DynamoDbCustomerStore(client, stack.tableName);
};

// ---- sample data ---------------------------------------------------------------------------------

const SAMPLE_TIME = '2026-11-24T12:00:00.000Z';

/** Plausible words for fields by name, so a sample reads like a real email. */
const SAMPLE_TEXT: Record<string, string> = {
  customerId: 'c-sample',
  orderId: 'o-1001',
  refundId: 'r-1001',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  sku: 'SKU-1',
  currency: 'USD',
  rewardId: 'free-shipping',
  rewardName: 'Free shipping',
  couponCode: 'RAP-7K2QX-M4HZD',
  from: 'member',
  to: 'silver',
  timeZone: 'America/New_York',
  birthday: '12-10',
  expiresOn: '2026-12-24',
  field: 'birthday',
  at: '09:00',
  source: 'my.shop',
};

/** A value the schema accepts, built from its shape: what a template may count on being there. */
export const sampleOf = (schema: z.ZodType, key = ''): unknown => {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable)
    return sampleOf(schema.unwrap() as z.ZodType, key);
  if (schema instanceof z.ZodDefault) return sampleOf(schema.unwrap() as z.ZodType, key);
  if (schema instanceof z.ZodPipe) return sampleOf(schema.in as z.ZodType, key);
  if (schema instanceof z.ZodObject)
    return Object.fromEntries(
      Object.entries(schema.shape as Record<string, z.ZodType>).map(([k, v]) => [k, sampleOf(v, k)]),
    );
  if (schema instanceof z.ZodArray) return [sampleOf(schema.element as z.ZodType, key)];
  if (schema instanceof z.ZodLiteral) return schema.value;
  if (schema instanceof z.ZodEnum) return schema.options[0];
  if (schema instanceof z.ZodUnion) return sampleOf(schema.options[0] as z.ZodType, key);
  if (schema instanceof z.ZodBoolean) return true;
  if (schema instanceof z.ZodNumber) return /total|price|amount/i.test(key) ? 42.5 : 120;
  if (schema instanceof z.ZodString) {
    if (SAMPLE_TEXT[key]) return SAMPLE_TEXT[key];
    if (/At$|time/i.test(key) || schema.format === 'datetime') return SAMPLE_TIME;
    if (/Id$/.test(key)) return `${key.slice(0, -2)}-1`;
    return `sample ${key || 'text'}`;
  }
  if (schema instanceof z.ZodRecord) return {};
  return undefined;
};

const sampleCustomer = (now: Date): CustomerProfile => ({
  customerId: 'c-sample',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  createdAt: SAMPLE_TIME,
  registeredAt: SAMPLE_TIME,
  timeZone: 'America/New_York',
  consent: { '*': { granted: true, at: SAMPLE_TIME, source: 'registration' } },
  orderCount: 3,
  lifetimeSpendMinor: 12_050,
  refundedMinor: 0,
  firstOrderAt: SAMPLE_TIME,
  lastOrderAt: new Date(now.getTime() - 30 * 86_400_000).toISOString(),
  pointsBalance: 320,
  pointsPending: 42,
  lifetimePoints: 362,
  tier: 'silver',
  version: 1,
});

/** What earlier steps of the flow return, as the Journey and AwardPoints functions would. */
const sampleSteps = (flow: Flow, project: CompiledProject, now: Date): Record<string, unknown> =>
  Object.fromEntries(
    allSteps(flow.steps).flatMap((step): [string, unknown][] => {
      if (step.type === 'issue_coupon')
        return [
          [
            step.id,
            {
              code: `${step.prefix}-7K2QX-M4HZD`,
              expiresAt: new Date(now.getTime() + durationMinutes(step.valid) * 60_000).toISOString(),
              discount: step.discount,
            },
          ],
        ];
      if (step.type === 'award_points')
        return [[step.id, { points: step.points ?? project.program.awards[step.award ?? '']?.points ?? 0 }]];
      return [];
    }),
  );
