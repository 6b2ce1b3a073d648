// A small named taxonomy. Retryable errors are retried by the generated ASL `Retry` clauses;
// the others are caught and dead-lettered with their reason. The compiler reads the names from here.

export abstract class RapportError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An event that does not satisfy its schema or the program's rules. Never retried: dead-lettered. */
export class InvalidEventError extends RapportError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A workflow or program file that does not compile. Stops the build before anything deploys. */
export class ConfigError extends RapportError {
  readonly retryable = false;
  constructor(
    readonly problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(problems.map(formatProblem).join('\n'), options);
  }
}

export interface ConfigProblem {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
  path: string;
  message: string;
}

export const formatProblem = (p: ConfigProblem): string =>
  `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`;

/** Another writer changed the record between our read and our write; read again and retry. */
export class ConcurrencyConflictError extends RapportError {
  readonly retryable = true;
}

/** A dependency failed in a way that may succeed later (throttling, timeouts, 5xx). */
export class TransientError extends RapportError {
  readonly retryable = true;
}

/** A coupon code already belongs to another coupon: the writer moves on to its next code, never shares it. */
export class CouponCodeTakenError extends RapportError {
  readonly retryable = false;
}

/** Something the event refers to is not there (yet): a refund for an order we have not recorded. */
export class NotFoundError extends RapportError {
  readonly retryable = true;
}

/** A redemption the customer cannot make: too few points, a reward of another tier. Nothing was debited. */
export class InsufficientPointsError extends RapportError {
  readonly retryable = false;
}

export class RewardNotAllowedError extends RapportError {
  readonly retryable = false;
}

/** The mail provider answered that it did not take the message (throttled): safe to send again. */
export class MailNotSentError extends RapportError {
  readonly retryable = true;
}

/** The mail provider refuses this message for good (bad address, unverified sender). */
export class MailRejectedError extends RapportError {
  readonly retryable = false;
}

/** Names the generated ASL retries with backoff; everything else is caught and dead-lettered. */
export const RETRYABLE_ERROR_NAMES = [
  'ConcurrencyConflictError',
  'TransientError',
  'NotFoundError',
  'MailNotSentError',
] as const;
