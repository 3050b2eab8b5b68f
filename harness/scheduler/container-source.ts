import { systemClock, type Clock } from '../../lib/clock.js';
import type { ContainerFactory, RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError, WarmpoolError, errorMessage } from '../../lib/errors.js';
import { Pool } from '../../lib/pool.js';
import type { PoolOptions } from '../../lib/pool-options.js';
import { OutagePausedDeadline } from './checkout-deadline.js';

export interface CheckoutOptions {
  /** Give up after this long; Infinity waits for as long as it takes. */
  readonly timeoutMs: number;
  /** Aborting it rejects the checkout with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Where the scheduler gets its containers: a pool in this process, or a `warmpool serve` service. A container
 * checked out is the caller's; destroying it is how the caller gives it back.
 */
export interface ContainerSource {
  /**
   * Resolves with a ready container. Rejects when none could be had within `timeoutMs` (CheckoutTimeoutError,
   * saying what the pool was failing on), when the source knows none can be had at all (e.g.
   * ImageUnavailableError), or with `signal.reason` on abort.
   */
  checkout(options: CheckoutOptions): Promise<RunnableContainer>;
  /** Ready containers now, for the progress display. */
  ready(): number;
  /** Containers the source tries to keep ready. */
  readonly capacity: number;
  /**
   * Optional. Called once a container was found dead at first use: whatever killed it (an engine restart) may
   * have killed the other ready containers too, so the source drops the dead ones in one engine call before the
   * next checkout, instead of handing them out one by one. Never rejects; resolves early when `signal` aborts.
   */
  dropDead?(signal?: AbortSignal): Promise<void>;
  /** Gives back what the source holds (an in-process pool is cleaned up). Idempotent. */
  close(): Promise<void>;
}

/** Errors after which waiting is pointless: every creation fails the same way until someone fixes the engine. */
const hopelessCodes = new Set(['ERR_WARMPOOL_IMAGE_UNAVAILABLE']);

/** How long `close()` waits for creations still in flight and failed removals, so nothing outlives the run. */
const closeTimeoutMs = 60_000;

/** How much engine outage a checkout may sit out without counting it against its timeout. */
export const defaultMaxOutageWaitMs = 300_000;

export interface PoolSourceOptions {
  /** @default the system clock (the pool's, when started with `start`) */
  readonly clock?: Clock;
  /**
   * While the pool reports the engine unavailable, a checkout's timeout stands still, for at most this long in
   * all: jobs wait through a short outage and run after it. @default 300_000
   */
  readonly maxOutageWaitMs?: number;
}

interface Waiting {
  readonly giveUp: AbortController;
  readonly deadline: OutagePausedDeadline;
}

/**
 * Containers from a Pool in this process. It watches the pool's creations: once one fails in a way no retry
 * can fix (the image or LXC base is missing), waiting checkouts fail at once with that error instead of each
 * sitting out its whole checkout timeout. It watches the engine's state too: while the pool reports the engine
 * unavailable, checkout timeouts stand still (see `maxOutageWaitMs`).
 */
export class PoolSource implements ContainerSource {
  readonly #pool: Pool<RunnableContainer>;
  readonly #clock: Clock;
  readonly #maxOutageWaitMs: number;
  readonly #waiting = new Set<Waiting>();
  readonly #unsubscribe: (() => void)[];
  readonly #errorListeners = new Set<(error: Error) => void>();
  #lastError: Error | undefined;
  #hopeless: Error | undefined;
  #closing: Promise<void> | undefined;
  #notRemoved: readonly string[] = [];

  constructor(pool: Pool<RunnableContainer>, options: PoolSourceOptions = {}) {
    this.#pool = pool;
    this.#clock = options.clock ?? systemClock;
    this.#maxOutageWaitMs = options.maxOutageWaitMs ?? defaultMaxOutageWaitMs;
    this.#unsubscribe = [
      pool.on('creation', ({ error }) => {
        if (error === undefined) return;
        this.#lastError = error;
        for (const listener of this.#errorListeners) listener(error);
        if (error instanceof WarmpoolError && hopelessCodes.has(error.code)) {
          this.#hopeless = error;
          for (const waiting of this.#waiting) waiting.giveUp.abort(error);
        }
      }),
      pool.on('engine', (event) => {
        for (const { deadline } of this.#waiting) {
          if (event.state === 'unavailable') deadline.pause();
          else deadline.resume();
        }
      }),
    ];
  }

  /** Starts a pool of `options.size` containers from `factory`; `close()` cleans it up. */
  static start(factory: ContainerFactory<RunnableContainer>, options: PoolOptions, sourceOptions: PoolSourceOptions = {}): PoolSource {
    return new PoolSource(new Pool(factory, options), { ...(options.clock ? { clock: options.clock } : {}), ...sourceOptions });
  }

  get pool(): Pool<RunnableContainer> {
    return this.#pool;
  }

  get capacity(): number {
    return this.#pool.capacity;
  }

  /** Calls `listener` with each creation failure (to show the user why jobs wait); returns the unsubscribe function. */
  onCreationError(listener: (error: Error) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  ready(): number {
    return this.#pool.size;
  }

  /**
   * The pool's reconcile: one listing of the engine's running containers, and the ready ones not in it are
   * dropped (and replaced). A listing that fails costs nothing but the call: the next checkout may then meet
   * another dead container, which the job replaces too.
   */
  async dropDead(signal?: AbortSignal): Promise<void> {
    const reconciled = this.#pool.reconcile().catch(() => undefined);
    if (signal === undefined) return reconciled;
    // An interrupted job does not wait for the listing (bounded by the pool's own deadline, but seconds long).
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      if (signal.aborted) done();
      void reconciled.then(done);
    });
  }

  async checkout({ timeoutMs, signal }: CheckoutOptions): Promise<RunnableContainer> {
    signal?.throwIfAborted();
    if (this.#hopeless !== undefined && this.#pool.size === 0) throw this.#hopeless;
    const giveUp = new AbortController();
    const deadline = new OutagePausedDeadline(
      this.#clock,
      timeoutMs,
      this.#maxOutageWaitMs,
      () => giveUp.abort(this.#timedOut(timeoutMs, deadline.pausedMs)),
      this.#pool.engineState === 'unavailable',
    );
    const waiting = { giveUp, deadline };
    this.#waiting.add(waiting);
    try {
      // The pool's own timeout is not used: ours stands still during an engine outage.
      const container = await this.#pool.get({
        timeoutMs: Infinity,
        signal: signal === undefined ? giveUp.signal : AbortSignal.any([signal, giveUp.signal]),
      });
      // Only a closed pool answers null to an unlimited get.
      if (container === null) throw this.#timedOut(timeoutMs, deadline.pausedMs);
      return container;
    } finally {
      deadline.cancel();
      this.#waiting.delete(waiting);
    }
  }

  /** Names of the pool's own containers its cleanup could not remove (set once `close()` has resolved). */
  get notRemoved(): readonly string[] {
    return this.#notRemoved;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      this.#notRemoved = (await this.#pool.cleanup({ timeoutMs: closeTimeoutMs })).notRemoved;
    })();
    return this.#closing;
  }

  #timedOut(timeoutMs: number, pausedMs: number): CheckoutTimeoutError {
    const outage = pausedMs > 0 ? ` (not counting ${Math.round(pausedMs)} ms the engine could not be reached)` : '';
    const cause = this.#lastError === undefined ? '' : `; the pool's last creation error: ${errorMessage(this.#lastError)}`;
    return new CheckoutTimeoutError(`No container was ready within ${timeoutMs} ms${outage}${cause}`, { cause: this.#lastError });
  }
}
