import { createConnection, type Socket } from 'node:net';
import type { ContainerDescriptor } from '../../lib/container.js';
import { InvalidOptionError, errorMessage } from '../../lib/errors.js';
import { loadEngineConfig } from '../engine-config.js';
import { openBackendContainer } from '../backend.js';
import { LineReader } from '../service/line-reader.js';
import {
  encodeMessage,
  isContainerDescriptor,
  parseResponse,
  type RequestType,
  type ResultByType,
  type ServiceErrorEntry,
  type ServiceResponse,
  type ServiceStatus,
  type SuccessResponse,
} from '../service/protocol.js';
import { ServiceRequestError, ServiceUnavailableError } from '../service/service-errors.js';
import { ServiceContainer } from './service-container.js';

export { ServiceContainer } from './service-container.js';
export type { ServiceStatus, ServiceErrorEntry } from '../service/protocol.js';

export interface PoolClientOptions {
  /** The service's unix socket (see `defaultSocketPath`). */
  readonly socketPath: string;
  /**
   * Docker: the engine socket to reach containers through. @default the one the service reports, else the
   * engine fixtures' default
   */
  readonly dockerSocket?: string;
  /** Aborts connecting. */
  readonly signal?: AbortSignal;
}

export interface ClientGetOptions {
  /** 0 (the default): a ready container or null at once. n: wait up to n ms. Infinity: until one is ready. */
  readonly timeoutMs?: number;
  /** Aborting it withdraws the request; a container that arrives anyway is released. */
  readonly signal?: AbortSignal;
  /** Keep the container when this client disconnects without releasing it. @default false */
  readonly keep?: boolean;
  /** The kind of container; an unknown kind fails with ERR_WARMPOOL_UNKNOWN_KIND, naming the kinds. @default the service's first kind */
  readonly kind?: string;
}

interface Pending {
  readonly type: RequestType;
  readonly resolve: (response: SuccessResponse) => void;
  readonly reject: (error: Error) => void;
}

/** Responses carry every queued error, so they may be long; still bounded. */
const maxResponseBytes = 16 * 1024 * 1024;

/**
 * A client of the pool service (`warmpool serve`) over its unix socket. One connection; requests run
 * concurrently. Containers it gets belong to this connection: closing the client (or the process dying)
 * makes the service destroy those not asked to be kept.
 */
export class PoolClient implements AsyncDisposable {
  readonly socketPath: string;
  readonly #socket: Socket;
  readonly #dockerSocket: string | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #reader = new LineReader(maxResponseBytes);
  #nextId = 1;
  #closedError: ServiceUnavailableError | undefined;
  /**
   * The service's answer about the connection itself (id null): a limit it hit (too many connections, a line
   * too slow, answers left unread), said just before the service closes it. Requests still pending then fail
   * with its code rather than a bare "connection closed".
   */
  #lastWord: { readonly code: string; readonly message: string } | undefined;
  /** Whether any answer came at all: a connection closed before the first one was likely refused. */
  #answered = false;
  readonly #closed: Promise<void>;

  private constructor(socket: Socket, options: PoolClientOptions) {
    this.socketPath = options.socketPath;
    this.#socket = socket;
    this.#dockerSocket = options.dockerSocket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined);
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        const word = this.#lastWord;
        const why = word
          ? `: ${word.message} (${word.code})`
          : this.#answered
            ? ''
            : ' before answering anything (it may be at its connection limit, or out of file descriptors: see its log)';
        this.#fail(new ServiceUnavailableError(this.socketPath, `The connection to the warmpool service at ${this.socketPath} closed${why}`), word);
        resolve();
      });
    });
  }

  /** Connects to the service. Rejects with ServiceUnavailableError when nothing answers at `socketPath`. */
  static connect(options: PoolClientOptions): Promise<PoolClient> {
    const { socketPath, signal } = options;
    if (typeof socketPath !== 'string' || socketPath === '') throw new InvalidOptionError('socketPath', socketPath, 'the path of the service socket');
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const onAbort = (): void => {
        socket.destroy();
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        signal?.removeEventListener('abort', onAbort);
        reject(unavailable(socketPath, error));
      });
      socket.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(new PoolClient(socket, options));
      });
    });
  }

  /** True once the connection has closed (by `close()` or the service going away). */
  get isClosed(): boolean {
    return this.#closedError !== undefined;
  }

  /** Checks out a container, or null when none was ready within `timeoutMs`. */
  async get(options: ClientGetOptions = {}): Promise<ServiceContainer | null> {
    const { timeoutMs = 0, signal, keep = false, kind } = options;
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      throw new InvalidOptionError('timeoutMs', timeoutMs, 'a number of milliseconds from 0 up (Infinity allowed)');
    }
    if (typeof keep !== 'boolean') throw new InvalidOptionError('keep', keep, 'a boolean');
    if (kind !== undefined && (typeof kind !== 'string' || kind === '')) throw new InvalidOptionError('kind', kind, 'a kind name');
    signal?.throwIfAborted();
    const { id, response } = this.#send('get', { timeoutMs: timeoutMs === Infinity ? null : timeoutMs, keep, ...(kind === undefined ? {} : { kind }) });
    if (!signal) return this.#toContainer(await response);
    // Set as soon as the answer is in, before the race below settles: an abort after that point changes nothing.
    let answered = false;
    response.then(
      () => (answered = true),
      () => (answered = true),
    );
    let onAbort!: () => void;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        if (answered) return;
        reject(signal.reason as Error);
        // Withdraw the request; if a container was already on its way, hand it straight back.
        this.#send('cancel', { target: id }).response.catch(() => undefined);
        response.then(
          (result) => {
            if (isContainerDescriptor(result.container)) void this.releaseById(result.container.id).catch(() => undefined);
          },
          () => undefined,
        );
      };
    });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return this.#toContainer(await Promise.race([response, aborted]));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async status(): Promise<ServiceStatus> {
    const { status } = await this.#send('status', {}).response;
    if (typeof status !== 'object' || (status as unknown) === null) throw this.#protocolError('status', 'no status object');
    return status;
  }

  /** Drains the service's error queue: every error since the last call, oldest first. */
  async errors(): Promise<ServiceErrorEntry[]> {
    const { errors } = await this.#send('errors', {}).response;
    if (!Array.isArray(errors)) throw this.#protocolError('errors', 'no errors array');
    return errors;
  }

  /** Has the service destroy a container this client holds (or one someone kept). */
  async release(container: ServiceContainer | ContainerDescriptor): Promise<void> {
    if (container instanceof ServiceContainer) return container.destroy();
    if (!isContainerDescriptor(container)) throw new InvalidOptionError('container', container, 'a ServiceContainer or a ContainerDescriptor');
    return this.releaseById(container.id);
  }

  /** `release` by container id or name; rejects with ServiceRequestError (ERR_WARMPOOL_NOT_HELD) if not held. */
  async releaseById(id: string): Promise<void> {
    await this.#send('release', { container: id }).response;
  }

  /** Asks the service to shut down; resolves once it has cleaned up (before its process exits). */
  async shutdown(): Promise<ResultByType['shutdown']> {
    const { destroyed, kept, notRemoved } = await this.#send('shutdown', {}).response;
    return { destroyed, kept, notRemoved: Array.isArray(notRemoved) ? notRemoved : [] };
  }

  /** Closes the connection. The service destroys the containers this client holds, unless kept. */
  async close(): Promise<void> {
    if (!this.isClosed) this.#socket.end();
    const forced = setTimeout(() => this.#socket.destroy(), 2000);
    await this.#closed;
    clearTimeout(forced);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #send<T extends RequestType>(type: T, fields: object): { id: number; response: Promise<SuccessResponse<T>> } {
    const id = this.#nextId++;
    const response = new Promise<SuccessResponse<T>>((resolve, reject) => {
      if (this.#closedError) {
        reject(this.#closedError);
        return;
      }
      this.#pending.set(id, { type, resolve: resolve as (response: SuccessResponse) => void, reject });
      this.#socket.write(encodeMessage({ id, type, ...fields }));
    });
    return { id, response };
  }

  #toContainer(result: ResultByType['get']): ServiceContainer | null {
    if (result.container === null) return null;
    if (!isContainerDescriptor(result.container)) throw this.#protocolError('get', 'no container descriptor');
    const descriptor = result.container;
    const dockerSocket = this.#dockerSocket ?? result.dockerSocket ?? loadEngineConfig().dockerSocket;
    const handle = openBackendContainer(descriptor, { dockerSocket });
    return new ServiceContainer(descriptor, handle, this);
  }

  #onData(chunk: Buffer): void {
    for (const event of this.#reader.push(chunk)) {
      if (event.kind === 'overflow') {
        this.#fail(new ServiceUnavailableError(this.socketPath, `The service sent a line over ${maxResponseBytes} bytes`));
        this.#socket.destroy();
        return;
      }
      let response: ServiceResponse;
      try {
        response = parseResponse(event.line);
      } catch (error) {
        this.#fail(new ServiceUnavailableError(this.socketPath, `The service sent a malformed response: ${errorMessage(error)}`));
        this.#socket.destroy();
        return;
      }
      this.#settle(response);
    }
  }

  #settle(response: ServiceResponse): void {
    this.#answered = true;
    if (response.id === null && !response.ok) this.#lastWord = response.error;
    const pending = typeof response.id === 'number' ? this.#pending.get(response.id) : undefined;
    // An answer to no request of ours can only be one the service could not attribute to a request; if it
    // means the connection is closing, the close fails what is pending.
    if (!pending) return;
    this.#pending.delete(response.id as number);
    if (response.ok) pending.resolve(response);
    else pending.reject(new ServiceRequestError(response.error.code, response.error.message, pending.type));
  }

  #protocolError(type: RequestType, problem: string): ServiceRequestError {
    return new ServiceRequestError('ERR_WARMPOOL_BAD_RESPONSE', `The service's ${type} response has ${problem}`, type);
  }

  /** The connection is over: later requests fail with `error`; pending ones with the service's last word if any. */
  #fail(error: Error, lastWord?: { readonly code: string; readonly message: string }): void {
    this.#closedError ??=
      error instanceof ServiceUnavailableError ? error : new ServiceUnavailableError(this.socketPath, error.message, { cause: error });
    for (const pending of this.#pending.values()) {
      pending.reject(lastWord ? new ServiceRequestError(lastWord.code, lastWord.message, pending.type) : error);
    }
    this.#pending.clear();
  }
}

function unavailable(socketPath: string, error: NodeJS.ErrnoException): ServiceUnavailableError {
  const reason =
    error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
      ? 'no service is listening there (start one with `warmpool serve`)'
      : error.code === 'EACCES'
        ? 'permission denied (the socket is private to the user who started the service)'
        : error.message;
  return new ServiceUnavailableError(socketPath, `Cannot reach the warmpool service at ${socketPath}: ${reason}`, { cause: error });
}
