import type { Socket } from 'node:net';
import type { Clock } from '../../lib/clock.js';
import type { PoolLogger } from '../../lib/logger.js';
import { GetTurns, type GetTurn } from './get-turns.js';
import { LineReader } from './line-reader.js';
import {
  RequestParseError,
  encodeMessage,
  failure,
  parseRequest,
  type FailureResponse,
  type RequestId,
  type ServiceRequest,
} from './protocol.js';
import { serviceErrorCodes } from './service-errors.js';

/** A request's outcome minus the envelope: the result fields, or a failure. */
export type Outcome = { readonly ok: true; readonly result: object } | { readonly ok: false; readonly code: string; readonly message: string };

/** What one connection may hold; each has a `serve` flag (see service-config.ts). */
export interface ConnectionLimits {
  /** Longest request line; a longer one gets ERR_WARMPOOL_LINE_TOO_LONG and the connection is closed. */
  readonly maxLineBytes: number;
  /** Gets waiting at once (in the pool or behind the connection's earlier ones); more get ERR_WARMPOOL_TOO_MANY_WAITING. */
  readonly maxWaitingGets: number;
  /** Answers written and not yet read by the client; past this, ERR_WARMPOOL_UNREAD_LIMIT and the connection is closed. */
  readonly maxUnreadBytes: number;
  /** A line begun must end within this; else ERR_WARMPOOL_LINE_TIMEOUT and the connection is closed. */
  readonly lineTimeoutMs: number;
}

export interface ConnectionHost {
  readonly logger: PoolLogger;
  readonly clock: Clock;
  readonly limits: ConnectionLimits;
  handle(request: ServiceRequest, connection: ServiceConnection): Promise<Outcome>;
  connectionClosed(connection: ServiceConnection): void;
  /** A limit was hit: count it and log it (rate-limited); the connection has answered with `code` already. */
  limitHit(connection: ServiceConnection, code: string, message: string): void;
}

/** Why a waiting get was withdrawn before a container came: a `cancel` request, or the client's end of stream. */
export class GetCancelledError extends Error {}

/** After a limit closes a connection, how long its last answer gets to reach a client that may still read it. */
const closeGraceMs = 1000;

let lastConnectionId = 0;

/**
 * One client connection: framing (bounded lines), request bookkeeping and its waiting `get`s (in line behind
 * each other, see get-turns.ts). Requests run concurrently; each answer is written when it is ready. When the
 * peer ends its side, its waiting gets are withdrawn, the other requests are answered, and then the
 * connection closes.
 *
 * Back-pressure: when the socket cannot take an answer at once (the client is slow to read), the connection
 * stops reading requests until the answers drain, so a client that floods without reading only slows itself
 * down. Answers to requests already taken in may still pile up; past `maxUnreadBytes` the connection is closed.
 */
export class ServiceConnection {
  readonly id = ++lastConnectionId;
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #reader: LineReader;
  /** Ids of requests being run, to refuse a duplicate id and to know when the connection is idle. */
  readonly #running = new Set<RequestId>();
  readonly #gets: GetTurns;
  #closed = false;
  #endWhenIdle = false;
  #ending = false;
  /** Set while the client has not read what we wrote: reading is paused until the socket drains. */
  #awaitingDrain = false;
  /** Runs while a line is unfinished; see `lineTimeoutMs`. */
  #lineTimer: unknown;

  constructor(socket: Socket, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    this.#reader = new LineReader(host.limits.maxLineBytes);
    this.#gets = new GetTurns(host.clock, host.limits.maxWaitingGets);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onPeerEnd());
    socket.on('error', (error) => host.logger.debug(`connection ${this.id}: ${error.message}`));
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#onDrain());
  }

  /** True once the socket has closed: nothing more can be sent or received. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether a response written now would reach the peer's side of the socket. */
  get isWritable(): boolean {
    return !this.#closed && !this.#ending && this.#socket.writable;
  }

  /** Gets of this connection waiting (in the pool, or behind its earlier gets). */
  get waitingGets(): number {
    return this.#gets.count;
  }

  /**
   * Puts a `get` in this connection's line (see GetTurns); undefined when the connection already has
   * `maxWaitingGets` of them. The caller must call `finish()` on the turn once the get is answered.
   */
  enterGet(requestId: RequestId, timeoutMs: number): GetTurn | undefined {
    return this.#gets.enter(requestId, timeoutMs);
  }

  /** Withdraws the waiting `get` with this id; false if there is none. */
  cancelGet(requestId: RequestId, reason: unknown): boolean {
    return this.#gets.cancel(requestId, reason);
  }

  /** Ends the connection once its running requests are answered (at shutdown). */
  endWhenIdle(): void {
    this.#endWhenIdle = true;
    this.#endIfIdle();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /**
   * Answers with `code` (id null: it concerns the connection, not a request), stops reading and closes once
   * the answer is written, or after a short grace for a client that does not read. Its waiting gets are
   * withdrawn and its unkept containers destroyed, as on any close.
   */
  refuse(code: string, message: string): void {
    if (this.#ending || this.#closed) return;
    if (this.#socket.writable) this.#socket.write(encodeMessage(failure(null, code, message)));
    this.#host.limitHit(this, code, message);
    this.#socket.pause();
    this.#closeAfterFlush(closeGraceMs);
  }

  #onData(chunk: Buffer): void {
    for (const event of this.#reader.push(chunk)) {
      if (this.#ending) return;
      if (event.kind === 'overflow') {
        // Whatever follows belongs to the oversized line, so the stream cannot be trusted any more.
        this.refuse(serviceErrorCodes.lineTooLong, `A line longer than ${this.#host.limits.maxLineBytes} bytes; the connection is closed`);
        return;
      }
      if (event.line.length > 0) this.#onLine(event.line);
    }
    this.#watchUnfinishedLine();
  }

  /**
   * A line must be finished within `lineTimeoutMs` of the chunk that began it (later chunks of the same line
   * do not extend it), so a client that sends half a request, or trickles it a byte at a time, cannot hold a
   * connection forever.
   */
  #watchUnfinishedLine(): void {
    const { clock, limits } = this.#host;
    if (this.#reader.pendingBytes === 0 || this.#ending || this.#closed) {
      if (this.#lineTimer !== undefined) clock.clearTimeout(this.#lineTimer);
      this.#lineTimer = undefined;
      return;
    }
    if (this.#lineTimer !== undefined || !Number.isFinite(limits.lineTimeoutMs)) return;
    this.#lineTimer = clock.setTimeout(() => {
      this.#lineTimer = undefined;
      this.refuse(serviceErrorCodes.lineTimeout, `A line was begun and not finished within ${limits.lineTimeoutMs} ms; the connection is closed`);
    }, limits.lineTimeoutMs);
  }

  #onLine(line: Buffer): void {
    let request: ServiceRequest;
    try {
      request = parseRequest(line);
    } catch (error) {
      const parseError = error as RequestParseError;
      this.#send(failure(parseError.id, parseError.code, parseError.message));
      return;
    }
    if (this.#running.has(request.id)) {
      this.#send(failure(request.id, serviceErrorCodes.badRequest, `Request id ${JSON.stringify(request.id)} is already in use on this connection`));
      return;
    }
    this.#running.add(request.id);
    void this.#run(request);
  }

  async #run(request: ServiceRequest): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.#host.handle(request, this);
    } catch (error) {
      // The host turns every expected failure into an outcome; this is a bug, and it must not stop the service.
      this.#host.logger.error(`connection ${this.id}: ${request.type} request failed unexpectedly`, error);
      outcome = { ok: false, code: serviceErrorCodes.internal, message: `Internal error: ${(error as Error).message}` };
    }
    this.#send(outcome.ok ? { id: request.id, ok: true, ...outcome.result } : failure(request.id, outcome.code, outcome.message));
    this.#running.delete(request.id);
    this.#endIfIdle();
  }

  #onPeerEnd(): void {
    const rest = this.#reader.end();
    this.#watchUnfinishedLine();
    if (rest !== undefined) this.#send(incompleteLine(rest));
    // A client killed while waiting looks exactly like one that half-closed: both are an end of stream. So the
    // end of stream withdraws the gets still waiting (a client must keep its side open while it waits); the
    // requests already being answered still get their answer before the connection closes.
    this.#gets.cancelAll(new GetCancelledError('The request was withdrawn: the client ended its side of the connection while waiting'), true);
    this.#endWhenIdle = true;
    this.#endIfIdle();
  }

  #endIfIdle(): void {
    if (this.#endWhenIdle && this.#running.size === 0 && !this.#closed) this.#closeAfterFlush();
  }

  /**
   * Ends our side and destroys the socket once written out, so a peer that never ends cannot keep it half
   * open. With `graceMs` (a refused connection), a peer that does not read its last answer within that long is
   * cut off; a peer that ended its side normally is given the time it takes.
   */
  #closeAfterFlush(graceMs?: number): void {
    if (this.#ending) return;
    this.#ending = true;
    const { clock } = this.#host;
    const cut = graceMs === undefined ? undefined : clock.setTimeout(() => this.#socket.destroy(), graceMs);
    this.#socket.end(() => {
      if (cut !== undefined) clock.clearTimeout(cut);
      this.#socket.destroy();
    });
  }

  #send(message: object): void {
    if (!this.isWritable) return;
    const taken = this.#socket.write(encodeMessage(message));
    if (this.#socket.writableLength > this.#host.limits.maxUnreadBytes) {
      this.refuse(serviceErrorCodes.unreadLimit, `More than ${this.#host.limits.maxUnreadBytes} bytes of answers are waiting to be read; the connection is closed`);
      return;
    }
    if (!taken && !this.#awaitingDrain) {
      this.#awaitingDrain = true;
      this.#socket.pause();
    }
  }

  #onDrain(): void {
    if (!this.#awaitingDrain) return;
    this.#awaitingDrain = false;
    if (!this.#ending) this.#socket.resume();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchUnfinishedLine();
    this.#gets.cancelAll(new Error('The connection closed'), true);
    this.#host.connectionClosed(this);
  }
}

/** The answer to a line cut short by the end of the stream: names its request when the fragment shows it. */
function incompleteLine(rest: Buffer): FailureResponse {
  let id: RequestId | null = null;
  try {
    id = parseRequest(rest).id;
  } catch (error) {
    if (error instanceof RequestParseError) id = error.id;
  }
  return failure(id, serviceErrorCodes.incompleteLine, 'The connection ended in the middle of a line (no newline); the request was not run');
}
