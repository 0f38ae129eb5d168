/**
 * Fireline's thrown errors: a small family with stable codes, never matched by message text.
 * Expected outcomes (a failed check, a rule that does not hold) are values, not errors.
 */
export class FirelineError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A runbook file that does not load; `issues` carry file, line and path. */
export class RunbookValidationError extends FirelineError {
  readonly issues: { file: string; line?: number; column?: number; path: string; message: string }[];
  constructor(issues: RunbookValidationError['issues']) {
    super(
      'RUNBOOK_INVALID',
      issues
        .map((i) => `${i.file}${i.line ? `:${i.line}` : ''}: ${i.path ? `${i.path}: ` : ''}${i.message}`)
        .join('\n'),
    );
    this.issues = issues;
  }
}

/** Talking to the outside failed. `retryable` says whether another attempt may succeed. */
export class AdapterError extends FirelineError {
  readonly adapter: string;
  readonly retryable: boolean;
  /** Set when the remote asked us to slow down (HTTP 429 Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
  constructor(
    adapter: string,
    message: string,
    opts: { retryable: boolean; retryAfterMs?: number; cause?: unknown } = { retryable: false },
  ) {
    super('ADAPTER_FAILED', `${adapter}: ${message}`, { cause: opts.cause });
    this.adapter = adapter;
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Configuration that cannot be used; the message names the variable. */
export class ConfigError extends FirelineError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** An operation that the incident's state does not allow (approve twice, resolve a resolved one). */
export class InvalidOperationError extends FirelineError {
  constructor(message: string) {
    super('INVALID_OPERATION', message);
  }
}

/** The named incident, runbook or step does not exist. */
export class NotFoundError extends FirelineError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

/**
 * Fireline's own data does not hold together (a job names a step its runbook lacks). Another
 * attempt cannot succeed: the workers fail such a job at once (BullMQ's UnrecoverableError).
 */
export class InvariantError extends FirelineError {
  constructor(message: string) {
    super('INVARIANT', message);
  }
}
