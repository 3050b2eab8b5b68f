import type { Clock } from '../../lib/clock.js';
import type { PoolLogger } from '../../lib/logger.js';

interface Suppressed {
  /** The line that opened the interval. */
  readonly message: string;
  count: number;
  timer: unknown;
}

/**
 * Log lines for things a misbehaving client or a starved host can make happen thousands of times a second
 * (refused connections, accept failures): the first of each kind is logged at once, later ones at most once
 * per `intervalMs`, and what was held back is summed up in one line when the interval ends. So a flood costs
 * a few lines a minute, and the log still says how big it was.
 */
export class RateLimitedLog {
  readonly #logger: PoolLogger;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  /** Kinds logged within their current interval, with what has been held back since. */
  readonly #quiet = new Map<string, Suppressed>();

  constructor(logger: PoolLogger, clock: Clock, intervalMs = 10_000) {
    this.#logger = logger;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  warn(kind: string, message: string): void {
    const quiet = this.#quiet.get(kind);
    if (quiet) {
      quiet.count++;
      return;
    }
    this.#logger.warn(message);
    const entry: Suppressed = { message, count: 0, timer: undefined };
    entry.timer = this.#clock.setTimeout(() => {
      this.#quiet.delete(kind);
      if (entry.count > 0) this.#logger.warn(`${message} (and ${entry.count} more like it within ${this.#intervalMs} ms)`);
    }, this.#intervalMs);
    // A held-back count must not keep a process alive that has nothing else to do.
    (entry.timer as { unref?: () => void } | undefined)?.unref?.();
    this.#quiet.set(kind, entry);
  }

  /** Logs what is held back now and stops the timers (at shutdown). */
  flush(): void {
    for (const entry of this.#quiet.values()) {
      this.#clock.clearTimeout(entry.timer);
      if (entry.count > 0) this.#logger.warn(`${entry.message} (and ${entry.count} more like it since)`);
    }
    this.#quiet.clear();
  }
}
