import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import type { Container, ContainerDeath, ContainerFactory } from './container.js';
import { CreationBackoff } from './creation-backoff.js';
import { CreationWorker } from './creation-worker.js';
import { CheckoutWaiter } from './checkout-waiter.js';
import { listRunningWithin } from './engine-listing.js';
import { EngineOutage } from './engine-outage.js';
import { findEngineUnavailable } from './engine-unavailable.js';
import { ErrorQueue } from './error-queue.js';
import { ErrorWindow } from './error-window.js';
import type { BudgetSeat } from './host-budget.js';
import {
  ContainerCreationError,
  ContainerDestroyError,
  ContainerDiedError,
  EngineRecoveredNotice,
  errorMessage,
  InvalidOptionError,
  PoolClosedError,
  WarmpoolError,
  WorkerTimeoutError,
} from './errors.js';
import { LinkedQueue } from './linked-queue.js';
import { PoolEventEmitter, type PoolEventName, type PoolListener } from './pool-events.js';
import { resolvePoolOptions, validateDurationMs, validatePoolSize, type PoolOptions, type ResolvedPoolOptions } from './pool-options.js';
import { ReadySet } from './ready-set.js';
import { RecentDeaths } from './recent-deaths.js';
import { RemovalQueue } from './removal-queue.js';

export interface GetOptions {
  /** 0 (the default): a ready container or `null` at once. n: wait at most n ms. Infinity: wait until one is ready. */
  readonly timeoutMs?: number;
  /** Aborting it rejects the pending `get()` with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface CleanupOptions {
  /**
   * 0 (the default): one removal attempt for each container, no waiting for running creations. n: also retry
   * failed removals and wait for running creations, up to n ms in all; creations still running then make
   * cleanup throw WorkerTimeoutError.
   */
  readonly timeoutMs?: number;
}

export interface CleanupResult {
  /** Names of the pool's containers that could not be removed (each has a ContainerDestroyError queued). */
  readonly notRemoved: string[];
}

/** The engine as the pool sees it: `unavailable` from a creation that could not reach it until one succeeds. */
export type EngineState = 'available' | 'unavailable';

/** The first engine probe and the first removal retry come after 125-250 ms (equal jitter), then double. */
const retryBaseMs = 250;
/** A listing (probe or reconcile) the engine accepted and never answered counts as no answer after this. */
const probeTimeoutMs = 10_000;
/**
 * Deaths of unknown containers reported while creations run are kept this long, and this many at most, in
 * case a creation then delivers one of them (it died before its creation was done). The gap is the rest of
 * one creation, usually milliseconds; these bounds leave a wide margin and cost a few hundred kB at most.
 */
const unplacedDeathMaxAgeMs = 60_000;
const unplacedDeathCapacity = 1_000;

/** A promise and the function that resolves it. */
interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

/**
 * A pool of ready containers. Its monitor reacts to events (a creation ended, a container was taken, a
 * deadline passed, the engine reported a death) and keeps `ready + creating <= size` with at most `maxWorkers`
 * creations in flight. A full, healthy pool does no work at all: there is no timer and no polling.
 *
 * It tells the truth about what it holds: when the factory can watch its engine, a ready container that dies
 * leaves the ready set at once, is reported, removed and replaced; so does one whose death the engine reported
 * before its creation was done (it is never made ready). After every reconnection of the watch, and whenever
 * a caller asks (`reconcile()`), the ready set is reconciled with the engine's list. An engine outage is one state (`engineState`), not a storm
 * of failures: ready containers are set aside, creation stops, the engine is probed with backoff, and the
 * pool resumes by itself. Every removal goes through a queue that retries until the container is gone.
 */
export class Pool<C extends Container = Container> implements AsyncDisposable {
  readonly #factory: ContainerFactory<C>;
  readonly #options: ResolvedPoolOptions;
  readonly #ready = new ReadySet<C>();
  /** Ready containers held back during an engine outage: not handed out until the engine lists them again. */
  readonly #setAside = new ReadySet<C>();
  readonly #waiters = new LinkedQueue<CheckoutWaiter<C>>();
  readonly #workers = new Set<CreationWorker<C>>();
  /** Workers that timed out or were cancelled and whose factory promise has not settled yet. */
  readonly #stragglers = new Set<CreationWorker<C>>();
  readonly #errors: ErrorQueue;
  readonly #errorWindow: ErrorWindow;
  readonly #events: PoolEventEmitter;
  readonly #removals: RemovalQueue<C>;
  readonly #creationBackoff: CreationBackoff;
  readonly #probeBackoff: BackoffPolicy;
  /** Aborted by cleanup: ends the watch and any probe or listing in flight. */
  readonly #lifetime = new AbortController();
  /** Deaths of ids the pool did not hold, heard while creations ran: a creation may still deliver one of them. */
  readonly #unplacedDeaths: RecentDeaths;
  #outage: EngineOutage | undefined;
  /** The reconcile loop runs: a reconcile asked for now joins its next listing. */
  #reconcileRunning = false;
  /** The reconciles asked for since the running listing was asked for: one listing serves them all. */
  #nextReconcile: Deferred | undefined;
  /** False from the watch's `disconnected` to its next `connected`. */
  #watchConnected = true;
  /** The next check of the engine while the watch is disconnected, and how many were made. */
  #disconnectedCheckTimer: unknown;
  #disconnectedChecks = 0;
  #throttleTimer: unknown;
  #refillImmediate: NodeJS.Immediate | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The containers kept ready: `options.size` until `resize()`. */
  #size: number;
  /** Checkouts still to come beyond the waiting ones, as the caller said (`expectCheckouts`); Infinity: unknown. */
  #checkoutsToCome = Infinity;
  /** This pool's share of a host budget, when it has one. */
  readonly #seat: BudgetSeat | undefined;
  /** When each container's creation ended: `maxAgeMs` counts from there. */
  readonly #bornAt = new WeakMap<C, number>();
  /** The timer for the next ready container to outlive `maxAgeMs`, and when it fires. */
  #expiryTimer: unknown;
  #expiryAt: number | undefined;
  /** `pauseIdle`: ready containers being paused or paused, by id; the promise says whether the pause worked. */
  readonly #paused = new Map<string, Promise<boolean>>();
  /** Stragglers that delivered their container late: it is counted until its removal, not when they settle. */
  readonly #deliveredLate = new WeakSet<CreationWorker<C>>();
  /** cleanup() calls with a timeout still waiting: failed removals are retried only while the pool is open or one waits. */
  #retryingCleanups = 0;

  constructor(factory: ContainerFactory<C>, options: PoolOptions) {
    if (typeof (factory as Partial<ContainerFactory<C>> | null)?.createContainer !== 'function') {
      throw new InvalidOptionError('factory', factory, 'an object with a createContainer() method');
    }
    this.#factory = factory;
    this.#options = resolvePoolOptions(options);
    this.#size = this.#options.size;
    const { clock, random, maxWorkers } = this.#options;
    this.#errors = new ErrorQueue(this.#options.errorQueueCapacity);
    this.#errorWindow = new ErrorWindow(this.#options.maxErrorsPerHour);
    this.#unplacedDeaths = new RecentDeaths(clock, { capacity: unplacedDeathCapacity, maxAgeMs: unplacedDeathMaxAgeMs });
    this.#events = new PoolEventEmitter(this.#options.logger);
    this.#creationBackoff = new CreationBackoff(
      clock,
      { baseMs: this.#options.creationBackoffBaseMs, maxMs: this.#options.creationBackoffMaxMs },
      random,
      () => this.#refill(),
    );
    this.#probeBackoff = { baseMs: Math.min(retryBaseMs, this.#options.engineProbeMaxMs), maxMs: this.#options.engineProbeMaxMs };
    const removalRetryMaxMs = this.#options.removalRetryMaxMs;
    this.#removals = new RemovalQueue<C>(
      { concurrency: maxWorkers, clock, random, retryBackoff: { baseMs: Math.min(retryBaseMs, removalRetryMaxMs), maxMs: removalRetryMaxMs } },
      {
        removed: (container, reason, attempts) => {
          this.#seat?.containerGone();
          this.#events.emit('destroy', { name: container.name, reason, ok: true, attempts });
        },
        firstFailure: (container, reason, error) => {
          this.#options.logger.debug(`removing ${container.name} failed (will retry): ${errorMessage(error)}`);
          this.#errors.push(new ContainerDestroyError(container.name, error), clock.now());
          this.#events.emit('destroy', { name: container.name, reason, ok: false, attempts: 1 });
        },
      },
    );
    this.#seat = this.#options.budget?.join({
      waitingCount: () => this.#waiters.length,
      idleReadyCount: () => this.#ready.length,
      wake: () => this.#refill(),
      evictIdle: () => this.#evictIdle(),
    });
    this.#refill();
    this.#subscribe();
  }

  /** Ready containers now (not counting those set aside during an engine outage). */
  get size(): number {
    return this.#ready.length;
  }

  /** The number of containers kept ready: `size` at construction, then what `resize()` set. */
  get capacity(): number {
    return this.#size;
  }

  /** Ready containers that are paused (`pauseIdle`), or being paused. */
  get paused(): number {
    return this.#paused.size;
  }

  /** How long ago the oldest ready container's creation ended, in ms; 0 when none is ready. */
  get oldestReadyAgeMs(): number {
    const now = this.#options.clock.now();
    let oldest = now;
    for (const container of this.#ready) oldest = Math.min(oldest, this.#bornAt.get(container) ?? now);
    return now - oldest;
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

  /** `unavailable` from a creation that could not reach the engine until a creation succeeds again. */
  get engineState(): EngineState {
    return this.#outage === undefined ? 'available' : 'unavailable';
  }

  /** Ready containers held back during an engine outage, until the engine lists them again. */
  get setAside(): number {
    return this.#setAside.length;
  }

  /** Containers the pool is removing: queued, being destroyed, or waiting to retry a failed destroy. */
  get pendingRemovals(): number {
    return this.#removals.pending;
  }

  get isClosed(): boolean {
    return this.#closed;
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
      if (!this.#paused.has(container.id)) return container;
      // A paused container that will not thaw is broken: it is removed, and the caller gets the next one.
      return (await this.#thaw(container)) ? container : this.get(options);
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
      // A pool held back by a host budget asks again: one with waiting callers goes first, and may get room. One
      // that was told how many checkouts to expect makes room for a caller it did not count.
      if (this.#seat || this.#checkoutsToCome !== Infinity) this.#refill();
    });
  }

  /**
   * Changes how many containers the pool keeps ready (an integer from 0 up). Growing starts creations at once;
   * shrinking removes the surplus ready containers, oldest first, through the removal queue, so no caller waits
   * for it; creations in flight finish, and what they deliver beyond the size is removed too.
   */
  resize(size: number): void {
    this.#size = validatePoolSize(size);
    if (this.isClosed) return;
    this.#trim();
    this.#refill();
  }

  /**
   * Says that at most `count` more checkouts will be asked for, beyond the callers already waiting: a suite that
   * knows how many of its jobs have not started yet. The pool then starts no creation that no checkout could use
   * (its size still bounds it), so the end of a suite does not pay the engine for containers nobody takes.
   * Callers beyond the count (a retry, a replacement) are served all the same: a waiting caller always counts.
   * Ready containers are not removed. `Infinity` (the default) lifts the limit.
   * @throws InvalidOptionError for a count that is not an integer from 0 up or Infinity
   */
  expectCheckouts(count: number): void {
    if (!(count === Infinity || (Number.isInteger(count) && count >= 0))) {
      throw new InvalidOptionError('count', count, 'an integer from 0 up, or Infinity');
    }
    const grew = count > this.#checkoutsToCome;
    this.#checkoutsToCome = count;
    if (grew) this.#refill();
  }

  /**
   * Takes back a container this pool handed out, to be removed through its removal queue: retried until the
   * engine confirms it is gone, even if the first attempts fail. Resolves once the first attempt has settled
   * (a failure is queued in `errors`, not thrown). A budget's seat counts it until it is gone.
   */
  discard(container: C): Promise<void> {
    this.#paused.delete(container.id);
    return this.#removals.add(container, 'returned');
  }

  /**
   * A container this pool handed out was removed by its caller: a host budget stops counting it. (Without a
   * budget this does nothing; `discard()` is the way to have the pool remove it.)
   */
  forget(container: C): void {
    this.#paused.delete(container.id);
    this.#seat?.containerGone();
  }

  /**
   * Stops the monitor and the watch, cancels every creation, removes every ready container and rejects
   * pending and later `get()` calls with PoolClosedError. Containers that creations deliver later are removed
   * too. Resolves with the names of the containers it could not remove (see CleanupOptions).
   */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    const timeoutMs = validateDurationMs('timeoutMs', options.timeoutMs ?? 0, 0);
    // Failed removals are retried while the pool is open and while a cleanup with a timeout waits; after
    // that they are parked, so no retry timer keeps the process alive.
    if (timeoutMs > 0) this.#retryingCleanups++;
    this.#removals.retrying = this.#retryingCleanups > 0;
    this.#closing ??= this.#close();
    // Taken at once, so the first attempts that #close just started are the "one attempt each".
    const attempts = this.#removals.attemptAll();
    try {
      await this.#closing;
      // With a timeout, failed removals are retried and creations awaited until it runs out; without one,
      // each container gets its one attempt, however long the engine takes to answer it.
      if (timeoutMs > 0) await this.#waitForRemovalsAndStragglers(timeoutMs);
      else await attempts;
    } finally {
      if (timeoutMs > 0) this.#retryingCleanups--;
      this.#removals.retrying = this.#retryingCleanups > 0;
    }
    if (timeoutMs > 0 && this.#stragglers.size > 0) {
      throw new WorkerTimeoutError(`${this.#stragglers.size} container creations were still running ${timeoutMs} ms after cleanup`, timeoutMs);
    }
    return { notRemoved: this.#removals.pendingNames() };
  }

  /**
   * Checks the whole ready set against the engine's list of running containers, in one engine call, and
   * drops the ready containers it no longer runs: each is reported (ContainerDiedError, reason
   * `not-running`), removed and replaced. Call it when a container just checked out turns out dead at first
   * use: whatever killed it may have killed the others too, and this finds them all at once instead of
   * handing them out one by one.
   *
   * Calls made while a listing is being prepared share it; a call made while one is already out waits for the
   * next, which then serves every call made in the meantime. Never rejects. It resolves at once when the
   * factory cannot list its containers (no `listRunning()`), when the pool is closed, and during an engine
   * outage's probing (nothing is ready then; the probe checks the containers set aside). A listing that
   * cannot reach the engine starts an outage, as a failed creation does; any other failure of the listing is
   * logged and leaves the ready set as it was.
   */
  reconcile(): Promise<void> {
    return this.#reconcile();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  #close(): Promise<void> {
    const { clock, logger } = this.#options;
    this.#closed = true;
    this.#lifetime.abort(new PoolClosedError());
    this.#unplacedDeaths.clear();
    clock.clearTimeout(this.#disconnectedCheckTimer);
    this.#disconnectedCheckTimer = undefined;
    if (this.#throttleTimer !== undefined) clock.clearTimeout(this.#throttleTimer);
    this.#throttleTimer = undefined;
    if (this.#expiryTimer !== undefined) clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#paused.clear();
    clearImmediate(this.#refillImmediate);
    this.#refillImmediate = undefined;
    this.#creationBackoff.cancel();
    this.#outage?.cancelProbe();
    for (const waiter of this.#waiters.clear()) {
      this.#events.emit('checkout', { outcome: 'closed', waitMs: clock.now() - waiter.enqueuedAt });
      waiter.reject(new PoolClosedError());
    }
    for (const worker of this.#workers) {
      this.#workers.delete(worker);
      this.#stragglers.add(worker);
      this.#seat?.creationEnded();
      worker.cancel(new PoolClosedError('The pool was cleaned up while this container was being created'));
    }
    const ready = [...this.#ready.clear(), ...this.#setAside.clear()];
    logger.debug(`cleanup: removing ${ready.length} ready containers, cancelled ${this.#stragglers.size} creations`);
    // The removal queue runs as many removals at once as creations: a pool of thousands must not hit the
    // engine with thousands at once. cleanup() awaits them.
    for (const container of ready) void this.#removals.add(container, 'cleanup');
    this.#seat?.leave();
    return Promise.resolve();
  }

  async #waitForRemovalsAndStragglers(timeoutMs: number): Promise<void> {
    const { clock } = this.#options;
    let timer: unknown;
    const expired = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, timeoutMs);
    });
    // Stragglers first: the containers they still deliver join the removals to wait for.
    const finished = Promise.all([...this.#stragglers].map((worker) => worker.done)).then(() => this.#removals.whenIdle());
    try {
      await Promise.race([finished, expired]);
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /**
   * Refills after the caller has its container. A factory may do expensive synchronous work before its first
   * await (spawning lxc-copy takes milliseconds), which would otherwise delay every checkout; and a burst of
   * checkouts (or deaths) in one tick then costs one refill.
   */
  #refillSoon(): void {
    if (this.#refillImmediate !== undefined || this.isClosed) return;
    this.#refillImmediate = setImmediate(() => {
      this.#refillImmediate = undefined;
      this.#refill();
    });
  }

  /**
   * The monitor: starts creations until the pool (ready + set aside + creating) is full, unless closed,
   * throttled, backing off after failures, or waiting out an engine outage.
   */
  #refill(): void {
    if (this.isClosed || this.#throttleTimer !== undefined || this.#creationBackoff.isWaiting) return;
    if (this.#outage?.phase === 'probing') return;
    const { maxWorkers, clock, logger } = this.#options;
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
    // One creation at a time while it serves as the engine's probe, or while failures back off.
    const cap = this.#outage?.phase === 'probe-creation' || this.#creationBackoff.isBackingOff ? 1 : maxWorkers;
    // Containers past their maximum age still count until their replacements are ready: room for those first.
    // No more than the checkouts still to come can use, when the caller said how many (`expectCheckouts`).
    const wanted = Math.min(this.#size + this.#replacementsDue(now), this.#checkoutsToCome + this.#waiters.length);
    while (this.#ready.length + this.#setAside.length + this.#workers.size < wanted && this.#workers.size < cap) {
      if (this.#seat && !this.#seat.tryStartCreation()) break;
      this.#workers.add(
        new CreationWorker(this.#factory, clock, this.#options.creationTimeoutMs, {
          created: (worker, container) => this.#onCreated(worker, container),
          failed: (worker, error) => this.#onFailed(worker, error),
          timedOut: (worker, error) => this.#onTimedOut(worker, error),
          late: (worker, container) => {
            this.#deliveredLate.add(worker);
            return this.#removals.add(container, 'late');
          },
          settledAfterwards: (worker) => {
            this.#stragglers.delete(worker);
            // A straggler that failed made nothing: the container it was counted for does not exist.
            if (!this.#deliveredLate.has(worker)) this.#seat?.containerGone();
          },
        }),
      );
    }
    this.#armExpiry(now);
  }

  #onCreated(worker: CreationWorker<C>, container: C): void {
    this.#workers.delete(worker);
    this.#seat?.creationEnded();
    this.#bornAt.set(container, this.#options.clock.now());
    this.#creationBackoff.succeeded();
    // The engine may have reported its death before the creation was done (killed right after its readiness
    // check, say): then it is dead on arrival, and must be neither handed out nor made ready.
    const death = this.#unplacedDeaths.take(container.id);
    if (death === undefined) this.#offer(container);
    else this.#containerDied(container, death.reason, death.exitCode, death.oomKilled);
    // Emitted once the container is placed, so a listener sees the pool as it now is.
    this.#events.emit('creation', { outcome: 'created', durationMs: this.#options.clock.now() - worker.startedAt });
    if (this.#outage) this.#createdDuringOutage(this.#outage);
    this.#refill();
  }

  #onFailed(worker: CreationWorker<C>, cause: unknown): void {
    this.#workers.delete(worker);
    this.#seat?.creationEnded();
    this.#seat?.containerGone();
    const engineError = findEngineUnavailable(cause);
    if (engineError) {
      // Not the container's fault and not the image's: one outage, not one failure per creation.
      this.#events.emit('creation', { outcome: 'failed', durationMs: this.#options.clock.now() - worker.startedAt, error: engineError });
      this.#engineUnreachable(engineError);
    } else {
      const error = cause instanceof WarmpoolError ? cause : new ContainerCreationError(cause);
      this.#recordFailure(worker, 'failed', error);
      // The engine answered, if only with a failure: the probe creation did its job.
      if (this.#outage?.phase === 'probe-creation') this.#engineAnswered(this.#outage, undefined);
    }
    this.#refill();
  }

  #onTimedOut(worker: CreationWorker<C>, error: WorkerTimeoutError): void {
    this.#workers.delete(worker);
    this.#stragglers.add(worker);
    this.#seat?.creationEnded();
    this.#recordFailure(worker, 'timeout', error);
    // A probe creation that never answered is no answer: keep probing.
    if (this.#outage?.phase === 'probe-creation') this.#scheduleProbe(this.#outage);
    this.#refill();
  }

  #recordFailure(worker: CreationWorker<C>, outcome: 'failed' | 'timeout', error: Error): void {
    const now = this.#options.clock.now();
    this.#options.logger.debug(`creation ${outcome}: ${error.message}`);
    this.#errors.push(error, now);
    this.#errorWindow.record(now);
    this.#creationBackoff.failed();
    this.#events.emit('creation', { outcome, durationMs: now - worker.startedAt, error });
  }

  /** Hands a container to the longest waiting `get()`, or makes it ready. */
  #offer(container: C): void {
    const waiter = this.#waiters.shift();
    if (!waiter) {
      this.#ready.push(container);
      this.#pauseIdle(container);
      this.#trim();
      return;
    }
    this.#events.emit('checkout', { outcome: 'waited', waitMs: this.#options.clock.now() - waiter.enqueuedAt });
    if (!this.#paused.has(container.id)) {
      waiter.resolve(container);
      return;
    }
    // Set aside during an outage while paused: thawed first; if it will not thaw, the waiter waits on.
    void this.#thaw(container).then((thawed) => {
      if (thawed) waiter.resolve(container);
      else if (this.isClosed) waiter.reject(new PoolClosedError());
      else waiter.entry = this.#waiters.push(waiter);
    });
  }

  // ---- Size: surplus, maximum age, the host budget, paused idle containers ----

  /**
   * Removes ready containers beyond the size, oldest first: after `resize()` made the pool smaller, or when a
   * replacement for a container past its maximum age has arrived (that one is then the oldest).
   */
  #trim(): void {
    if (this.#outage !== undefined) return;
    const now = this.#options.clock.now();
    while (this.#ready.length + this.#setAside.length > this.#size) {
      const oldest = this.#ready.shift();
      if (oldest === undefined) return;
      this.#paused.delete(oldest.id);
      void this.#removals.add(oldest, this.#isExpired(oldest, now) ? 'expired' : 'surplus');
    }
  }

  /** Creations allowed beyond the size to replace ready containers past their maximum age: a few at a time. */
  #replacementsDue(now: number): number {
    if (this.#options.maxAgeMs === Infinity) return 0;
    const atOnce = Math.max(1, Math.ceil(this.#size / 4));
    let expired = 0;
    for (const container of this.#ready) {
      if (expired >= atOnce || !this.#isExpired(container, now)) break;
      expired++;
    }
    return expired;
  }

  #isExpired(container: C, now: number): boolean {
    const bornAt = this.#bornAt.get(container);
    return bornAt !== undefined && now - bornAt >= this.#options.maxAgeMs;
  }

  /** One timer, for the first ready container (oldest first) not yet past its maximum age. */
  #armExpiry(now: number): void {
    const { maxAgeMs, clock } = this.#options;
    if (maxAgeMs === Infinity || this.isClosed) return;
    let next: number | undefined;
    for (const container of this.#ready) {
      if (this.#isExpired(container, now)) continue;
      next = (this.#bornAt.get(container) ?? now) + maxAgeMs;
      break;
    }
    if (next === this.#expiryAt) return;
    if (this.#expiryTimer !== undefined) clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#expiryAt = next;
    if (next === undefined) return;
    this.#expiryTimer = clock.setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#expiryAt = undefined;
      this.#refill();
    }, next - now);
  }

  /** The host budget asks for room for another pool's waiting callers: the oldest ready container goes. */
  #evictIdle(): boolean {
    const oldest = this.#ready.shift();
    if (oldest === undefined) return false;
    this.#paused.delete(oldest.id);
    void this.#removals.add(oldest, 'evicted');
    // Refused for now (the other pool's callers come first), and woken when room frees again.
    this.#refillSoon();
    return true;
  }

  #pauseIdle(container: C): void {
    if (!this.#options.pauseIdle || typeof container.pause !== 'function' || this.#paused.has(container.id)) return;
    const pausing = container.pause().then(
      () => true,
      (error: unknown) => {
        this.#options.logger.warn(`pausing ${container.name} failed; it stays ready unpaused: ${errorMessage(error)}`);
        return false;
      },
    );
    this.#paused.set(container.id, pausing);
  }

  /** Resumes a paused container before it is handed out; false (and it is removed) when it will not resume. */
  async #thaw(container: C): Promise<boolean> {
    const pausing = this.#paused.get(container.id);
    this.#paused.delete(container.id);
    if (pausing === undefined || !(await pausing) || typeof container.resume !== 'function') return true;
    try {
      await container.resume();
      return true;
    } catch (error) {
      const failure = new ContainerDiedError(container.name, 'not-running', undefined, false);
      this.#options.logger.warn(`${container.name} did not resume (${errorMessage(error)}); removing and replacing it`);
      this.#errors.push(failure, this.#options.clock.now());
      void this.#removals.add(container, 'died');
      this.#refillSoon();
      return false;
    }
  }

  #abandon(waiter: CheckoutWaiter<C>, outcome: 'timeout' | 'aborted', reason: unknown): void {
    if (!waiter.entry || !this.#waiters.remove(waiter.entry)) return;
    this.#events.emit('checkout', { outcome, waitMs: this.#options.clock.now() - waiter.enqueuedAt });
    if (outcome === 'aborted') waiter.reject(reason);
    else waiter.resolve(null);
  }

  // ---- Deaths: the engine's watch and reconciles ----

  #subscribe(): void {
    if (typeof this.#factory.watch !== 'function') return;
    try {
      this.#factory.watch(
        {
          died: (death) => this.#guard('died', () => this.#onDeathEvent(death)),
          connected: () => this.#guard('connected', () => this.#onWatchConnected()),
          disconnected: (error) => this.#guard('disconnected', () => this.#onWatchDisconnected(error)),
        },
        this.#lifetime.signal,
      );
    } catch (error) {
      // The contract says watch() must not throw; a pool without a watch still works.
      this.#options.logger.error(`the factory's watch() threw; the pool will not hear of deaths: ${errorMessage(error)}`);
    }
  }

  /** Handlers run inside the backend's event code: a bug here must not break its watch. */
  #guard(handler: string, action: () => void): void {
    if (this.isClosed) return;
    try {
      action();
    } catch (error) {
      this.#options.logger.error(`the pool's ${handler} handler threw; ignored`, error);
    }
  }

  /**
   * Only a container the pool holds counts: a checked-out one is its caller's, and a second event is a repeat.
   * An id the pool does not hold may also be one a creation is about to deliver: while creations run, such a
   * death is remembered for a while, and `#onCreated` checks it.
   */
  #onDeathEvent(death: ContainerDeath): void {
    const container = this.#ready.remove(death.id) ?? this.#setAside.remove(death.id);
    this.#paused.delete(death.id);
    if (container !== undefined) this.#containerDied(container, death.reason, death.exitCode, death.oomKilled);
    else if (this.#workers.size > 0) this.#unplacedDeaths.remember(death);
  }

  #onWatchConnected(): void {
    this.#watchConnected = true;
    this.#disconnectedChecks = 0;
    this.#options.clock.clearTimeout(this.#disconnectedCheckTimer);
    this.#disconnectedCheckTimer = undefined;
    // During an outage, the watch coming back is the best sign the engine is back: probe at once.
    if (this.#outage?.phase === 'probing') this.#probe(this.#outage);
    else void this.#reconcile();
  }

  /**
   * The event stream broke: most likely the engine is stopping, and deaths may now go unheard. A full pool
   * starts no creation that would notice an outage, so until the watch is back the pool asks the engine
   * itself: at once, then after the probe backoff (capped at `engineProbeMaxMs`). Each answer reconciles the
   * ready set; no answer is an outage. This is the only polling, and only while the event source is broken.
   */
  #onWatchDisconnected(error: unknown): void {
    this.#options.logger.debug(`the engine's event stream broke: ${errorMessage(error)}`);
    if (!this.#watchConnected) return;
    this.#watchConnected = false;
    this.#checkWhileDisconnected();
  }

  #checkWhileDisconnected(): void {
    if (this.#watchConnected || this.#outage || this.isClosed || typeof this.#factory.listRunning !== 'function') return;
    if (this.#disconnectedCheckTimer !== undefined) return;
    void this.#reconcile().then(() => {
      if (this.#watchConnected || this.#outage || this.isClosed || this.#disconnectedCheckTimer !== undefined) return;
      const { clock, random } = this.#options;
      this.#disconnectedCheckTimer = clock.setTimeout(() => {
        this.#disconnectedCheckTimer = undefined;
        this.#checkWhileDisconnected();
      }, backoffDelayMs(this.#probeBackoff, this.#disconnectedChecks++, random));
    });
  }

  #containerDied(container: C, reason: ContainerDiedError['reason'], exitCode: number | undefined, oomKilled: boolean): void {
    const error = new ContainerDiedError(container.name, reason, exitCode, oomKilled);
    this.#options.logger.info(`${error.message}; removing and replacing it`);
    this.#errors.push(error, this.#options.clock.now());
    this.#events.emit('death', { id: container.id, name: container.name, reason, ...(exitCode === undefined ? {} : { exitCode }), oomKilled });
    void this.#removals.add(container, 'died');
    this.#refillSoon();
  }

  /**
   * Asks for a reconcile; resolves once a listing asked for after this call has been applied (or failed).
   * One reconcile runs at a time: calls made before its listing is asked for share it, and calls made while
   * it is out share the next one.
   */
  #reconcile(): Promise<void> {
    if (typeof this.#factory.listRunning !== 'function' || this.isClosed) return Promise.resolve();
    this.#nextReconcile ??= deferred();
    const { promise } = this.#nextReconcile;
    if (!this.#reconcileRunning) {
      this.#reconcileRunning = true;
      void this.#reconcileWhileAsked();
    }
    return promise;
  }

  async #reconcileWhileAsked(): Promise<void> {
    try {
      // Calls made in this same turn of the event loop join the first listing instead of asking for another.
      await Promise.resolve();
      for (let asked = this.#nextReconcile; asked !== undefined; asked = this.#nextReconcile) {
        this.#nextReconcile = undefined;
        try {
          // Nothing is ready while an outage is probing, and the probe checks what was set aside.
          if (!this.isClosed && this.#outage?.phase !== 'probing') await this.#reconcileOnce();
        } catch (error) {
          this.#options.logger.error('reconcile failed; the ready set was left as it was', error);
        } finally {
          asked.resolve();
        }
      }
    } finally {
      // No await since the loop found nothing more asked for: a call from now on starts a new loop.
      this.#reconcileRunning = false;
    }
  }

  /**
   * Drops the ready containers the engine no longer runs (deaths missed while the watch was away, or deaths
   * a caller suspects). Only those already ready when the listing was asked for are checked: one made since
   * is not in it, and is alive.
   */
  async #reconcileOnce(): Promise<void> {
    const stamp = this.#ready.nextStamp;
    const listing = await listRunningWithin(this.#factory, this.#options.clock, probeTimeoutMs, this.#lifetime.signal);
    if (this.isClosed) return;
    if ('error' in listing) {
      const engineError = findEngineUnavailable(listing.error);
      if (engineError) this.#engineUnreachable(engineError);
      else this.#options.logger.warn(`reconcile: listing the engine's containers failed: ${errorMessage(listing.error)}`);
      return;
    }
    for (const container of this.#ready.addedBefore(stamp)) {
      if (listing.running.has(container.id)) continue;
      this.#ready.remove(container.id);
      this.#containerDied(container, 'not-running', undefined, false);
    }
  }

  // ---- Engine outages ----

  /** A creation or a listing could not reach the engine: start an outage, or go on probing. */
  #engineUnreachable(error: Error): void {
    const outage = this.#outage;
    if (outage === undefined) this.#enterOutage(error);
    // A half-up engine listed but could not create: back to probing, at the outage's next backoff step.
    else if (outage.phase !== 'probing') this.#scheduleProbe(outage);
  }

  #enterOutage(error: Error): void {
    const { clock, logger } = this.#options;
    const outage = new EngineOutage(clock, this.#probeBackoff, this.#options.random);
    this.#outage = outage;
    for (const container of this.#ready.clear()) this.#setAside.push(container);
    this.#errors.push(error, clock.now());
    logger.warn(`The container engine cannot be reached (${error.message}); creation paused, ${this.#setAside.length} ready containers set aside until it answers`);
    this.#events.emit('engine', { state: 'unavailable', error });
    this.#scheduleProbe(outage);
  }

  #scheduleProbe(outage: EngineOutage): void {
    const delayMs = outage.scheduleProbe(() => this.#probe(outage));
    this.#options.logger.debug(`engine probe ${outage.probes} in ${delayMs} ms`);
  }

  /** Asks the engine now: with `listRunning()` if the factory has it, else with one creation. */
  #probe(outage: EngineOutage): void {
    if (this.isClosed || this.#outage !== outage) return;
    outage.cancelProbe();
    if (typeof this.#factory.listRunning !== 'function') {
      outage.phase = 'probe-creation';
      this.#refill();
      return;
    }
    if (outage.probeRunning) return;
    outage.probeRunning = true;
    void listRunningWithin(this.#factory, this.#options.clock, probeTimeoutMs, this.#lifetime.signal).then((listing) => {
      outage.probeRunning = false;
      if (this.isClosed || this.#outage !== outage) return;
      if ('error' in listing) this.#scheduleProbe(outage);
      else this.#engineAnswered(outage, listing.running);
    });
  }

  /**
   * The engine answered a probe: the set-aside containers it still runs are ready again (all of them when it
   * could not list), the others are removed and replaced, and creation resumes. The outage ends here only if
   * the pool is full (or a creation already succeeded); otherwise with the first creation that succeeds.
   */
  #engineAnswered(outage: EngineOutage, running: ReadonlySet<string> | undefined): void {
    outage.phase = 'resuming';
    for (const container of this.#setAside.clear()) {
      if (running === undefined || running.has(container.id)) this.#offer(container);
      else this.#containerDied(container, 'not-running', undefined, false);
    }
    if (outage.createdMeanwhile || this.#ready.length >= this.#size) this.#endOutage(outage);
    this.#refill();
  }

  #createdDuringOutage(outage: EngineOutage): void {
    if (outage.phase === 'probing' && typeof this.#factory.listRunning === 'function') {
      // A creation started before the outage got through: check the set-aside containers, then end it.
      outage.createdMeanwhile = true;
      this.#probe(outage);
      return;
    }
    if (this.#setAside.length > 0) this.#engineAnswered(outage, undefined);
    if (this.#outage === outage) this.#endOutage(outage);
  }

  #endOutage(outage: EngineOutage): void {
    const { clock, logger } = this.#options;
    outage.cancelProbe();
    this.#outage = undefined;
    const outageMs = clock.now() - outage.startedAt;
    this.#errors.push(new EngineRecoveredNotice(outageMs), clock.now());
    logger.warn(`The container engine answers again after an outage of ${outageMs} ms; creation resumed`);
    this.#events.emit('engine', { state: 'available', outageMs });
    // Removals that failed while the engine was away need not wait out their backoff.
    this.#removals.retryNow();
    this.#checkWhileDisconnected();
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
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
