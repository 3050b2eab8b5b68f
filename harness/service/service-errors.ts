import { WarmpoolError } from '../../lib/errors.js';

/**
 * Errors of the pool service and its client. They live beside the service rather than in `lib/errors.ts`
 * because the library never throws them; their codes are as stable as the library's.
 */

/** Codes a service sends in `{ ok: false, error: { code } }` besides the library's own (e.g. POOL_CLOSED). */
export const serviceErrorCodes = {
  /** Not JSON, not an object, a field of the wrong type, an unknown field, a duplicate request id. */
  badRequest: 'ERR_WARMPOOL_BAD_REQUEST',
  /** `type` names no request the service knows. */
  unknownRequest: 'ERR_WARMPOOL_UNKNOWN_REQUEST',
  /** A line longer than the service accepts; the connection is closed after this response. */
  lineTooLong: 'ERR_WARMPOOL_LINE_TOO_LONG',
  /** The connection ended in the middle of a line: the request was not run. */
  incompleteLine: 'ERR_WARMPOOL_INCOMPLETE_LINE',
  /** `release` named a container this connection does not hold (and that nobody kept). */
  notHeld: 'ERR_WARMPOOL_NOT_HELD',
  /** A waiting `get` was withdrawn before a container came: a `cancel` request, or the client's end of stream. */
  cancelled: 'ERR_WARMPOOL_CANCELLED',
  /** The service is shutting down and takes no new requests. */
  shuttingDown: 'ERR_WARMPOOL_SHUTTING_DOWN',
  /** A bug in the service; the request failed, the service carries on. */
  internal: 'ERR_WARMPOOL_INTERNAL',
  /**
   * The service holds as many connections as it may (`--max-connections`, or fewer when the file-descriptor
   * limit leaves room for fewer): the new connection gets this answer and is closed. Try again later.
   */
  tooManyConnections: 'ERR_WARMPOOL_TOO_MANY_CONNECTIONS',
  /** This connection already has `--max-waiting-gets` gets waiting; this one is refused, the connection stays. */
  tooManyWaiting: 'ERR_WARMPOOL_TOO_MANY_WAITING',
  /** More than `--max-unread-bytes` of answers wait for the client to read them; the connection is closed. */
  unreadLimit: 'ERR_WARMPOOL_UNREAD_LIMIT',
  /** A line was begun and not finished within `--line-timeout-ms`; the connection is closed. */
  lineTimeout: 'ERR_WARMPOOL_LINE_TIMEOUT',
} as const;

export type ServiceErrorCode = (typeof serviceErrorCodes)[keyof typeof serviceErrorCodes];

/** No service answers on the socket (missing, refused, permission denied), or the connection to it was lost. */
export class ServiceUnavailableError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_SERVICE_UNAVAILABLE';

  constructor(
    readonly socketPath: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** `warmpool serve` found another service holding its socket's lock, or a live one answering on the socket. */
export class ServiceRunningError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_SERVICE_RUNNING';

  constructor(
    readonly socketPath: string,
    /** The other service's pid, when its lock file names it. */
    readonly pid?: number,
  ) {
    super(
      `A warmpool service${pid === undefined ? '' : ` (pid ${pid})`} is already listening on ${socketPath}; ` +
        `stop it first (warmpool stop --socket ${socketPath})`,
    );
  }
}

/** The service answered a request with `ok: false`; `code` is the service's code (see `serviceErrorCodes`). */
export class ServiceRequestError extends WarmpoolError {
  constructor(
    readonly code: string,
    message: string,
    readonly requestType: string,
  ) {
    super(message);
  }
}
