import type { ContainerFactory, RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError, WarmpoolError, errorMessage } from '../../lib/errors.js';
import { Pool } from '../../lib/pool.js';
import type { PoolOptions } from '../../lib/pool-options.js';

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
  /** Gives back what the source holds (an in-process pool is cleaned up). Idempotent. */
  close(): Promise<void>;
}

/** Errors after which waiting is pointless: every creation fails the same way until someone fixes the engine. */
const hopelessCodes = new Set(['ERR_WARMPOOL_IMAGE_UNAVAILABLE']);

/** How long `close()` waits for creations still in flight, so none of their containers outlives the run. */
const closeTimeoutMs = 60_000;

/**
 * Containers from a Pool in this process. It watches the pool's creations: once one fails in a way no retry
 * can fix (the image or LXC base is missing), waiting checkouts fail at once with that error instead of each
 * sitting out its whole checkout timeout.
 */
export class PoolSource implements ContainerSource {
  readonly #pool: Pool<RunnableContainer>;
  readonly #waiting = new Set<AbortController>();
  readonly #unsubscribe: () => void;
  readonly #errorListeners = new Set<(error: Error) => void>();
  #lastError: Error | undefined;
  #hopeless: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(pool: Pool<RunnableContainer>) {
    this.#pool = pool;
    this.#unsubscribe = pool.on('creation', ({ error }) => {
      if (error === undefined) return;
      this.#lastError = error;
      for (const listener of this.#errorListeners) listener(error);
      if (error instanceof WarmpoolError && hopelessCodes.has(error.code)) {
        this.#hopeless = error;
        for (const waiting of this.#waiting) waiting.abort(error);
      }
    });
  }

  /** Starts a pool of `options.size` containers from `factory`; `close()` cleans it up. */
  static start(factory: ContainerFactory<RunnableContainer>, options: PoolOptions): PoolSource {
    return new PoolSource(new Pool(factory, options));
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

  async checkout({ timeoutMs, signal }: CheckoutOptions): Promise<RunnableContainer> {
    signal?.throwIfAborted();
    if (this.#hopeless !== undefined && this.#pool.size === 0) throw this.#hopeless;
    const giveUp = new AbortController();
    this.#waiting.add(giveUp);
    try {
      const container = await this.#pool.get({
        timeoutMs,
        signal: signal === undefined ? giveUp.signal : AbortSignal.any([signal, giveUp.signal]),
      });
      if (container === null) {
        const cause = this.#lastError === undefined ? '' : `; the pool's last creation error: ${errorMessage(this.#lastError)}`;
        throw new CheckoutTimeoutError(`No container was ready within ${timeoutMs} ms${cause}`, { cause: this.#lastError });
      }
      return container;
    } finally {
      this.#waiting.delete(giveUp);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unsubscribe();
      await this.#pool.cleanup({ timeoutMs: closeTimeoutMs });
    })();
    return this.#closing;
  }
}
