import type { Clock } from './clock.js';
import type { QueueEntry } from './linked-queue.js';

/**
 * One `get()` waiting in line. It owns its timer and its abort listener, and whichever way it ends (served,
 * timed out, aborted, pool closed) `settle` removes both, so nothing outlives the call.
 */
export class CheckoutWaiter<C> {
  readonly enqueuedAt: number;
  entry: QueueEntry<CheckoutWaiter<C>> | undefined;
  readonly #clock: Clock;
  readonly #resolve: (container: C | null) => void;
  readonly #reject: (reason: unknown) => void;
  #timer: unknown;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(clock: Clock, resolve: (container: C | null) => void, reject: (reason: unknown) => void) {
    this.#clock = clock;
    this.enqueuedAt = clock.now();
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Calls `onTimeout` after `timeoutMs` (never, for Infinity). */
  armTimer(timeoutMs: number, onTimeout: () => void): void {
    if (Number.isFinite(timeoutMs)) this.#timer = this.#clock.setTimeout(onTimeout, timeoutMs);
  }

  /** Calls `onAbort` when `signal` aborts. */
  watch(signal: AbortSignal | undefined, onAbort: () => void): void {
    if (!signal) return;
    this.#signal = signal;
    this.#onAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  resolve(container: C | null): void {
    this.#release();
    this.#resolve(container);
  }

  reject(reason: unknown): void {
    this.#release();
    this.#reject(reason);
  }

  #release(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    this.#onAbort = undefined;
  }
}
