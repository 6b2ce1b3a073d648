import { createHmac } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TransientError } from '#domain/errors.ts';
import type { Signer } from '#domain/ports.ts';

// HMAC-SHA256 under a key the functions read once: coupon codes derived with it cannot be computed
// from the public ids (customer, request, journey) that go into them, nor unsubscribe tokens forged.

export class HmacSigner implements Signer {
  constructor(private readonly key: () => Promise<string>) {}

  async sign(message: string): Promise<Uint8Array> {
    return createHmac('sha256', await this.key())
      .update(message)
      .digest();
  }
}

/** The key in Secrets Manager (CDK generates it); a failed read is retried by the next call. */
export const secretKey = (client: SecretsManagerClient, secretId: string): (() => Promise<string>) => {
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= client.send(new GetSecretValueCommand({ SecretId: secretId })).then(
      ({ SecretString }) => {
        if (!SecretString) throw new Error(`secret ${secretId} holds no string`);
        return SecretString;
      },
      (error: unknown) => {
        pending = undefined;
        throw new TransientError(`the signing key ${secretId} could not be read`, { cause: error });
      },
    );
    return pending;
  };
};
