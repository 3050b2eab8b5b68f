import { createServer, type Server, type Socket } from 'node:net';
import PQueue from 'p-queue';
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import type { Container, ContainerDescriptor, RunnableContainer } from '../../lib/container.js';
import { ErrorQueue } from '../../lib/error-queue.js';
import { ContainerDestroyError, WarmpoolError, errorMessage } from '../../lib/errors.js';
import { createLogger, type PoolLogger } from '../../lib/logger.js';
import type { Pool } from '../../lib/pool.js';
import type { BackendName } from '../backend.js';
import { GetCancelledError, ServiceConnection, type ConnectionHost, type Outcome } from './connection.js';
import { HeldContainers } from './held-containers.js';
import type { GetRequest, ServiceErrorEntry, ServiceRequest, ServiceStatus } from './protocol.js';
import { serviceErrorCodes } from './service-errors.js';
import { listenOnSocket, type SocketFile } from './socket-file.js';

export interface PoolServiceOptions<C extends Container> {
  readonly pool: Pool<C>;
  readonly backend: BackendName;
  readonly poolId: string;
  readonly socketPath: string;
  /** How a container is described to clients. @default the container's own `describe()` */
  readonly describe?: (container: C) => ContainerDescriptor;
  /** Docker: the engine socket, sent with each container so clients reach the engine the service uses. */
  readonly dockerSocket?: string;
  readonly logger?: PoolLogger;
  /** Longest request line accepted; a longer one gets an error and its connection is closed. @default 65_536 */
  readonly maxLineBytes?: number;
  /** Errors kept for `errors` requests; older ones are dropped (and counted). @default 1000 */
  readonly errorCapacity?: number;
  /** At shutdown, how long to wait for cancelled creations to wind down. @default 30_000 */
  readonly cleanupTimeoutMs?: number;
  readonly clock?: Clock;
}

/** Why the service destroyed a container it had handed out. */
export type ServiceDestroyReason = 'released' | 'disconnected' | 'abandoned' | 'shutdown';

export interface ServiceEvents {
  destroy: { readonly reason: ServiceDestroyReason; readonly ok: boolean };
}

export interface ShutdownReport {
  /** Containers handed out that the service destroyed at shutdown. */
  readonly destroyed: number;
  /** Kept containers left running. */
  readonly kept: number;
  /** Whether everything was cleaned up without an error. */
  readonly clean: boolean;
}

/** Destroys at once when a connection with many containers goes or the service shuts down. */
const destroyConcurrency = 4;
/** How long connections get to read their last answers at shutdown before they are cut. */
const closeGraceMs = 2000;

/**
 * The pool service: one pool shared by many client processes over a unix socket (see protocol.ts). It hands
 * out containers first come, first served across all connections (it passes each `get` to the pool, whose
 * waiter queue is FIFO), remembers which connection holds which container, and cleans up after clients that
 * go away. It never stops for bad input: every line gets an answer or, if oversized, a closed connection.
 */
export class PoolService<C extends Container = RunnableContainer> implements ConnectionHost {
  readonly logger: PoolLogger;
  readonly maxLineBytes: number;
  /** Set by whoever serves metrics, for `status`. */
  metricsUrl: string | null = null;
  readonly #options: PoolServiceOptions<C>;
  readonly #pool: Pool<C>;
  readonly #clock: Clock;
  readonly #held = new HeldContainers<C>();
  readonly #errors: ErrorQueue;
  readonly #connections = new Set<ServiceConnection>();
  readonly #destroys = new Set<Promise<void>>();
  readonly #listeners = new Set<(event: ServiceEvents['destroy']) => void>();
  readonly #server: Server;
  readonly #unsubscribe: (() => void)[];
  #socketFile: SocketFile | undefined;
  #shutdown: Promise<ShutdownReport> | undefined;
  #resolveClosed!: (report: ShutdownReport) => void;
  /** Settles when the service has shut down, whoever asked (a signal, a `shutdown` request). */
  readonly closed: Promise<ShutdownReport>;

  constructor(options: PoolServiceOptions<C>) {
    this.#options = options;
    this.#pool = options.pool;
    this.#clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger({ name: 'warmpool-service' });
    this.maxLineBytes = options.maxLineBytes ?? 64 * 1024;
    this.#errors = new ErrorQueue(options.errorCapacity ?? 1000);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    // allowHalfOpen: a client may send its requests and shut its side (`... | nc -U`) and still read the answers.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => this.logger.error('service socket error', error));
    // The pool's error queue has nobody else to drain it: move each failure into the service's copy as it
    // happens, with a log line, so `errors` can hand it out and the pool's own queue never overflows.
    this.#unsubscribe = [
      this.#pool.on('creation', (event) => {
        if (event.outcome !== 'created') this.#collectPoolErrors();
      }),
      this.#pool.on('destroy', (event) => {
        if (!event.ok) this.#collectPoolErrors();
      }),
    ];
  }

  get socketPath(): string {
    return this.#options.socketPath;
  }

  get isShuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** Subscribes to the service's own destroys (the pool's are `pool.on('destroy')`); returns the unsubscribe. */
  on(_name: 'destroy', listener: (event: ServiceEvents['destroy']) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Binds the socket (mode 0600; a stale socket is replaced, a live one refused with ServiceRunningError). */
  async listen(): Promise<void> {
    this.#socketFile = await listenOnSocket(this.#server, this.#options.socketPath);
    this.logger.info(`serving pool ${this.#options.poolId} (${this.#options.backend}) on ${this.#options.socketPath}`);
  }

  status(): ServiceStatus {
    this.#collectPoolErrors();
    return {
      backend: this.#options.backend,
      poolId: this.#options.poolId,
      ready: this.#pool.size,
      capacity: this.#pool.capacity,
      workers: this.#pool.workerCount,
      waiting: this.#pool.waiting,
      throttled: this.#pool.isThrottled,
      errors: this.#errors.length,
      errorsDropped: this.#errors.dropped,
      held: this.#held.size,
      kept: this.#held.keptCount,
      connections: this.#connections.size,
      pid: process.pid,
      metricsUrl: this.metricsUrl,
    };
  }

  /**
   * Stops accepting connections and requests, rejects waiting gets (the pool is cleaned up, which also destroys
   * its ready containers and cancels creations), destroys handed-out containers not kept, removes the socket
   * file and closes the connections once their last answers are written. Idempotent.
   */
  shutdown(): Promise<ShutdownReport> {
    this.#shutdown ??= this.#shutDown();
    return this.#shutdown;
  }

  async handle(request: ServiceRequest, connection: ServiceConnection): Promise<Outcome> {
    if (this.isShuttingDown && request.type !== 'shutdown') {
      return { ok: false, code: serviceErrorCodes.shuttingDown, message: 'The service is shutting down' };
    }
    switch (request.type) {
      case 'get':
        return this.#get(request, connection);
      case 'release':
        return this.#release(request.container, connection);
      case 'cancel': {
        const reason = new GetCancelledError(`Request ${JSON.stringify(request.target)} was cancelled`);
        return { ok: true, result: { cancelled: connection.cancelGet(request.target, reason) } };
      }
      case 'status':
        return { ok: true, result: { status: this.status() } };
      case 'errors':
        return { ok: true, result: this.#drainErrors() };
      case 'shutdown': {
        this.logger.info(`connection ${connection.id} asked the service to shut down`);
        const { destroyed, kept } = await this.shutdown();
        return { ok: true, result: { destroyed, kept } };
      }
    }
  }

  /** A connection closed: its waiting gets were aborted already; its unkept containers are destroyed. */
  connectionClosed(connection: ServiceConnection): void {
    this.#connections.delete(connection);
    const orphans = this.#held.releaseOwner(connection.id);
    if (orphans.length > 0) {
      this.logger.info(`connection ${connection.id} closed holding ${orphans.length} container(s); destroying them`);
    }
    for (const entry of orphans) void this.#destroy(entry.container, 'disconnected');
  }

  #accept(socket: Socket): void {
    if (this.isShuttingDown) {
      socket.destroy();
      return;
    }
    this.#connections.add(new ServiceConnection(socket, this));
  }

  async #get(request: GetRequest, connection: ServiceConnection): Promise<Outcome> {
    const timeoutMs = request.timeoutMs === null ? Infinity : (request.timeoutMs ?? 0);
    const controller = connection.trackGet(request.id);
    let container: C | null;
    try {
      container = await this.#pool.get({ timeoutMs, signal: controller.signal });
    } catch (error) {
      if (error instanceof GetCancelledError) return { ok: false, code: serviceErrorCodes.cancelled, message: error.message };
      return failureOf(error);
    } finally {
      connection.untrackGet(request.id);
    }
    if (container === null) return { ok: true, result: { container: null } };
    if (!connection.isWritable || this.isShuttingDown) {
      // The container came for a connection that has gone (or during shutdown). It is destroyed rather than
      // handed back: the pool cannot take a container back, and it refills the slot on its own anyway.
      void this.#destroy(container, 'abandoned');
      return { ok: false, code: serviceErrorCodes.shuttingDown, message: 'The connection closed before the container was handed over' };
    }
    let descriptor: ContainerDescriptor;
    try {
      descriptor = this.#describe(container);
    } catch (error) {
      void this.#destroy(container, 'abandoned');
      return failureOf(error);
    }
    this.#held.add(container, descriptor, connection.id, request.keep ?? false);
    const dockerSocket = descriptor.backend === 'docker' ? this.#options.dockerSocket : undefined;
    return { ok: true, result: { container: descriptor, ...(dockerSocket === undefined ? {} : { dockerSocket }) } };
  }

  async #release(reference: string, connection: ServiceConnection): Promise<Outcome> {
    const entry = this.#held.findReleasable(reference, connection.id);
    if (!entry) {
      return { ok: false, code: serviceErrorCodes.notHeld, message: `This connection holds no container ${JSON.stringify(reference)} (and none was kept under that id or name)` };
    }
    this.#held.remove(entry);
    try {
      await this.#destroy(entry.container, 'released', true);
      return { ok: true, result: {} };
    } catch (error) {
      // Still ours to clean up: the connection's end (or, if it has gone already, shutdown) tries again.
      this.#held.add(entry.container, entry.descriptor, connection.id, entry.keep);
      return failureOf(error);
    }
  }

  #describe(container: C): ContainerDescriptor {
    if (this.#options.describe) return this.#options.describe(container);
    const describe = (container as Partial<RunnableContainer>).describe;
    if (typeof describe !== 'function') throw new TypeError(`Container ${container.name} cannot describe itself; pass \`describe\``);
    return describe.call(container);
  }

  /** Destroys a container the service handed out. Failures are queued as errors (and rethrown if asked). */
  #destroy(container: C, reason: ServiceDestroyReason, rethrow = false): Promise<void> {
    const done = (async () => {
      try {
        await container.destroy();
        this.#emit({ reason, ok: true });
      } catch (error) {
        const failure = new ContainerDestroyError(container.name, error);
        this.#recordError(failure);
        this.#emit({ reason, ok: false });
        if (rethrow) throw failure;
      }
    })();
    const tracked = done.catch(() => undefined);
    this.#destroys.add(tracked);
    void tracked.finally(() => this.#destroys.delete(tracked));
    return done;
  }

  #emit(event: ServiceEvents['destroy']): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error('a service destroy listener threw; ignored', error);
      }
    }
  }

  #collectPoolErrors(): void {
    for (const { error, at } of this.#pool.errors.drain()) this.#recordError(error, at);
  }

  #recordError(error: Error, at = this.#clock.now()): void {
    this.logger.warn(`${codeOf(error)}: ${error.message}`);
    this.#errors.push(error, at);
  }

  #drainErrors(): { errors: ServiceErrorEntry[]; dropped: number } {
    this.#collectPoolErrors();
    const errors = this.#errors.drain().map(({ error, at }) => ({ code: codeOf(error), message: error.message, at }));
    return { errors, dropped: this.#errors.dropped };
  }

  async #shutDown(): Promise<ShutdownReport> {
    this.logger.info('shutting down');
    // Closing the listening handle unlinks the socket file, so new clients fail fast instead of queueing.
    this.#server.close();
    let clean = true;
    try {
      await this.#pool.cleanup({ timeoutMs: this.#options.cleanupTimeoutMs ?? 30_000 });
    } catch (error) {
      clean = false;
      this.logger.error(`pool cleanup: ${errorMessage(error)}`);
    }
    const unkept = this.#held.takeUnkept();
    const removals = new PQueue({ concurrency: destroyConcurrency });
    const results = await Promise.allSettled(unkept.map((entry) => removals.add(() => this.#destroy(entry.container, 'shutdown', true))));
    if (results.some((result) => result.status === 'rejected')) clean = false;
    // Destroys started elsewhere (a connection that just closed, a container that came too late).
    while (this.#destroys.size > 0) await Promise.all(this.#destroys);
    this.#collectPoolErrors();
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    const kept = this.#held.kept();
    if (kept.length > 0) {
      this.logger.warn(
        `leaving ${kept.length} kept container(s) running: ${kept.map((entry) => entry.descriptor.name).join(', ')} ` +
          `(warmpool reap --pool-id ${this.#options.poolId} removes them once this service has exited)`,
      );
    }
    await this.#socketFile?.remove().catch((error: unknown) => this.logger.warn(`removing the socket file: ${errorMessage(error)}`));
    for (const connection of this.#connections) connection.endWhenIdle();
    const cut = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy();
    }, closeGraceMs);
    cut.unref();
    const report = { destroyed: unkept.length, kept: kept.length, clean };
    this.logger.info(`shut down: destroyed ${report.destroyed} handed-out container(s), kept ${report.kept}`);
    this.#resolveClosed(report);
    return report;
  }
}

function codeOf(error: unknown): string {
  return error instanceof WarmpoolError ? error.code : serviceErrorCodes.internal;
}

function failureOf(error: unknown): Outcome {
  return { ok: false, code: codeOf(error), message: errorMessage(error) };
}
