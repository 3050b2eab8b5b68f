import type { Socket } from 'node:net';
import type { PoolLogger } from '../../lib/logger.js';
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

export interface ConnectionHost {
  readonly logger: PoolLogger;
  readonly maxLineBytes: number;
  handle(request: ServiceRequest, connection: ServiceConnection): Promise<Outcome>;
  connectionClosed(connection: ServiceConnection): void;
}

/** Why a waiting get was withdrawn before a container came: a `cancel` request, or the client's end of stream. */
export class GetCancelledError extends Error {}

/** A peer that stops reading must not make us buffer responses without limit. */
const maxBufferedResponseBytes = 4 * 1024 * 1024;

let lastConnectionId = 0;

/**
 * One client connection: framing (bounded lines), request bookkeeping and its waiting `get`s. Requests run
 * concurrently; each answer is written when it is ready. When the peer ends its side, its waiting gets are
 * withdrawn, the other requests are answered, and then the connection closes.
 */
export class ServiceConnection {
  readonly id = ++lastConnectionId;
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #reader: LineReader;
  /** Ids of requests being run, to refuse a duplicate id and to know when the connection is idle. */
  readonly #running = new Set<RequestId>();
  /** The abort controllers of this connection's waiting `get`s, by request id. */
  readonly #gets = new Map<RequestId, AbortController>();
  #closed = false;
  #endWhenIdle = false;
  #ending = false;

  constructor(socket: Socket, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    this.#reader = new LineReader(host.maxLineBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onPeerEnd());
    socket.on('error', (error) => host.logger.debug(`connection ${this.id}: ${error.message}`));
    socket.on('close', () => this.#onClose());
  }

  /** True once the socket has closed: nothing more can be sent or received. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether a response written now would reach the peer's side of the socket. */
  get isWritable(): boolean {
    return !this.#closed && this.#socket.writable;
  }

  /** Registers a waiting `get`; the controller aborts when the connection closes or the get is cancelled. */
  trackGet(requestId: RequestId): AbortController {
    const controller = new AbortController();
    this.#gets.set(requestId, controller);
    if (this.#closed) controller.abort(new Error('The connection closed'));
    return controller;
  }

  untrackGet(requestId: RequestId): void {
    this.#gets.delete(requestId);
  }

  /** Aborts the waiting `get` with this id; false if there is none. */
  cancelGet(requestId: RequestId, reason: unknown): boolean {
    const controller = this.#gets.get(requestId);
    if (!controller) return false;
    controller.abort(reason);
    return true;
  }

  /** Ends the connection once its running requests are answered (at shutdown). */
  endWhenIdle(): void {
    this.#endWhenIdle = true;
    this.#endIfIdle();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    for (const event of this.#reader.push(chunk)) {
      if (event.kind === 'overflow') {
        this.#host.logger.warn(`connection ${this.id}: a line of more than ${this.#host.maxLineBytes} bytes; closing it`);
        this.#send(failure(null, serviceErrorCodes.lineTooLong, `A line longer than ${this.#host.maxLineBytes} bytes; the connection is closed`));
        // Whatever follows belongs to the oversized line, so the stream cannot be trusted any more: close it once
        // the error is flushed. Its waiting gets are aborted and its unkept containers destroyed, as on any close.
        this.#socket.pause();
        this.#closeAfterFlush();
        return;
      }
      if (event.line.length > 0) this.#onLine(event.line);
    }
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
    if (rest !== undefined) this.#send(incompleteLine(rest));
    // A client killed while waiting looks exactly like one that half-closed: both are an end of stream. So the
    // end of stream withdraws the gets still waiting (a client must keep its side open while it waits); the
    // requests already being answered still get their answer before the connection closes.
    for (const [id, controller] of this.#gets) {
      controller.abort(new GetCancelledError(`Request ${JSON.stringify(id)} was withdrawn: the client ended its side of the connection while waiting`));
    }
    this.#endWhenIdle = true;
    this.#endIfIdle();
  }

  #endIfIdle(): void {
    if (this.#endWhenIdle && this.#running.size === 0 && !this.#closed) this.#closeAfterFlush();
  }

  /** Ends our side and destroys the socket once written out, so a peer that never ends cannot keep it half open. */
  #closeAfterFlush(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#socket.end(() => this.#socket.destroy());
  }

  #send(message: object): void {
    if (!this.isWritable) return;
    this.#socket.write(encodeMessage(message));
    if (this.#socket.writableLength > maxBufferedResponseBytes) {
      this.#host.logger.warn(`connection ${this.id}: the peer is not reading its responses; closing it`);
      this.#socket.destroy();
    }
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#gets.values()) controller.abort(new Error('The connection closed'));
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
