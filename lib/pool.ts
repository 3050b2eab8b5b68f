import PQueue from 'p-queue';
import type { Container, ContainerFactory } from './container.js';
import { CreationWorker } from './creation-worker.js';
import { CheckoutWaiter } from './checkout-waiter.js';
import { ErrorQueue } from './error-queue.js';
import { ErrorWindow } from './error-window.js';
import {
  ContainerCreationError,
  ContainerDestroyError,
  InvalidOptionError,
  PoolClosedError,
  WarmpoolError,
  WorkerTimeoutError,
} from './errors.js';
import { LinkedQueue } from './linked-queue.js';
import { PoolEventEmitter, type PoolEventName, type PoolListener } from './pool-events.js';
import { resolvePoolOptions, validateDurationMs, type PoolOptions, type ResolvedPoolOptions } from './pool-options.js';

export interface GetOptions {
  /** 0 (the default): a ready container or `null` at once. n: wait at most n ms. Infinity: wait until one is ready. */
  readonly timeoutMs?: number;
  /** Aborting it rejects the pending `get()` with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface CleanupOptions {
  /** 0 (the default): do not wait for running creations. n: wait up to n ms for them, else throw WorkerTimeoutError. */
  readonly timeoutMs?: number;
}

/**
 * A pool of ready containers. Its monitor reacts to events (a creation ended, a container was taken, a
 * deadline passed) and keeps `ready + creating <= size` with at most `maxWorkers` creations in flight. A full,
 * healthy pool does no work at all: there is no timer and no polling.
 */
export class Pool<C extends Container = Container> implements AsyncDisposable {
  readonly #factory: ContainerFactory<C>;
  readonly #options: ResolvedPoolOptions;
  readonly #ready = new LinkedQueue<C>();
  readonly #waiters = new LinkedQueue<CheckoutWaiter<C>>();
  readonly #workers = new Set<CreationWorker<C>>();
  /** Workers that timed out or were cancelled and whose factory promise has not settled yet. */
  readonly #stragglers = new Set<CreationWorker<C>>();
  readonly #errors: ErrorQueue;
  readonly #errorWindow: ErrorWindow;
  readonly #events: PoolEventEmitter;
  #throttleTimer: unknown;
  #refillImmediate: NodeJS.Immediate | undefined;
  #closing: Promise<void> | undefined;

  constructor(factory: ContainerFactory<C>, options: PoolOptions) {
    if (typeof (factory as Partial<ContainerFactory<C>> | null)?.createContainer !== 'function') {
      throw new InvalidOptionError('factory', factory, 'an object with a createContainer() method');
    }
    this.#factory = factory;
    this.#options = resolvePoolOptions(options);
    this.#errors = new ErrorQueue(this.#options.errorQueueCapacity);
    this.#errorWindow = new ErrorWindow(this.#options.maxErrorsPerHour);
    this.#events = new PoolEventEmitter(this.#options.logger);
    this.#refill();
  }

  /** Ready containers now. */
  get size(): number {
    return this.#ready.length;
  }

  /** The configured number of containers kept ready. */
  get capacity(): number {
    return this.#options.size;
  }

  /** Creations in flight, not counting cancelled or timed-out ones. */
  get workerCount(): number {
    return this.#workers.size;
  }

  /** `get()` calls waiting for a container. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Failures, oldest first: poll `errors.drain()`. */
  get errors(): ErrorQueue {
    return this.#errors;
  }

  /** True while too many creations failed in the last hour for a new one to start. */
  get isThrottled(): boolean {
    return !this.isClosed && this.#errorWindow.throttledUntil(this.#options.clock.now()) !== undefined;
  }

  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /** Subscribes to pool events (for metrics); returns the unsubscribe function. */
  on<E extends PoolEventName>(name: E, listener: PoolListener<E>): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Checks out a ready container. It is the caller's from then on: the pool refills its slot, never hands it
   * out again and never destroys it. Waiters are served first come, first served.
   */
  async get(options: GetOptions = {}): Promise<C | null> {
    const { timeoutMs, signal } = validateGetOptions(options);
    if (this.isClosed) {
      this.#events.emit('checkout', { outcome: 'closed', waitMs: 0 });
      throw new PoolClosedError();
    }
    signal?.throwIfAborted();
    const container = this.#ready.shift();
    if (container !== undefined) {
      this.#events.emit('checkout', { outcome: 'ready', waitMs: 0 });
      this.#refillSoon();
      return container;
    }
    if (timeoutMs === 0) {
      this.#events.emit('checkout', { outcome: 'empty', waitMs: 0 });
      return null;
    }
    return new Promise<C | null>((resolve, reject) => {
      const waiter = new CheckoutWaiter<C>(this.#options.clock, resolve, reject);
      waiter.entry = this.#waiters.push(waiter);
      waiter.armTimer(timeoutMs, () => this.#abandon(waiter, 'timeout', null));
      waiter.watch(signal, () => this.#abandon(waiter, 'aborted', signal?.reason));
    });
  }

  /**
   * Stops the monitor, cancels every creation, destroys every ready container and rejects pending and later
   * `get()` calls with PoolClosedError. Containers that creations deliver later are destroyed too.
   */
  async cleanup(options: CleanupOptions = {}): Promise<void> {
    const timeoutMs = validateDurationMs('timeoutMs', options.timeoutMs ?? 0, 0);
    this.#closing ??= this.#close();
    await this.#closing;
    if (timeoutMs > 0) await this.#waitForStragglers(timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  async #close(): Promise<void> {
    const { clock, logger } = this.#options;
    if (this.#throttleTimer !== undefined) clock.clearTimeout(this.#throttleTimer);
    this.#throttleTimer = undefined;
    clearImmediate(this.#refillImmediate);
    this.#refillImmediate = undefined;
    for (const waiter of this.#waiters.clear()) {
      this.#events.emit('checkout', { outcome: 'closed', waitMs: clock.now() - waiter.enqueuedAt });
      waiter.reject(new PoolClosedError());
    }
    for (const worker of this.#workers) {
      this.#workers.delete(worker);
      this.#stragglers.add(worker);
      worker.cancel(new PoolClosedError('The pool was cleaned up while this container was being created'));
    }
    const ready = this.#ready.clear();
    logger.debug(`cleanup: destroying ${ready.length} ready containers, cancelled ${this.#stragglers.size} creations`);
    // As many removals at once as creations: a pool of thousands must not hit the engine with thousands at once.
    const removals = new PQueue({ concurrency: this.#options.maxWorkers });
    await removals.addAll(ready.map((container) => () => this.#destroy(container, 'cleanup')));
  }

  async #waitForStragglers(timeoutMs: number): Promise<void> {
    if (this.#stragglers.size === 0) return;
    const { clock } = this.#options;
    let timer: unknown;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = clock.setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const finished = Promise.all([...this.#stragglers].map((worker) => worker.done)).then(() => 'done' as const);
    try {
      if ((await Promise.race([finished, deadline])) === 'timeout' && this.#stragglers.size > 0) {
        throw new WorkerTimeoutError(
          `${this.#stragglers.size} container creations were still running ${timeoutMs} ms after cleanup`,
          timeoutMs,
        );
      }
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /**
   * Refills after the caller has its container. A factory may do expensive synchronous work before its first
   * await (spawning lxc-copy takes milliseconds), which would otherwise delay every checkout; and a burst of
   * checkouts in one tick then costs one refill.
   */
  #refillSoon(): void {
    if (this.#refillImmediate !== undefined) return;
    this.#refillImmediate = setImmediate(() => {
      this.#refillImmediate = undefined;
      this.#refill();
    });
  }

  /** The monitor: starts creations until the pool (ready + creating) is full, unless throttled or closed. */
  #refill(): void {
    if (this.isClosed || this.#throttleTimer !== undefined) return;
    const { size, maxWorkers, clock, logger } = this.#options;
    const now = clock.now();
    const throttledUntil = this.#errorWindow.throttledUntil(now);
    if (throttledUntil !== undefined) {
      const errorsInWindow = this.#errorWindow.count(now);
      logger.warn(`${errorsInWindow} creations failed within an hour; creation paused for ${throttledUntil - now} ms`);
      this.#events.emit('throttle', { until: throttledUntil, errorsInWindow });
      this.#throttleTimer = clock.setTimeout(() => {
        this.#throttleTimer = undefined;
        this.#refill();
      }, throttledUntil - now);
      return;
    }
    while (this.#ready.length + this.#workers.size < size && this.#workers.size < maxWorkers) {
      this.#workers.add(
        new CreationWorker(this.#factory, clock, this.#options.creationTimeoutMs, {
          created: (worker, container) => this.#onCreated(worker, container),
          failed: (worker, error) => this.#onFailed(worker, error),
          timedOut: (worker, error) => this.#onTimedOut(worker, error),
          late: (_worker, container) => this.#destroy(container, 'late'),
          settledAfterwards: (worker) => this.#stragglers.delete(worker),
        }),
      );
    }
  }

  #onCreated(worker: CreationWorker<C>, container: C): void {
    this.#workers.delete(worker);
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#events.emit('checkout', { outcome: 'waited', waitMs: this.#options.clock.now() - waiter.enqueuedAt });
      waiter.resolve(container);
    } else {
      this.#ready.push(container);
    }
    // Emitted once the container is placed, so a listener sees the pool as it now is.
    this.#events.emit('creation', { outcome: 'created', durationMs: this.#options.clock.now() - worker.startedAt });
    this.#refill();
  }

  #onFailed(worker: CreationWorker<C>, cause: unknown): void {
    this.#workers.delete(worker);
    const error = cause instanceof WarmpoolError ? cause : new ContainerCreationError(cause);
    this.#recordFailure(worker, 'failed', error);
    this.#refill();
  }

  #onTimedOut(worker: CreationWorker<C>, error: WorkerTimeoutError): void {
    this.#workers.delete(worker);
    this.#stragglers.add(worker);
    this.#recordFailure(worker, 'timeout', error);
    this.#refill();
  }

  #recordFailure(worker: CreationWorker<C>, outcome: 'failed' | 'timeout', error: Error): void {
    const now = this.#options.clock.now();
    this.#options.logger.debug(`creation ${outcome}: ${error.message}`);
    this.#errors.push(error, now);
    this.#errorWindow.record(now);
    this.#events.emit('creation', { outcome, durationMs: now - worker.startedAt, error });
  }

  #abandon(waiter: CheckoutWaiter<C>, outcome: 'timeout' | 'aborted', reason: unknown): void {
    if (!waiter.entry || !this.#waiters.remove(waiter.entry)) return;
    this.#events.emit('checkout', { outcome, waitMs: this.#options.clock.now() - waiter.enqueuedAt });
    if (outcome === 'aborted') waiter.reject(reason);
    else waiter.resolve(null);
  }

  async #destroy(container: C, reason: 'late' | 'cleanup'): Promise<void> {
    try {
      await container.destroy();
      this.#events.emit('destroy', { name: container.name, reason, ok: true });
    } catch (error) {
      this.#errors.push(new ContainerDestroyError(container.name, error), this.#options.clock.now());
      this.#events.emit('destroy', { name: container.name, reason, ok: false });
    }
  }
}

function validateGetOptions(options: unknown): { timeoutMs: number; signal: AbortSignal | undefined } {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object like { timeoutMs, signal }');
  }
  const { timeoutMs = 0, signal } = options as GetOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  }
  return { timeoutMs: validateDurationMs('timeoutMs', timeoutMs, 0), signal };
}
