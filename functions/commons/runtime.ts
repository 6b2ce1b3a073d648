import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import * as z from 'zod';
import type { Clock, CustomerStore, Mailer } from '#domain/ports.ts';
import { type CapacityMeter, DynamoDbCustomerStore } from '../adapters/dynamodb-customer-store.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import { createLogger, type Logger } from './logger.ts';

// Everything a handler needs from the outside, built once per cold start from the environment.

export const environmentSchema = z.object({
  TABLE_NAME: z.string().min(1, 'TABLE_NAME must name the Rapport table'),
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export interface RuntimeDeps {
  store: CustomerStore;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
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
  logger?: Logger;
}

const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export const createRuntime = (
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides = {},
): RuntimeDeps => {
  const parsed = environmentSchema.safeParse(env);
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
  return {
    store: new DynamoDbCustomerStore(dynamo, parsed.data.TABLE_NAME, overrides.meter),
    mailer: new SesMailer(ses, parsed.data.SES_CONFIGURATION_SET),
    clock: overrides.clock ?? systemClock,
    logger: overrides.logger ?? createLogger(parsed.data.LOG_LEVEL, { service: 'rapport' }),
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
