import { backoffDelayMs, type BackoffPolicy } from '../../lib/backoff.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Container } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import type { LeftBehindContainer } from './job-result.js';

/** First retry within 0.5-1 s, then doubling up to 15 s: an engine restart takes seconds, not minutes. */
export const removalBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 15_000 };

export interface RemovalQueueOptions {
  readonly clock?: Clock;
  readonly backoff?: BackoffPolicy;
  /** For tests: the jitter's random source. @default Math.random */
  readonly random?: () => number;
  /** Told once per container, at its first failed removal (it is retried). */
  readonly onFirstFailure?: (name: string, error: unknown) => void;
  /** Told once per container, when the engine has removed it (a source counting containers stops counting it). */
  readonly onRemoved?: (container: Container) => void;
}

interface Removal {
  readonly container: Container;
  failures: number;
  lastError: unknown;
  /** Ends the backoff wait early (when the queue gives up). */
  wake: (() => void) | undefined;
  settled: Promise<void>;
}

/**
 * Removes the containers jobs are done with, off the jobs' path: `remove()` returns at once, so a slot takes its
 * next job while the engine removes the last one's container. A removal that fails (engine restarting, busy) is
 * retried with jittered exponential backoff until it works or `drain()` runs out of time; what is still not
 * removed then is reported, never forgotten.
 */
export class RemovalQueue {
  readonly #clock: Clock;
  readonly #backoff: BackoffPolicy;
  readonly #random: () => number;
  readonly #onFirstFailure: ((name: string, error: unknown) => void) | undefined;
  readonly #onRemoved: ((container: Container) => void) | undefined;
  readonly #removals = new Map<Container, Removal>();
  #givenUp = false;

  constructor(options: RemovalQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#backoff = options.backoff ?? removalBackoff;
    this.#random = options.random ?? Math.random;
    this.#onFirstFailure = options.onFirstFailure;
    this.#onRemoved = options.onRemoved;
  }

  /** Containers not removed yet (being removed or waiting to retry). */
  get pending(): number {
    return this.#removals.size;
  }

  /** Starts removing `container` and returns at once. Giving the same container twice removes it once. */
  remove(container: Container): void {
    if (this.#removals.has(container)) return;
    const removal: Removal = { container, failures: 0, lastError: undefined, wake: undefined, settled: Promise.resolve() };
    this.#removals.set(container, removal);
    removal.settled = this.#run(removal);
  }

  /**
   * Waits until every removal is done, or `timeoutMs` has passed; then stops retrying and resolves with the
   * containers still not removed (each with its last error).
   */
  async drain(timeoutMs: number): Promise<LeftBehindContainer[]> {
    let timer: unknown;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve('deadline'), timeoutMs);
    });
    try {
      // Looped: a removal started while we wait (a job's last container) is waited for too.
      while (this.#removals.size > 0) {
        const all = Promise.all([...this.#removals.values()].map((removal) => removal.settled)).then(() => 'done' as const);
        if ((await Promise.race([all, deadline])) === 'deadline') break;
      }
    } finally {
      this.#clock.clearTimeout(timer);
    }
    if (this.#removals.size > 0) {
      this.#givenUp = true;
      for (const removal of this.#removals.values()) removal.wake?.();
    }
    return [...this.#removals.values()].map((removal) => ({
      name: removal.container.name,
      reason: removal.failures === 0 ? 'its removal had not finished when the run ended' : errorMessage(removal.lastError),
    }));
  }

  async #run(removal: Removal): Promise<void> {
    for (;;) {
      try {
        await removal.container.destroy();
        this.#removals.delete(removal.container);
        this.#removed(removal.container);
        return;
      } catch (error) {
        removal.failures++;
        removal.lastError = error;
        if (removal.failures === 1) this.#onFirstFailure?.(removal.container.name, error);
      }
      if (this.#givenUp) return;
      await this.#sleep(removal, backoffDelayMs(this.#backoff, removal.failures - 1, this.#random));
      if (this.#givenUp) return;
    }
  }

  #removed(container: Container): void {
    try {
      this.#onRemoved?.(container);
    } catch {
      // Bookkeeping of whoever listens; the container is gone either way, and must not be removed again.
    }
  }

  #sleep(removal: Removal, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        removal.wake = undefined;
        resolve();
      }, ms);
      removal.wake = () => {
        this.#clock.clearTimeout(timer);
        removal.wake = undefined;
        resolve();
      };
    });
  }
}
