import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TransientError } from '#domain/errors.ts';
import { parseKeys } from '../commons/request-signature.ts';

// The signed API's keys, read from Secrets Manager and read again every few minutes: a rotation
// (the secret holding "NEW,OLD", then "NEW") reaches warm functions without a deploy, and the old
// key keeps working until it is removed from the secret.

export const KEY_REFRESH_MS = 5 * 60_000;

export const apiKeysFromSecret = (
  client: SecretsManagerClient,
  secretId: string,
  now: () => number = Date.now,
): (() => Promise<string[]>) => {
  let cached: { keys: Promise<string[]>; at: number } | undefined;
  return () => {
    if (cached && now() - cached.at < KEY_REFRESH_MS) return cached.keys;
    const previous = cached;
    const keys = client.send(new GetSecretValueCommand({ SecretId: secretId })).then(
      ({ SecretString }) => parseKeys(SecretString ?? ''),
      (error: unknown) => {
        // A failed refresh keeps the keys read before; a failed first read is retried next call.
        cached = previous && { keys: previous.keys, at: now() };
        if (previous) return previous.keys;
        throw new TransientError(`the API key secret ${secretId} could not be read`, { cause: error });
      },
    );
    cached = { keys, at: now() };
    return keys;
  };
};
