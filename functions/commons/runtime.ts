import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import type { BroadcastStarter, ProfileScanner } from '#domain/broadcast.ts';
import type {
  Clock,
  CouponBook,
  CustomerStore,
  DeadLetterStore,
  EventPublisher,
  ExportSink,
  JourneyStarter,
  JourneyStore,
  Mailer,
  PrivacyStore,
  ReputationStore,
  Signer,
} from '#domain/ports.ts';
import { type Program, programSchema } from '#domain/program.ts';
import type { EventIngest, RejectedEvents } from '#domain/use-cases/api-events.ts';
import type { SweepFanOut } from '#domain/use-cases/sweep.ts';
import { apiKeysFromSecret } from '../adapters/api-keys.ts';
import type { CapacityMeter } from '../adapters/dynamodb-customer-store.ts';
import { DynamoDbPrivacyStore } from '../adapters/dynamodb-privacy-store.ts';
import { DynamoDbProfileScanner } from '../adapters/dynamodb-profile-scanner.ts';
import { DynamoDbReputationStore } from '../adapters/dynamodb-reputation-store.ts';
import { DynamoDbSeenRequests, type SeenRequests } from '../adapters/dynamodb-seen-requests.ts';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher.ts';
import { HmacSigner, secretKey } from '../adapters/hmac-signer.ts';
import { S3ExportSink } from '../adapters/s3-export-sink.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import { StepFunctionsBroadcastStarter } from '../adapters/sfn-broadcast-starter.ts';
import { StepFunctionsJourneyStarter } from '../adapters/sfn-journey-starter.ts';
import { StepFunctionsSweepFanOut } from '../adapters/sfn-sweep-fan-out.ts';
import { StepFunctionsSyncIngest } from '../adapters/sfn-sync-ingest.ts';
import { SqsDeadLetters, SqsRejectedEvents } from '../adapters/sqs-dead-letters.ts';
import { createObservability, type Logger, type Metrics } from './observability.ts';
import { parseKeys } from './request-signature.ts';

// Everything a handler needs from the outside, built once per cold start from the environment.

export const environmentSchema = z.object({
  TABLE_NAME: z.string().min(1, 'TABLE_NAME must name the Rapport table'),
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  DEFAULT_TIME_ZONE: z.string().min(1).default('UTC'),
  EVENT_BUS_NAME: z.string().min(1).optional(),
  /** The Secrets Manager secret holding the key coupon codes are signed with (functions that issue coupons). */
  COUPON_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** The key itself, where there is no Secrets Manager: the local runtime generates one per stack. */
  COUPON_KEY: z.string().min(32, 'COUPON_KEY must be at least 32 characters').optional(),
  /** The secret holding the key unsubscribe tokens are signed with (SendEmail, Unsubscribe). */
  UNSUBSCRIBE_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** That key itself, where there is no Secrets Manager (the local runtime). */
  UNSUBSCRIBE_KEY: z.string().min(32, 'UNSUBSCRIBE_KEY must be at least 32 characters').optional(),
  /** Where unsubscribe links point: the Unsubscribe function's URL (locally, `rapport serve`'s). */
  UNSUBSCRIBE_URL: z
    .url({ protocol: /^https?$/, error: 'UNSUBSCRIBE_URL must be an http(s) URL' })
    .optional(),
  /**
   * The compiled loyalty program, for functions no state machine hands it to (Storefront, Api,
   * Unsubscribe). Their bundles carry it (BUNDLED_PROGRAM); the local runtime, which runs them from
   * source, hands it over here.
   */
  RAPPORT_PROGRAM: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const parsed = programSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `RAPPORT_PROGRAM is not a program: ${parsed.error.message}` });
      return z.NEVER;
    }),
  /** {"flow-id": {"arn": "...", "revision": "..."}}: where continuations start. */
  FLOW_MACHINES: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return z
          .record(z.string(), z.object({ arn: z.string(), revision: z.string() }))
          .parse(JSON.parse(text));
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'FLOW_MACHINES must be JSON: {"flow": {"arn", "revision"}}',
        });
        return z.NEVER;
      }
    }),
  /** The Broadcast state machine the sweeper starts for a due occurrence of a scheduled flow. */
  BROADCAST_MACHINE_ARN: z.string().min(1).optional(),
  /** The SweepShards state machine the sweeper hands backlogged timer shards to. */
  SWEEP_SHARDS_MACHINE_ARN: z.string().min(1).optional(),
  /** The bucket privacy exports go to (the ingest function). */
  EXPORT_BUCKET_NAME: z.string().min(1).optional(),
  /** How long the dead-letter queue keeps a message: when an erased customer's copies are gone. */
  DEAD_LETTER_RETENTION_DAYS: z.coerce.number().int().positive().default(14),
  // The signed API (functions/api.ts): its keys, the machine it applies events with, where it
  // keeps the events it refuses.
  API_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** The keys themselves (one, or several separated by commas), where there is no Secrets Manager. */
  API_KEY: z.string().min(32, 'API_KEY must be at least 32 characters').optional(),
  INGEST_MACHINE_ARN: z.string().min(1).optional(),
  DEAD_LETTER_QUEUE_URL: z.string().min(1).optional(),
});

/**
 * The program esbuild writes into the bundle of a function that carries it, at synth time
 * (infra/rapport-function.ts): no environment variable's 4 KB limit. Undefined when run from source.
 */
declare const __RAPPORT_PROGRAM__: string | undefined;
const BUNDLED_PROGRAM = typeof __RAPPORT_PROGRAM__ === 'string' ? __RAPPORT_PROGRAM__ : undefined;
/** What only the signed API uses. */
export interface ApiDeps {
  keys: () => Promise<string[]>;
  seen: SeenRequests;
  ingest: EventIngest;
  rejections: RejectedEvents;
  /** Signatures are fresh by real time, also where the business clock is virtual (the local stack). */
  wallClock: () => Date;
}

export interface RuntimeDeps {
  store: CustomerStore & JourneyStore & PrivacyStore & CouponBook;
  /** Copies of rejected events: erasure removes the customer's where the store can. */
  deadLetters: DeadLetterStore;
  /** Where privacy exports go. */
  exports: ExportSink;
  /** Per sending identity: SES's counters and the pause of marketing mail. */
  reputation: ReputationStore;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  starter: JourneyStarter;
  publisher: EventPublisher;
  /** Reads the table in Scan segments (the Broadcast function). */
  scanner: ProfileScanner;
  /** Undefined where no Broadcast machine is configured (every function but the sweeper). */
  broadcaster?: BroadcastStarter | undefined;
  /** Undefined where no SweepShards machine is configured (every function but the sweeper). */
  fanOut?: SweepFanOut | undefined;
  signer: Signer;
  /** Signs unsubscribe tokens; `baseUrl` is set where links are made (SendEmail). */
  unsubscribe: { signer: Signer; baseUrl?: string | undefined };
  defaultTimeZone: string;
  program?: Program | undefined;
  /** Where API_KEY or API_KEY_SECRET_ARN is set (the Api function). */
  api?: ApiDeps | undefined;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RuntimeOverrides {
  /** Endpoints of local emulators; in AWS the SDK's defaults are right. */
  dynamoDbEndpoint?: string;
  sesEndpoint?: string;
  clock?: Clock;
  meter?: CapacityMeter;
  /** The Powertools Logger and Metrics (the local runtime writes them to its log file). */
  observability?: { logger: Logger; metrics: Metrics };
  starter?: JourneyStarter;
  publisher?: EventPublisher;
  broadcaster?: BroadcastStarter;
  fanOut?: SweepFanOut;
  deadLetters?: DeadLetterStore;
  exports?: ExportSink;
  /** The Api function's ingest and dead letters (locally, the runtime's machine and file). */
  ingest?: EventIngest;
  rejections?: RejectedEvents;
}

const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export const createRuntime = (
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides = {},
): RuntimeDeps => {
  const parsed = environmentSchema.safeParse({
    ...env,
    RAPPORT_PROGRAM: env.RAPPORT_PROGRAM ?? BUNDLED_PROGRAM,
  });
  if (!parsed.success) {
    throw new Error(
      `Invalid Lambda environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      {
        cause: parsed.error,
      },
    );
  }
  const local = (endpoint: string | undefined) =>
    endpoint ? { endpoint, region: env.AWS_REGION ?? 'us-east-1', credentials: localCredentials } : {};
  const dynamo = new DynamoDBClient({ ...local(overrides.dynamoDbEndpoint), maxAttempts: 5 });
  const ses = new SESv2Client({ ...local(overrides.sesEndpoint) });
  const config = parsed.data;
  const missingBus: EventPublisher = {
    publish: () => Promise.reject(new Error('EVENT_BUS_NAME is not set for this function')),
  };
  const keyOf = (localKey: string | undefined, secretArn: string | undefined, name: string) => {
    if (localKey) return () => Promise.resolve(localKey);
    if (!secretArn) return () => Promise.reject(new Error(`${name} is not set for this function`));
    const key = secretKey(new SecretsManagerClient({}), secretArn);
    // Read at cold start, so the first use does not wait for it; a failure surfaces on first use.
    key().catch(() => undefined);
    return key;
  };
  const key = keyOf(config.COUPON_KEY, config.COUPON_KEY_SECRET_ARN, 'COUPON_KEY_SECRET_ARN');
  const unsubscribeKey = keyOf(
    config.UNSUBSCRIBE_KEY,
    config.UNSUBSCRIBE_KEY_SECRET_ARN,
    'UNSUBSCRIBE_KEY_SECRET_ARN',
  );
  const { logger, metrics } = overrides.observability ?? createObservability({ logLevel: config.LOG_LEVEL });
  const clock = overrides.clock ?? systemClock;
  const bucket = config.EXPORT_BUCKET_NAME;
  return {
    store: new DynamoDbPrivacyStore(dynamo, config.TABLE_NAME, overrides.meter),
    deadLetters: overrides.deadLetters ?? new SqsDeadLetters(config.DEAD_LETTER_RETENTION_DAYS),
    exports:
      overrides.exports ??
      (bucket
        ? new S3ExportSink(new S3Client({}), bucket, () => clock.now())
        : { put: () => Promise.reject(new Error('EXPORT_BUCKET_NAME is not set for this function')) }),
    reputation: new DynamoDbReputationStore(dynamo, config.TABLE_NAME, overrides.meter),
    // A client of its own: a document client shares its base client's config, so a second one on
    // `dynamo` would replace the store's marshalling options (removeUndefinedValues) with its own.
    scanner: new DynamoDbProfileScanner(
      new DynamoDBClient({ ...local(overrides.dynamoDbEndpoint), maxAttempts: 5 }),
      config.TABLE_NAME,
      overrides.meter,
    ),
    broadcaster:
      overrides.broadcaster ??
      (config.BROADCAST_MACHINE_ARN
        ? new StepFunctionsBroadcastStarter(new SFNClient({}), config.BROADCAST_MACHINE_ARN)
        : undefined),
    fanOut:
      overrides.fanOut ??
      (config.SWEEP_SHARDS_MACHINE_ARN
        ? new StepFunctionsSweepFanOut(new SFNClient({}), config.SWEEP_SHARDS_MACHINE_ARN)
        : undefined),
    signer: new HmacSigner(key),
    unsubscribe: { signer: new HmacSigner(unsubscribeKey), baseUrl: config.UNSUBSCRIBE_URL },
    mailer: new SesMailer(ses, config.SES_CONFIGURATION_SET),
    clock,
    logger,
    metrics,
    starter: overrides.starter ?? new StepFunctionsJourneyStarter(new SFNClient({}), config.FLOW_MACHINES),
    publisher:
      overrides.publisher ??
      (config.EVENT_BUS_NAME
        ? new EventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME)
        : missingBus),
    defaultTimeZone: config.DEFAULT_TIME_ZONE,
    program: config.RAPPORT_PROGRAM,
    api: apiDeps(config, overrides, local(overrides.dynamoDbEndpoint)),
  };
};

const apiDeps = (
  config: z.infer<typeof environmentSchema>,
  overrides: RuntimeOverrides,
  endpoint: Record<string, unknown>,
): ApiDeps | undefined => {
  const localKeys = config.API_KEY;
  const secretArn = config.API_KEY_SECRET_ARN;
  if (!localKeys && !secretArn) return undefined;
  const missing = (name: string) => () => Promise.reject(new Error(`${name} is not set for this function`));
  const keys = localKeys
    ? () => Promise.resolve(parseKeys(localKeys))
    : apiKeysFromSecret(new SecretsManagerClient({}), secretArn ?? '');
  const ingestArn = config.INGEST_MACHINE_ARN;
  const queueUrl = config.DEAD_LETTER_QUEUE_URL;
  return {
    keys,
    seen: new DynamoDbSeenRequests(
      new DynamoDBClient({ ...endpoint, maxAttempts: 5 }),
      config.TABLE_NAME,
      overrides.meter,
    ),
    ingest:
      overrides.ingest ??
      (ingestArn
        ? new StepFunctionsSyncIngest(new SFNClient({}), ingestArn)
        : { run: missing('INGEST_MACHINE_ARN') }),
    rejections:
      overrides.rejections ??
      (queueUrl
        ? new SqsRejectedEvents(new SQSClient({}), queueUrl)
        : { keep: missing('DEAD_LETTER_QUEUE_URL') }),
    wallClock: () => new Date(),
  };
};

/** Builds the runtime on first use (the cold start), then reuses it. */
export const lazy = <T>(build: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
};
