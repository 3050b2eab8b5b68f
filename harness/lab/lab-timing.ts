/**
 * How fast the lab notices a dead host, and why it cannot mistake a live one for dead.
 *
 * A worker holds a lock on each job it runs (a Redis key with a TTL of `lockDuration`), renewed by a timer in
 * the worker every `lockRenewTime / 2` for the jobs whose lock is older than that, i.e. every 1-2 s. Every
 * `stalledInterval` one worker of the queue (whichever gets there first) moves the active jobs whose lock has
 * expired, and that were already active at the check before, back to wait; another host takes them at once.
 *
 * After a SIGKILL the lock expires within `lockDuration` (3 to 5 s after the kill, as the last renewal was at
 * most 2 s before it), and the next check finds it gone: the job is waiting again within about
 * lockDuration + stalledInterval = 7 s of the kill, 9 s in the worst alignment of the checks, instead of the 30
 * to 60 s of BullMQ's defaults (30 s lock, 30 s interval).
 *
 * A long job is never taken for dead: the lock does not measure the job, only the worker's renewal timer, which
 * keeps running however long the job takes. What could stop the renewals is the worker's event loop being
 * blocked for more than lockDuration - lockRenewTime = 3 s, and the worker keeps it free: the job's command
 * runs in its container, the worker only waits on the engine and Redis (no CPU work in process). A job that
 * loses its lock anyway runs again elsewhere and the first run's result is refused by Redis (its lock token no
 * longer matches): at least once, never lost.
 */
export const labTiming = {
  lockDurationMs: 5_000,
  /** The lock is renewed when older than half of this, on a timer of half of this: every 1-2 s. */
  lockRenewTimeMs: 2_000,
  stalledIntervalMs: 2_000,
  /**
   * A job whose host died under it this many times is failed instead of run again (a job that kills its host
   * would otherwise take every host down one after the other). Each of those runs is an infrastructure retry.
   */
  maxStalledCount: 3,
  /** A host's registry entry says it is alive while its heartbeat, written every second, is this fresh. */
  heartbeatMs: 1_000,
  aliveTtlMs: 5_000,
  /** Finished suites and jobs are kept this long in Redis, for `warmpool results` and `lab status`. */
  keepFinishedSeconds: 7 * 24 * 3600,
} as const;
