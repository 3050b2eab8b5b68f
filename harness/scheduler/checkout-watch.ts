import type { Clock } from '../../lib/clock.js';
import { CheckoutTimeoutError, WarmpoolError, errorMessage } from '../../lib/errors.js';
import { OutagePausedDeadline } from './checkout-deadline.js';

/** Errors after which waiting is pointless: every creation fails the same way until someone fixes the engine. */
const hopelessCodes = new Set(['ERR_WARMPOOL_IMAGE_UNAVAILABLE']);

/** How one pool looks when a checkout starts. */
export interface PoolAtCheckout {
  /** Ready containers now. */
  readonly ready: number;
  /** The pool reports its engine unavailable (an outage): the deadline starts standing still. */
  readonly engineUnavailable: boolean;
}

interface Waiting {
  readonly giveUp: AbortController;
  readonly deadline: OutagePausedDeadline;
}

/**
 * What one pool's creations and engine say about the checkouts waiting on it. Once a creation fails in a way no
 * retry can fix (the image or LXC base is missing), waiting checkouts fail at once with that error instead of
 * each sitting out its whole timeout; while the engine is unavailable, their timeouts stand still (for at most
 * `maxOutageWaitMs` in all). Whoever owns the pool feeds it the pool's events.
 */
export class CheckoutWatch {
  readonly #clock: Clock;
  readonly #maxOutageWaitMs: number;
  readonly #what: string;
  readonly #waiting = new Set<Waiting>();
  #lastError: Error | undefined;
  #hopeless: Error | undefined;

  /** `what` names the pool in timeout messages: "the pool", "kind py311's pool". */
  constructor(clock: Clock, maxOutageWaitMs: number, what = 'the pool') {
    this.#clock = clock;
    this.#maxOutageWaitMs = maxOutageWaitMs;
    this.#what = what;
  }

  /** A creation of the pool failed. */
  creationFailed(error: Error): void {
    this.#lastError = error;
    if (error instanceof WarmpoolError && hopelessCodes.has(error.code)) {
      this.#hopeless = error;
      for (const waiting of this.#waiting) waiting.giveUp.abort(error);
    }
  }

  /** The pool's engine went away or came back. */
  engineChanged(state: 'available' | 'unavailable'): void {
    for (const { deadline } of this.#waiting) {
      if (state === 'unavailable') deadline.pause();
      else deadline.resume();
    }
  }

  /**
   * Waits for `get` (a checkout of the pool with no timeout of its own, which must honour the signal it is given)
   * within `timeoutMs`, outage time not counted. Rejects with CheckoutTimeoutError saying what the pool was
   * failing on, with the hopeless creation error, or with `signal.reason` on abort.
   */
  async checkout<C>(
    get: (signal: AbortSignal) => Promise<C | null>,
    options: { readonly timeoutMs: number; readonly signal?: AbortSignal | undefined },
    pool: PoolAtCheckout,
  ): Promise<C> {
    const { timeoutMs, signal } = options;
    signal?.throwIfAborted();
    if (this.#hopeless !== undefined && pool.ready === 0) throw this.#hopeless;
    const giveUp = new AbortController();
    const deadline = new OutagePausedDeadline(
      this.#clock,
      timeoutMs,
      this.#maxOutageWaitMs,
      () => giveUp.abort(this.#timedOut(timeoutMs, deadline.pausedMs)),
      pool.engineUnavailable,
    );
    const waiting = { giveUp, deadline };
    this.#waiting.add(waiting);
    try {
      const container = await get(signal === undefined ? giveUp.signal : AbortSignal.any([signal, giveUp.signal]));
      // Only a closed pool answers null to an unlimited get.
      if (container === null) throw this.#timedOut(timeoutMs, deadline.pausedMs);
      return container;
    } finally {
      deadline.cancel();
      this.#waiting.delete(waiting);
    }
  }

  #timedOut(timeoutMs: number, pausedMs: number): CheckoutTimeoutError {
    const outage = pausedMs > 0 ? ` (not counting ${Math.round(pausedMs)} ms the engine could not be reached)` : '';
    const cause = this.#lastError === undefined ? '' : `; ${this.#what}'s last creation error: ${errorMessage(this.#lastError)}`;
    return new CheckoutTimeoutError(`No container was ready within ${timeoutMs} ms${outage}${cause}`, { cause: this.#lastError });
  }
}
