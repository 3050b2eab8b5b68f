import { LinkedQueue } from './linked-queue.js';

export interface ErrorEntry {
  readonly error: Error;
  /** When it happened, in the pool clock's milliseconds. */
  readonly at: number;
}

/**
 * The pool's error queue: failures are kept here for callers to poll, since a background creation has nobody
 * to throw to. Bounded, because a pool nobody drains must not grow without limit; what falls off the old end
 * is counted in `dropped`.
 */
export class ErrorQueue {
  readonly #entries = new LinkedQueue<ErrorEntry>();
  readonly #capacity: number;
  #dropped = 0;

  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** Errors discarded, oldest first, because the queue was full. Never reset. */
  get dropped(): number {
    return this.#dropped;
  }

  get capacity(): number {
    return this.#capacity;
  }

  push(error: Error, at: number): void {
    this.#entries.push({ error, at });
    while (this.#entries.length > this.#capacity) {
      this.#entries.shift();
      this.#dropped++;
    }
  }

  /** Returns every queued entry, oldest first, and empties the queue. */
  drain(): ErrorEntry[] {
    return this.#entries.clear();
  }

  /** The queued entries, oldest first, without removing them. */
  peek(): ErrorEntry[] {
    return [...this.#entries];
  }
}
