import { ConcurrencyConflictError, TransientError } from '../errors.ts';
import type { Clock, WriteOutcome } from '../ports.ts';

/**
 * Optimistic concurrency: read, decide, write guarded by what was read; on conflict read again.
 * Full-jitter backoff keeps fifty writers to one customer from retrying in lock step.
 */
export const withOptimisticRetry = async <T extends { outcome: WriteOutcome | (string & {}) }>(
  clock: Clock,
  attempt: () => Promise<T>,
  maxAttempts = 60,
): Promise<T> => {
  for (let tries = 1; ; tries++) {
    const result = await attempt();
    if (result.outcome !== 'conflict') return result;
    if (tries >= maxAttempts) {
      throw new ConcurrencyConflictError(`gave up after ${tries} conflicting writes`);
    }
    await clock.sleep(Math.random() * Math.min(250, 5 * 2 ** Math.min(tries, 6)));
  }
};

/**
 * A write that must not be lost to a passing throttle, retried in place with backoff: releasing a
 * send claim after the provider surely refused is one. If it failed, the claim would stay and every
 * retry would take the email for sent: it would never go.
 */
export const retryTransient = async <T>(
  clock: Clock,
  write: () => Promise<T>,
  maxAttempts = 5,
): Promise<T> => {
  for (let tries = 1; ; tries++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof TransientError) || tries >= maxAttempts) throw error;
      await clock.sleep(Math.random() * Math.min(1000, 20 * 2 ** tries));
    }
  }
};
