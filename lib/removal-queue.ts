import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import type { Container } from './container.js';
import { LinkedQueue } from './linked-queue.js';

/**
 * Why the pool removes a container: it came after its creation's deadline (`late`), it died while ready, cleanup,
 * the pool was made smaller (`surplus`), it outlived `maxAgeMs` and its replacement is ready (`expired`), another
 * pool of the host needed its room (`evicted`), or a caller gave back a container it had taken (`returned`).
 */
export type RemovalReason = 'late' | 'died' | 'cleanup' | 'surplus' | 'expired' | 'evicted' | 'returned';

export interface RemovalHandlers<C extends Container> {
  /** `destroy()` succeeded after `attempts` attempts. */
  removed(container: C, reason: RemovalReason, attempts: number): void;
  /** The first attempt failed (later failures of the same container are not reported again). */
  firstFailure(container: C, reason: RemovalReason, error: unknown): void;
}

export interface RemovalQueueOptions {
  /** Destroys running at once. */
  readonly concurrency: number;
  readonly clock: Clock;
  /** Delay before each retry of a failed destroy. */
  readonly retryBackoff: BackoffPolicy;
  readonly random: () => number;
}

type RemovalState = 'queued' | 'running' | 'waiting' | 'parked';

interface Removal<C extends Container> {
  readonly container: C;
  readonly reason: RemovalReason;
  state: RemovalState;
  attempts: number;
  timer: unknown;
  /** Resolves when the first attempt has settled, whatever its outcome. */
  readonly firstAttempt: Promise<void>;
  settleFirstAttempt: (() => void) | undefined;
}

/**
 * Every container the pool removes goes through here, so a removal that fails (engine down, container busy)
 * is not forgotten: it is retried with jittered backoff until `destroy()` succeeds (destroy is idempotent, so
 * a container already gone counts as removed). At most `concurrency` destroys run at once, so a pool of
 * thousands never hits the engine with thousands of removals.
 *
 * Retrying can be switched off (`retrying = false`): failed removals are then parked, with no timer left
 * behind, until `attemptAll()` tries them again. The pool does that once its cleanup has given up waiting.
 */
export class RemovalQueue<C extends Container> {
  readonly #options: RemovalQueueOptions;
  readonly #handlers: RemovalHandlers<C>;
  /** Every removal not yet done, by container id: a container is removed once even if asked twice. */
  readonly #held = new Map<string, Removal<C>>();
  readonly #queue = new LinkedQueue<Removal<C>>();
  readonly #listeners = new Set<() => void>();
  #running = 0;
  #retrying = true;

  constructor(options: RemovalQueueOptions, handlers: RemovalHandlers<C>) {
    this.#options = options;
    this.#handlers = handlers;
  }

  /** Removals not yet done: queued, running, or failed and waiting to be retried. */
  get pending(): number {
    return this.#held.size;
  }

  /** Names of the containers not yet removed. */
  pendingNames(): string[] {
    return [...this.#held.values()].map((removal) => removal.container.name);
  }

  get retrying(): boolean {
    return this.#retrying;
  }

  /** Off: failed removals are parked instead of retried, and waiting retries are cancelled. */
  set retrying(on: boolean) {
    this.#retrying = on;
    if (on) return;
    for (const removal of this.#held.values()) {
      if (removal.state !== 'waiting') continue;
      this.#options.clock.clearTimeout(removal.timer);
      removal.timer = undefined;
      removal.state = 'parked';
    }
  }

  /**
   * Queues `container` for removal. Resolves when its first attempt has settled (a failure is reported to the
   * handlers, not thrown); a container already queued is not queued again.
   */
  add(container: C, reason: RemovalReason): Promise<void> {
    const held = this.#held.get(container.id);
    if (held) return held.firstAttempt;
    let settleFirstAttempt: (() => void) | undefined;
    const firstAttempt = new Promise<void>((resolve) => (settleFirstAttempt = resolve));
    const removal: Removal<C> = { container, reason, state: 'queued', attempts: 0, timer: undefined, firstAttempt, settleFirstAttempt };
    this.#held.set(container.id, removal);
    this.#queue.push(removal);
    this.#pump();
    return firstAttempt;
  }

  /** Every removal waiting for a retry (or parked) is queued now: the engine is back. */
  retryNow(): void {
    for (const removal of this.#held.values()) {
      if (removal.state !== 'waiting' && removal.state !== 'parked') continue;
      this.#options.clock.clearTimeout(removal.timer);
      removal.timer = undefined;
      removal.state = 'queued';
      this.#queue.push(removal);
    }
    this.#pump();
  }

  /** Retries what waits now, and resolves when every removal pending at the call has had one more attempt (or is done). */
  attemptAll(): Promise<void> {
    const targets = new Map([...this.#held.values()].map((removal) => [removal, removal.attempts + 1]));
    this.retryNow();
    return this.#until(() => [...targets].every(([removal, attempts]) => !this.#held.has(removal.container.id) || removal.attempts >= attempts));
  }

  /** Resolves when no removal is pending. */
  whenIdle(): Promise<void> {
    return this.#until(() => this.#held.size === 0);
  }

  #until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition()) return;
        this.#listeners.delete(check);
        resolve();
      };
      this.#listeners.add(check);
    });
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency) {
      const removal = this.#queue.shift();
      if (!removal) return;
      void this.#attempt(removal);
    }
  }

  async #attempt(removal: Removal<C>): Promise<void> {
    removal.state = 'running';
    this.#running++;
    const { container, reason } = removal;
    try {
      // Called inside the try so a destroy that throws synchronously is handled like one that rejects.
      await container.destroy();
      removal.attempts++;
      this.#held.delete(container.id);
      this.#handlers.removed(container, reason, removal.attempts);
    } catch (error) {
      removal.attempts++;
      if (removal.attempts === 1) this.#handlers.firstFailure(container, reason, error);
      this.#scheduleRetry(removal);
    } finally {
      this.#running--;
      removal.settleFirstAttempt?.();
      removal.settleFirstAttempt = undefined;
      for (const listener of [...this.#listeners]) listener();
      this.#pump();
    }
  }

  #scheduleRetry(removal: Removal<C>): void {
    if (!this.#retrying) {
      removal.state = 'parked';
      return;
    }
    const { clock, retryBackoff, random } = this.#options;
    removal.state = 'waiting';
    removal.timer = clock.setTimeout(() => {
      removal.timer = undefined;
      removal.state = 'queued';
      this.#queue.push(removal);
      this.#pump();
    }, backoffDelayMs(retryBackoff, removal.attempts - 1, random));
  }
}
