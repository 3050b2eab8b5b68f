/**
 * Every error warmpool throws or queues is a `WarmpoolError` with a stable `code`, so callers (and the pool
 * service, which sends codes over its socket) can branch on the code instead of parsing messages.
 */
export abstract class WarmpoolError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option or argument has a value the pool cannot work with. Thrown at once; nothing is started. */
export class InvalidOptionError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_INVALID_OPTION';

  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`);
  }
}

/** A checkout named a kind the host does not have; the message lists the kinds it has. */
export class UnknownKindError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_UNKNOWN_KIND';

  readonly known: readonly string[];

  constructor(
    readonly kind: string,
    known: readonly string[] | string,
  ) {
    const names = typeof known === 'string' ? [known] : known;
    super(`Unknown kind ${JSON.stringify(kind)}; the kinds are: ${names.map((name) => JSON.stringify(name)).join(', ') || '(none)'}`);
    this.known = names;
  }
}

/** The pool was cleaned up: pending and later `get()` calls reject with this. */
export class PoolClosedError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_POOL_CLOSED';

  constructor(message = 'The pool has been cleaned up') {
    super(message);
  }
}

/**
 * A creation ran past its deadline (it is cancelled and queued as this error), or `cleanup({ timeoutMs })`
 * gave up waiting for workers (thrown by `cleanup`).
 */
export class WorkerTimeoutError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_WORKER_TIMEOUT';

  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** A factory's `createContainer` rejected; the original error is the `cause`. */
export class ContainerCreationError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_CREATION_FAILED';

  constructor(cause: unknown) {
    super(`Container creation failed: ${errorMessage(cause)}`, { cause });
  }
}

/** Destroying a container failed; the pool queues this and carries on. */
export class ContainerDestroyError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_DESTROY_FAILED';

  constructor(
    readonly containerName: string,
    cause: unknown,
  ) {
    super(`Destroying container ${containerName} failed: ${errorMessage(cause)}`, { cause });
  }
}

/** The image (Docker) or base container (LXC) a factory needs cannot be had; every creation fails fast. */
export class ImageUnavailableError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_IMAGE_UNAVAILABLE';

  constructor(
    readonly image: string,
    cause?: unknown,
  ) {
    super(`Image ${image} is not available${cause === undefined ? '' : `: ${errorMessage(cause)}`}`, { cause });
  }
}

/** A container never became ready: it stopped, or its readiness command never succeeded. */
export class ContainerNotReadyError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_NOT_READY';
}

/** No container could be checked out within the time a caller allowed (the scheduler, the ava helper). */
export class CheckoutTimeoutError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_CHECKOUT_TIMEOUT';
}

/**
 * A container of the pool stopped running, or was removed, while it was ready (queued by the pool, which
 * removes and replaces it), or under a caller (thrown by the scheduler): an infrastructure failure.
 */
export class ContainerDiedError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_CONTAINER_DIED';

  constructor(
    readonly containerName: string,
    readonly reason: 'died' | 'removed' | 'not-running',
    readonly exitCode: number | undefined,
    readonly oomKilled: boolean,
  ) {
    super(
      `Container ${containerName} ${reason === 'removed' ? 'was removed' : reason === 'died' ? 'died' : 'is not running'}` +
        `${exitCode === undefined ? '' : ` (exit code ${exitCode})`}${oomKilled ? ', killed by the OOM killer' : ''}`,
    );
  }
}

/**
 * The container engine cannot be reached (socket refused, engine shutting down, lxc tools failing for the
 * lxcpath). The pool treats it as one outage, not as a failure per creation: it does not count toward the
 * hourly throttle.
 */
export class EngineUnavailableError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_ENGINE_UNAVAILABLE';
}

/** Not a failure: queued once when the engine answers again after an EngineUnavailableError, with the outage's length. */
export class EngineRecoveredNotice extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_ENGINE_RECOVERED';

  constructor(readonly outageMs: number) {
    super(`The container engine answers again after an outage of ${outageMs} ms`);
  }
}

/** A container's readiness command failed or ran past its own deadline (`readinessTimeoutMs`). */
export class ReadinessFailedError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_READINESS_FAILED';

  constructor(
    readonly containerName: string,
    readonly command: readonly string[],
    readonly durationMs: number,
    readonly timedOut: boolean,
    /** The last attempt's output (stdout then stderr), trimmed to its last 1,000 characters. */
    readonly lastOutput: string,
    /** The last attempt's exit code, if one finished. */
    readonly lastExitCode?: number,
    /** `cause`: why it failed without timing out (the container stopped, say); its message joins this one. */
    options?: ErrorOptions,
  ) {
    super(
      `Container ${containerName}: readiness command ${JSON.stringify(command)} ` +
        `${timedOut ? 'did not succeed' : 'failed'} after ${durationMs} ms` +
        `${lastExitCode === undefined ? '' : ` (last exit code ${lastExitCode})`}` +
        // typeof: callers in plain JS (and the errors test) may pass anything; a message must still come out.
        `${typeof lastOutput !== 'string' || lastOutput === '' ? '' : `; last output: ${JSON.stringify(lastOutput.slice(-1000))}`}` +
        `${options?.cause === undefined ? '' : `: ${errorMessage(options.cause)}`}`,
      options,
    );
  }
}

/** A backend command or engine call failed. The cause carries the engine's own error. */
export class BackendError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_BACKEND';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'function':
      return `a function (${value.name || 'anonymous'})`;
    case 'string':
      return `\`${JSON.stringify(value)}\` (string)`;
    case 'object': {
      if (value === null) return '`null`';
      let shown: string;
      try {
        shown = JSON.stringify(value);
      } catch {
        shown = Object.prototype.toString.call(value);
      }
      return `\`${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}\` (object)`;
    }
    case 'symbol':
      return `\`${value.toString()}\` (symbol)`;
    default:
      return `\`${String(value)}\` (${typeof value})`;
  }
}
