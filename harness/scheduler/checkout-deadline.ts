import type { Clock } from '../../lib/clock.js';

/**
 * A checkout's deadline that stands still while the engine cannot be reached: a short engine outage (a restart,
 * an upgrade) delays the jobs waiting for containers instead of failing them, since the pool creates again by
 * itself once the engine is back. It stands still for at most `maxPausedMs` in all, so a job does not wait for
 * an engine that never comes back for longer than its timeout plus that allowance.
 */
export class OutagePausedDeadline {
  readonly #clock: Clock;
  readonly #maxPausedMs: number;
  readonly #expire: () => void;
  #remainingMs: number;
  #runningSince: number | undefined;
  #pausedSince: number | undefined;
  #pausedMs = 0;
  #timer: unknown;
  #done = false;

  /** Starts running at once (or paused, with `paused`); `expire` is called once, when it runs out. */
  constructor(clock: Clock, timeoutMs: number, maxPausedMs: number, expire: () => void, paused = false) {
    this.#clock = clock;
    this.#remainingMs = timeoutMs;
    this.#maxPausedMs = maxPausedMs;
    this.#expire = expire;
    if (paused) this.pause();
    else this.#run();
  }

  /** Time it stood still so far. */
  get pausedMs(): number {
    return this.#pausedMs + (this.#pausedSince === undefined ? 0 : this.#clock.now() - this.#pausedSince);
  }

  /** The engine cannot be reached: stop counting (until the allowance is spent). */
  pause(): void {
    if (this.#done || this.#pausedSince !== undefined) return;
    const allowanceMs = this.#maxPausedMs - this.#pausedMs;
    if (allowanceMs <= 0) return;
    this.#stopTimer();
    if (this.#runningSince !== undefined) this.#remainingMs -= this.#clock.now() - this.#runningSince;
    this.#runningSince = undefined;
    this.#pausedSince = this.#clock.now();
    // Past the allowance the deadline runs again, engine or not.
    this.#timer = this.#clock.setTimeout(() => this.resume(), allowanceMs);
  }

  /** The engine answers again: count on. */
  resume(): void {
    if (this.#done || this.#pausedSince === undefined) return;
    this.#stopTimer();
    this.#pausedMs += this.#clock.now() - this.#pausedSince;
    this.#pausedSince = undefined;
    this.#run();
  }

  /** The checkout ended another way. */
  cancel(): void {
    this.#done = true;
    this.#stopTimer();
  }

  #run(): void {
    this.#runningSince = this.#clock.now();
    // Infinity waits for as long as it takes: no timer at all.
    if (!Number.isFinite(this.#remainingMs)) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#done = true;
      this.#expire();
    }, Math.max(0, this.#remainingMs));
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
