import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';

/**
 * Slows a burst of failing creations down long before the hourly throttle stops them: the first failure is
 * retried at once (one bad container is common and cheap), and from the second failure in a row the next
 * creation waits a jittered, doubling delay, with one creation at a time, until one succeeds. With the
 * defaults (250 ms doubling to 30 s, equal jitter: 15-30 s once capped) a permanently failing image costs
 * about 160 failures an hour on average instead of 200 in a few milliseconds.
 *
 * Engine outages do not pass through here: they are one state of the pool, not a series of failures.
 */
export class CreationBackoff {
  readonly #clock: Clock;
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  readonly #onElapsed: () => void;
  #consecutiveFailures = 0;
  #timer: unknown;

  constructor(clock: Clock, policy: BackoffPolicy, random: () => number, onElapsed: () => void) {
    this.#clock = clock;
    this.#policy = policy;
    this.#random = random;
    this.#onElapsed = onElapsed;
  }

  /** Creations that failed in a row since the last success. */
  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** True while no creation may start: a backoff delay is running. */
  get isWaiting(): boolean {
    return this.#timer !== undefined;
  }

  /** True from the second failure in a row until a success: creations then run one at a time. */
  get isBackingOff(): boolean {
    return this.#enabled && this.#consecutiveFailures >= 2;
  }

  failed(): void {
    this.#consecutiveFailures++;
    if (!this.isBackingOff) return;
    // A later failure in the same burst replaces the delay with its own, longer one.
    this.#clear();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#onElapsed();
    }, backoffDelayMs(this.#policy, this.#consecutiveFailures - 2, this.#random));
  }

  succeeded(): void {
    this.#consecutiveFailures = 0;
    this.#clear();
  }

  /** Stops the timer for good (the pool is closing). */
  cancel(): void {
    this.#clear();
  }

  get #enabled(): boolean {
    return this.#policy.baseMs > 0;
  }

  #clear(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
