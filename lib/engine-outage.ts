import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';

/**
 * Where an outage stands:
 * - `probing`: no creation starts; a probe of the engine is scheduled or running.
 * - `probe-creation`: the factory cannot list its containers, so one creation is the probe.
 * - `resuming`: the engine answered; creations run again, but the outage is over only when one succeeds (or
 *   the pool is full), so an engine that lists but cannot create yet does not flap between states.
 */
export type OutagePhase = 'probing' | 'probe-creation' | 'resuming';

/**
 * One engine outage, from the first creation that could not reach the engine to the first that succeeded
 * after it. It owns the probe timer: probes back off (jittered, doubling, capped) for the whole outage, also
 * across a half-up engine that answers a probe and then fails the next creation again.
 */
export class EngineOutage {
  readonly startedAt: number;
  phase: OutagePhase = 'probing';
  /** A probe (a call of `listRunning`) is running. */
  probeRunning = false;
  /** A creation succeeded while probing: the probe's answer ends the outage. */
  createdMeanwhile = false;
  readonly #clock: Clock;
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  #probes = 0;
  #timer: unknown;

  constructor(clock: Clock, policy: BackoffPolicy, random: () => number) {
    this.#clock = clock;
    this.#policy = policy;
    this.#random = random;
    this.startedAt = clock.now();
  }

  /** Probes scheduled so far in this outage. */
  get probes(): number {
    return this.#probes;
  }

  /** Back to `probing`: `probe` runs after the next backoff delay (replacing a probe already scheduled). */
  scheduleProbe(probe: () => void): number {
    this.phase = 'probing';
    this.cancelProbe();
    const delayMs = backoffDelayMs(this.#policy, this.#probes++, this.#random);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      probe();
    }, delayMs);
    return delayMs;
  }

  /** Cancels the scheduled probe, if any. */
  cancelProbe(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
