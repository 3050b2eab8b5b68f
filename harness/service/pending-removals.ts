import PQueue from 'p-queue';
import { backoffDelayMs, type BackoffPolicy } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import type { Container } from '../../lib/container.js';
import { ContainerDestroyError, errorMessage } from '../../lib/errors.js';
import type { PoolLogger } from '../../lib/logger.js';
import type { RateLimitedLog } from './rate-limited-log.js';

/** Why the service removes a container it had handed out. */
export type ServiceDestroyReason = 'released' | 'disconnected' | 'abandoned' | 'shutdown';

/** One removal attempt's result, for metrics. */
export interface RemovalAttempt {
  readonly container: Container;
  readonly reason: ServiceDestroyReason;
  readonly ok: boolean;
  /** 0 for the first attempt. */
  readonly attempt: number;
}

export type FirstAttempt = { readonly ok: true } | { readonly ok: false; readonly error: ContainerDestroyError };

export interface PendingRemovalsOptions {
  readonly clock: Clock;
  readonly logger: PoolLogger;
  readonly log: RateLimitedLog;
  /** Removals at once, so a connection going with many containers does not hit the engine with all at once. */
  readonly concurrency: number;
  readonly backoff?: BackoffPolicy;
  /** Called with the first failure of each container (the service queues it for `errors`). */
  readonly onFirstFailure: (error: ContainerDestroyError) => void;
  readonly onAttempt: (attempt: RemovalAttempt) => void;
  /** Draws the backoff jitter; tests pass their own. @default Math.random */
  readonly random?: () => number;
}

/** Retries of a failed removal: 1-2 s, then doubling up to 30 s (the engine is down or busy; it comes back). */
export const removalBackoff: BackoffPolicy = { baseMs: 2000, maxMs: 30_000 };

interface Removal {
  readonly container: Container;
  readonly reason: ServiceDestroyReason;
  attempts: number;
  /** Wakes a retry that is waiting out its backoff (at shutdown, so the last tries come at once). */
  wake: (() => void) | undefined;
  /** Settles when it is removed, or when `drain` gave up on it. */
  gone: Promise<void>;
}

/**
 * Containers the service must remove and has not yet: each is tried at once and, if that fails, again and
 * again with backoff until the engine lets it go. It is never forgotten: it stays here (counted in `status` and
 * the metrics, named in the log) until removed, and at shutdown `drain` waits for what is left and names
 * whatever it still could not remove.
 */
export class PendingRemovals {
  readonly #options: PendingRemovalsOptions;
  readonly #queue: PQueue;
  readonly #removals = new Map<Container, Removal>();
  #stopped = false;

  constructor(options: PendingRemovalsOptions) {
    this.#options = options;
    this.#queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Containers not yet removed. */
  get size(): number {
    return this.#removals.size;
  }

  names(): string[] {
    return [...this.#removals.keys()].map((container) => container.name);
  }

  /**
   * Removes `container`, retrying until it is gone. Resolves after the first attempt with its result; the
   * retries after a failure go on in the background.
   */
  remove(container: Container, reason: ServiceDestroyReason): Promise<FirstAttempt> {
    const existing = this.#removals.get(container);
    // Already being removed: its first attempt was reported to whoever asked first; this caller waits for the end.
    if (existing) return existing.gone.then(() => ({ ok: true }));
    let reportFirst!: (first: FirstAttempt) => void;
    const first = new Promise<FirstAttempt>((resolve) => (reportFirst = resolve));
    const removal: Removal = { container, reason, attempts: 0, wake: undefined, gone: first.then(() => undefined) };
    this.#removals.set(container, removal);
    removal.gone = this.#run(removal, reportFirst).catch((error: unknown) => {
      // A bug (a listener that threw): the container stays listed as not removed rather than vanish.
      this.#options.logger.error(`removing container ${container.name}: ${errorMessage(error)}`);
      reportFirst({ ok: false, error: new ContainerDestroyError(container.name, error) });
    });
    return first;
  }

  /**
   * At shutdown: retries every pending removal at once, keeps retrying until `timeoutMs` has passed, then
   * stops. Resolves with the names of the containers it could not remove.
   */
  async drain(timeoutMs: number): Promise<string[]> {
    const { clock } = this.#options;
    if (this.#removals.size > 0) {
      for (const removal of this.#removals.values()) removal.wake?.();
      let timer: unknown;
      const deadline = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all([...this.#removals.values()].map((removal) => removal.gone)), deadline]);
      clock.clearTimeout(timer);
    }
    this.#stopped = true;
    for (const removal of this.#removals.values()) removal.wake?.();
    return this.names();
  }

  async #run(removal: Removal, reportFirst: (first: FirstAttempt) => void): Promise<void> {
    const { container, reason } = removal;
    const { logger, log, onAttempt, onFirstFailure } = this.#options;
    for (;;) {
      const attempt = removal.attempts++;
      const failure = await this.#queue.add(() => container.destroy()).then(
        () => undefined,
        (cause: unknown) => new ContainerDestroyError(container.name, cause),
      );
      this.#safely(() => onAttempt({ container, reason, ok: failure === undefined, attempt }));
      if (failure === undefined) {
        this.#removals.delete(container);
        if (attempt === 0) reportFirst({ ok: true });
        else logger.info(`removed container ${container.name} at attempt ${attempt + 1}`);
        return;
      }
      if (attempt === 0) {
        this.#safely(() => onFirstFailure(failure));
        reportFirst({ ok: false, error: failure });
      }
      if (this.#stopped) return;
      const delayMs = backoffDelayMs(this.#options.backoff ?? removalBackoff, attempt, this.#options.random);
      log.warn(
        'removal-retry',
        `removing container ${container.name} failed (attempt ${attempt + 1}: ${errorMessage(failure.cause)}); ` +
          `retrying in ${delayMs} ms; ${this.#removals.size} removal(s) pending`,
      );
      await this.#sleep(removal, delayMs);
      if (this.#stopped) return;
    }
  }

  /** A listener's bug must not stop a removal (nor leave one listed as pending after it succeeded). */
  #safely(notify: () => void): void {
    try {
      notify();
    } catch (error) {
      this.#options.logger.error(`a removal listener threw; ignored: ${errorMessage(error)}`);
    }
  }

  #sleep(removal: Removal, delayMs: number): Promise<void> {
    const { clock } = this.#options;
    return new Promise<void>((resolve) => {
      const timer = clock.setTimeout(wake, delayMs);
      function wake(): void {
        clock.clearTimeout(timer);
        removal.wake = undefined;
        resolve();
      }
      removal.wake = wake;
    });
  }
}
