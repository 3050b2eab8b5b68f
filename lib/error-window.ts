import { LinkedQueue } from './linked-queue.js';

export const hourMs = 3_600_000;

/**
 * Counts creation failures over a sliding window (an hour) for the throttle. It keeps at most `limit`
 * timestamps: once the window holds `limit` failures the pool is throttled until the oldest leaves it, and
 * older ones no longer matter.
 */
export class ErrorWindow {
  readonly #times = new LinkedQueue<number>();

  constructor(
    readonly limit: number,
    readonly windowMs = hourMs,
  ) {}

  record(at: number): void {
    this.#times.push(at);
    while (this.#times.length > this.limit) this.#times.shift();
  }

  /** Failures within the window that ends at `now`. */
  count(now: number): number {
    this.#prune(now);
    return this.#times.length;
  }

  /** When the window is full: the time at which its oldest failure leaves it. Otherwise undefined. */
  throttledUntil(now: number): number | undefined {
    if (this.count(now) < this.limit) return undefined;
    const oldest = this.#times.peek();
    return oldest === undefined ? undefined : oldest + this.windowMs;
  }

  #prune(now: number): void {
    for (let oldest = this.#times.peek(); oldest !== undefined && oldest + this.windowMs <= now; oldest = this.#times.peek()) {
      this.#times.shift();
    }
  }
}
