import { createServer, type Server, type Socket } from 'node:net';
import type { BackoffPolicy } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import type { Container, ContainerDescriptor, RunnableContainer } from '../../lib/container.js';
import { ErrorQueue } from '../../lib/error-queue.js';
import { WarmpoolError, errorMessage } from '../../lib/errors.js';
import { createLogger, type PoolLogger } from '../../lib/logger.js';
import type { KindStatus } from '../../lib/kind.js';
import type { Pool } from '../../lib/pool.js';
import type { BackendName } from '../backend.js';
import { GetCancelledError, ServiceConnection, type ConnectionHost, type Outcome } from './connection.js';
import { defaultFdReserve, takeFdBudget, type FdBudget } from './fd-budget.js';
import { HeldContainers } from './held-containers.js';
import { PendingRemovals, type RemovalAttempt } from './pending-removals.js';
import { type GetRequest, type ServiceErrorEntry, type ServiceRequest, type ServiceStatus } from './protocol.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { serviceErrorCodes } from './service-errors.js';
import { defaultServiceLimits, type ServiceLimits } from './service-limits.js';
import { refuseSocket } from './refuse-socket.js';
import { ServiceLock } from './service-lock.js';
import { listenOnSocket, type SocketFile } from './socket-file.js';
import { onePoolKinds, type ServedKinds } from './served-kinds.js';

export type { ServiceDestroyReason } from './pending-removals.js';

export interface PoolServiceOptions<C extends Container> {
  /** What the service hands out: the kinds of a host (`HostPools`), or `pool`, served as one kind. */
  readonly kinds?: ServedKinds<C>;
  /** A single pool, served as the one kind `default`; give this or `kinds`. */
  readonly pool?: Pool<C>;
  /** The backend of the first kind (status shows it); each kind's own is in `status().kinds`. */
  readonly backend: BackendName;
  /** Each kind's backend, for status. @default every kind has `backend` */
  readonly kindBackends?: ReadonlyMap<string, BackendName>;
  readonly poolId: string;
  readonly socketPath: string;
  /** How a container is described to clients. @default the container's own `describe()` */
  readonly describe?: (container: C) => ContainerDescriptor;
  /** Docker: the engine socket, sent with each container so clients reach the engine the service uses. */
  readonly dockerSocket?: string;
  readonly logger?: PoolLogger;
  /** Bounds on connections and what each may hold (see service-limits.ts). @default defaultServiceLimits */
  readonly limits?: Partial<ServiceLimits>;
  /** File descriptors kept for everything but client connections (see fd-budget.ts). @default defaultFdReserve(4) */
  readonly fdReserve?: number;
  /** The file-descriptor budget; taken from the process's limit at `listen()` unless given (tests give one). */
  readonly fdBudget?: FdBudget;
  /** Errors kept for `errors` requests; older ones are dropped (and counted). @default 1000 */
  readonly errorCapacity?: number;
  /**
   * At shutdown, how long to wait in all for cancelled creations to wind down and for removals to succeed;
   * what is still not removed then is named in the log and the report. @default 30_000
   */
  readonly shutdownTimeoutMs?: number;
  /** The lock of `socketPath`, when the caller took it already (before reaping); else `listen()` takes it. */
  readonly lock?: ServiceLock;
  /** Retries of failed removals. @default removalBackoff (pending-removals.ts) */
  readonly removalBackoff?: BackoffPolicy;
  readonly clock?: Clock;
}

export interface ServiceEvents {
  /** An attempt to remove a container the service handed out. */
  destroy: RemovalAttempt;
  /** A limit was hit: a connection or a get refused, a connection closed; `code` is the answer's code. */
  refusal: { readonly code: string };
  /** The listening socket failed to accept a connection (EMFILE, ENFILE, ...). */
  acceptError: { readonly code: string };
}

export type ServiceEventName = keyof ServiceEvents;

export interface ShutdownReport {
  /** Containers handed out that the service destroyed at shutdown. */
  readonly destroyed: number;
  /** Kept containers left running. */
  readonly kept: number;
  /** Containers the service (or its pool) could not remove by the end of the shutdown timeout. */
  readonly notRemoved: string[];
  /** Whether everything was cleaned up without an error. */
  readonly clean: boolean;
}

/** Removals at once, when a connection with many containers goes or the service shuts down. */
const removalConcurrency = 4;
/** How long connections get to read their last answers at shutdown before they are cut. */
const closeGraceMs = 2000;

/**
 * The pool service: one pool shared by many client processes over a unix socket (see protocol.ts). It remembers
 * which connection holds which container and cleans up after clients that go away. It never stops for bad
 * input: every line gets an answer or, if oversized, a closed connection.
 *
 * Sharing, when demand exceeds supply: round-robin across connections, each connection's gets in the order it
 * sent them (see get-turns.ts), so one client cannot starve the others however many gets it sends. Bounds (see
 * service-limits.ts): connections (lowered to what the open-file limit allows), waiting gets per connection,
 * unread answers per connection, and the time a begun line may take. Each refusal is an answer with its own
 * code, a count in metrics and a rate-limited log line. A container it could not remove is retried until gone.
 */
export class PoolService<C extends Container = RunnableContainer> implements ConnectionHost {
  readonly logger: PoolLogger;
  readonly clock: Clock;
  readonly limits: ServiceLimits;
  /** Set by whoever serves metrics, for `status`. */
  metricsUrl: string | null = null;
  readonly #options: PoolServiceOptions<C>;
  readonly #kinds: ServedKinds<C>;
  #kindBackends: ReadonlyMap<string, BackendName> | undefined;
  /** The kind each handed-out container was taken from, for metrics of its removal. */
  readonly #kindOf = new WeakMap<Container, string>();
  readonly #held = new HeldContainers<C>();
  readonly #errors: ErrorQueue;
  readonly #connections = new Set<ServiceConnection>();
  readonly #removals: PendingRemovals;
  readonly #listeners: { [E in ServiceEventName]: Set<(event: ServiceEvents[E]) => void> } = {
    destroy: new Set(),
    refusal: new Set(),
    acceptError: new Set(),
  };
  readonly #log: RateLimitedLog;
  readonly #server: Server;
  readonly #unsubscribe: (() => void)[];
  #lock: ServiceLock | undefined;
  #socketFile: SocketFile | undefined;
  #fdBudget: FdBudget | undefined;
  /** `limits.maxConnections`, lowered to the fd budget once listening. */
  #connectionLimit: number;
  /** Refused connections still open while their client reads the answer (see refuse-socket.ts). */
  #refusing = 0;
  /** Ready containers the pool found dead (and replaced) since the service started. */
  #deaths = 0;
  #shutdown: Promise<ShutdownReport> | undefined;
  #resolveClosed!: (report: ShutdownReport) => void;
  /** Settles when the service has shut down, whoever asked (a signal, a `shutdown` request). */
  readonly closed: Promise<ShutdownReport>;

  constructor(options: PoolServiceOptions<C>) {
    this.#options = options;
    const kinds = options.kinds ?? (options.pool ? onePoolKinds(options.pool) : undefined);
    if (kinds === undefined) throw new TypeError('PoolService needs `kinds` or `pool`');
    this.#kinds = kinds;
    this.#kindBackends = options.kindBackends;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger({ name: 'warmpool-service' });
    this.limits = { ...defaultServiceLimits, ...options.limits };
    this.#connectionLimit = this.limits.maxConnections;
    this.#lock = options.lock;
    this.#errors = new ErrorQueue(options.errorCapacity ?? 1000);
    this.#log = new RateLimitedLog(this.logger, this.clock);
    this.#removals = new PendingRemovals({
      clock: this.clock,
      logger: this.logger,
      log: this.#log,
      concurrency: removalConcurrency,
      ...(options.removalBackoff ? { backoff: options.removalBackoff } : {}),
      onFirstFailure: (error) => this.#recordError(error),
      onAttempt: (attempt) => {
        // Gone: the host budget no longer counts it.
        if (attempt.ok) this.#kinds.forget(attempt.container as C);
        this.#emit('destroy', attempt);
      },
    });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    // allowHalfOpen: a client may send its requests and shut its side (`... | nc -U`) and still read the answers.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error: NodeJS.ErrnoException) => this.#onServerError(error));
    // The pool's error queue has nobody else to drain it: move each failure into the service's copy as it
    // happens, with a log line, so `errors` can hand it out and the pool's own queue never overflows.
    this.#unsubscribe = [
      this.#kinds.on('creation', (event) => {
        if (event.outcome !== 'created') this.#collectPoolErrors();
      }),
      this.#kinds.on('destroy', (event) => {
        if (!event.ok) this.#collectPoolErrors();
      }),
      this.#kinds.on('death', () => {
        this.#deaths++;
        this.#collectPoolErrors();
      }),
      this.#kinds.on('engine', () => this.#collectPoolErrors()),
    ];
  }

  /** What the service serves (metrics read it). */
  get kinds(): ServedKinds<C> {
    return this.#kinds;
  }

  /** After a reload: each kind's backend, for status. */
  setKindBackends(backends: ReadonlyMap<string, BackendName>): void {
    this.#kindBackends = backends;
  }

  /** The kind a handed-out container was taken from. */
  kindOf(container: Container): string | undefined {
    return this.#kindOf.get(container);
  }

  get socketPath(): string {
    return this.#options.socketPath;
  }

  get isShuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** The file-descriptor budget taken at `listen()`, or undefined before. */
  get fdBudget(): FdBudget | undefined {
    return this.#fdBudget;
  }

  /** Subscribes to the service's own events (the pool's are `pool.on(...)`); returns the unsubscribe. */
  on<E extends ServiceEventName>(name: E, listener: (event: ServiceEvents[E]) => void): () => void {
    const listeners = this.#listeners[name] as Set<(event: ServiceEvents[E]) => void>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * Takes the socket's lock (unless given one), binds the socket (mode 0600; a stale socket is replaced) and
   * takes the file-descriptor budget. Throws ServiceRunningError when another service holds the lock or answers
   * on the socket.
   */
  async listen(): Promise<void> {
    this.#lock ??= await ServiceLock.acquire(this.#options.socketPath);
    this.#socketFile = await listenOnSocket(this.#server, this.#options.socketPath);
    const budget = this.#options.fdBudget ?? takeFdBudget(this.#options.fdReserve ?? defaultFdReserve(4));
    this.#fdBudget = budget;
    this.#connectionLimit = Math.min(this.limits.maxConnections, budget.connections);
    if (budget.connections < this.limits.maxConnections) {
      this.logger.warn(
        `the open-file limit (${budget.limit}, ${budget.inUse} in use, ${budget.reserve} kept for engine work) leaves room for ` +
          `${this.#connectionLimit} client connection(s), fewer than the ${this.limits.maxConnections} allowed; raise \`ulimit -n\` for more`,
      );
    }
    this.logger.info(`serving pool ${this.#options.poolId} (${this.#options.backend}) on ${this.#options.socketPath}`);
  }

  status(): ServiceStatus {
    this.#collectPoolErrors();
    let waiting = 0;
    for (const connection of this.#connections) waiting += connection.waitingGets;
    const pools = this.#kinds.pools().map(({ pool }) => pool);
    const kinds = this.#kinds.status();
    const sum = (count: (kind: KindStatus) => number): number => kinds.reduce((total, kind) => total + count(kind), 0);
    return {
      backend: this.#options.backend,
      poolId: this.#options.poolId,
      ready: sum((kind) => kind.ready),
      capacity: sum((kind) => kind.target),
      workers: sum((kind) => kind.creating),
      waiting,
      throttled: pools.some((pool) => pool.isThrottled),
      errors: this.#errors.length,
      errorsDropped: this.#errors.dropped,
      held: this.#held.size,
      kept: this.#held.keptCount,
      connections: this.#connections.size,
      maxConnections: this.#connectionLimit,
      engine: pools.some((pool) => pool.engineState === 'unavailable') ? 'unavailable' : 'available',
      setAside: pools.reduce((total, pool) => total + pool.setAside, 0),
      deaths: this.#deaths,
      pendingRemovals: this.#removals.size + pools.reduce((total, pool) => total + pool.pendingRemovals, 0),
      pid: process.pid,
      metricsUrl: this.metricsUrl,
      kinds: kinds.map((kind) => ({ ...kind, backend: this.#kindBackends?.get(kind.name) ?? this.#options.backend })),
    };
  }

  /**
   * Stops accepting connections and requests, rejects waiting gets (the pool is cleaned up, which also destroys
   * its ready containers and cancels creations), destroys handed-out containers not kept (retrying failures up to
   * the shutdown timeout), removes the socket and lock files and closes the connections once their last answers
   * are written. Idempotent.
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
        const { destroyed, kept, notRemoved } = await this.shutdown();
        return { ok: true, result: { destroyed, kept, notRemoved } };
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
    for (const entry of orphans) void this.#removals.remove(entry.container, 'disconnected');
  }

  limitHit(connection: ServiceConnection | undefined, code: string, message: string): void {
    this.#emit('refusal', { code });
    this.#log.warn(code, `${connection ? `connection ${connection.id}` : 'a new connection'} refused (${code}): ${message}`);
  }

  #accept(socket: Socket): void {
    if (this.isShuttingDown) {
      this.#refuse(socket, serviceErrorCodes.shuttingDown, 'The service is shutting down');
      return;
    }
    if (this.#connections.size >= this.#connectionLimit) {
      const byFds = this.#connectionLimit < this.limits.maxConnections;
      const message =
        `The service has ${this.#connections.size} connections, its limit` +
        `${byFds ? ` (set by the open-file limit ${this.#fdBudget?.limit ?? '?'})` : ''}; try again later`;
      this.#refuse(socket, serviceErrorCodes.tooManyConnections, message);
      this.limitHit(undefined, serviceErrorCodes.tooManyConnections, message);
      return;
    }
    this.#connections.add(new ServiceConnection(socket, this));
  }

  /** Refuses with an answer, gracefully while the fd budget has room for the moment that takes. */
  #refuse(socket: Socket, code: string, message: string): void {
    const sockets = this.#fdBudget?.sockets ?? Infinity;
    const graceful = this.#connections.size + this.#refusing < sockets;
    if (graceful) this.#refusing++;
    void refuseSocket(socket, code, message, graceful).then(() => {
      if (graceful) this.#refusing--;
    });
  }

  /**
   * Failures of the listening socket. Accepting when out of file descriptors mostly does not get here (see
   * fd-budget.ts: libuv closes such connections itself, silently, which is why the service keeps a budget);
   * when it does, it is counted and logged, and the socket keeps listening, so the service serves again as soon
   * as descriptors are free.
   */
  #onServerError(error: NodeJS.ErrnoException): void {
    if (!this.#server.listening) return; // A failed bind: listenOnSocket reports it.
    const code = error.code ?? 'UNKNOWN';
    this.#emit('acceptError', { code });
    this.#log.warn(`accept-${code}`, `cannot accept a connection: ${code} (${error.message}); still listening`);
  }

  async #get(request: GetRequest, connection: ServiceConnection): Promise<Outcome> {
    const timeoutMs = request.timeoutMs === null ? Infinity : (request.timeoutMs ?? 0);
    const turn = connection.enterGet(request.id, timeoutMs);
    if (!turn) {
      const message = `This connection already has ${this.limits.maxWaitingGets} gets waiting (the limit); wait for one to be answered`;
      this.limitHit(connection, serviceErrorCodes.tooManyWaiting, message);
      return { ok: false, code: serviceErrorCodes.tooManyWaiting, message };
    }
    let container: C | null;
    try {
      const start = await turn.started;
      if (start.kind === 'timeout') return { ok: true, result: { container: null } };
      container = await this.#kinds.get(request.kind, { timeoutMs: start.remainingMs, signal: turn.signal });
    } catch (error) {
      if (error instanceof GetCancelledError) return { ok: false, code: serviceErrorCodes.cancelled, message: error.message };
      return failureOf(error);
    } finally {
      turn.finish();
    }
    if (container === null) return { ok: true, result: { container: null } };
    if (!connection.isWritable || this.isShuttingDown) {
      // The container came for a connection that has gone (or during shutdown). It is destroyed rather than
      // handed back: the pool cannot take a container back, and it refills the slot on its own anyway.
      void this.#removals.remove(container, 'abandoned');
      return { ok: false, code: serviceErrorCodes.shuttingDown, message: 'The connection closed before the container was handed over' };
    }
    let descriptor: ContainerDescriptor;
    try {
      descriptor = this.#describe(container);
    } catch (error) {
      void this.#removals.remove(container, 'abandoned');
      return failureOf(error);
    }
    this.#held.add(container, descriptor, connection.id, request.keep ?? false);
    this.#kindOf.set(container, request.kind ?? this.#kinds.defaultKind);
    const dockerSocket = descriptor.backend === 'docker' ? this.#options.dockerSocket : undefined;
    return { ok: true, result: { container: descriptor, ...(dockerSocket === undefined ? {} : { dockerSocket }) } };
  }

  /**
   * Releases a container: it is no longer the client's, and the service removes it. If the first removal
   * attempt fails the answer says so, and the service keeps retrying in the background until it is gone.
   */
  async #release(reference: string, connection: ServiceConnection): Promise<Outcome> {
    const entry = this.#held.findReleasable(reference, connection.id);
    if (!entry) {
      return { ok: false, code: serviceErrorCodes.notHeld, message: `This connection holds no container ${JSON.stringify(reference)} (and none was kept under that id or name)` };
    }
    this.#held.remove(entry);
    const first = await this.#removals.remove(entry.container, 'released');
    if (first.ok) return { ok: true, result: {} };
    return { ok: false, code: first.error.code, message: `${first.error.message}; the service keeps retrying until it is gone` };
  }

  #describe(container: C): ContainerDescriptor {
    if (this.#options.describe) return this.#options.describe(container);
    const describe = (container as Partial<RunnableContainer>).describe;
    if (typeof describe !== 'function') throw new TypeError(`Container ${container.name} cannot describe itself; pass \`describe\``);
    return describe.call(container);
  }

  #emit<E extends ServiceEventName>(name: E, event: ServiceEvents[E]): void {
    for (const listener of this.#listeners[name] as Set<(event: ServiceEvents[E]) => void>) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`a service ${name} listener threw; ignored`, error);
      }
    }
  }

  #collectPoolErrors(): void {
    for (const { error, at } of this.#kinds.drainErrors()) this.#recordError(error, at);
  }

  #recordError(error: Error, at = this.clock.now()): void {
    const code = codeOf(error);
    // The pool logs deaths and engine outages itself; the others it leaves to whoever drains its queue.
    if (!loggedByPool.has(code)) this.logger.warn(`${code}: ${error.message}`);
    this.#errors.push(error, at);
  }

  #drainErrors(): { errors: ServiceErrorEntry[]; dropped: number } {
    this.#collectPoolErrors();
    const errors = this.#errors.drain().map(({ error, at }) => ({ code: codeOf(error), message: error.message, at }));
    return { errors, dropped: this.#errors.dropped };
  }

  async #shutDown(): Promise<ShutdownReport> {
    this.logger.info('shutting down');
    const timeoutMs = this.#options.shutdownTimeoutMs ?? 30_000;
    // Closing the listening handle unlinks the socket file, so new clients fail fast instead of queueing.
    this.#server.close();
    let clean = true;
    const unkept = this.#held.takeUnkept();
    for (const entry of unkept) void this.#removals.remove(entry.container, 'shutdown');
    // The pool's cleanup (its ready containers, its creations) and the service's removals share the one timeout.
    const [poolNotRemoved, serviceNotRemoved] = await Promise.all([
      this.#kinds.cleanup({ timeoutMs }).then(
        (result) => result.notRemoved,
        (error: unknown) => {
          clean = false;
          const pending = this.#kinds.pools().reduce((total, { pool }) => total + pool.pendingRemovals, 0);
          this.logger.error(`pool cleanup: ${errorMessage(error)}; ${pending} of its removals still pending`);
          return [];
        },
      ),
      this.#removals.drain(timeoutMs),
    ]);
    const notRemoved = [...poolNotRemoved, ...serviceNotRemoved];
    if (notRemoved.length > 0) {
      clean = false;
      this.logger.error(
        `could not remove ${notRemoved.length} container(s) within ${timeoutMs} ms: ${notRemoved.join(', ')} ` +
          `(warmpool reap --pool-id ${this.#options.poolId} removes them once this service has exited)`,
      );
    }
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
    try {
      this.#lock?.release();
    } catch (error) {
      this.logger.warn(`removing the lock file: ${errorMessage(error)}`);
    }
    this.#log.flush();
    for (const connection of this.#connections) connection.endWhenIdle();
    const cut = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy();
    }, closeGraceMs);
    cut.unref();
    const unremovedHere = new Set(serviceNotRemoved);
    const destroyed = unkept.filter((entry) => !unremovedHere.has(entry.container.name)).length;
    const report: ShutdownReport = { destroyed, kept: kept.length, notRemoved, clean };
    this.logger.info(`shut down: destroyed ${report.destroyed} handed-out container(s), kept ${report.kept}`);
    this.#resolveClosed(report);
    return report;
  }
}

/** Codes of the pool's errors that the pool logs itself when they happen. */
const loggedByPool = new Set(['ERR_WARMPOOL_CONTAINER_DIED', 'ERR_WARMPOOL_ENGINE_UNAVAILABLE', 'ERR_WARMPOOL_ENGINE_RECOVERED']);

function codeOf(error: unknown): string {
  return error instanceof WarmpoolError ? error.code : serviceErrorCodes.internal;
}

function failureOf(error: unknown): Outcome {
  return { ok: false, code: codeOf(error), message: errorMessage(error) };
}
