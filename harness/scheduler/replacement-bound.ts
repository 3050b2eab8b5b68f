/** The least number of dead-at-first-use containers one attempt replaces, however small the pool. */
export const minReplacements = 10;

/**
 * How many containers found dead at first use one attempt replaces before it ends `error`, for a source that
 * keeps `capacity` containers ready: the larger of 10 and twice the capacity.
 *
 * Not a small constant, because one engine restart stops every pooled container at once, and each of them may be
 * handed out before the engine's events (or the pool's reconcile) have told the pool: under load one job can meet
 * a whole pool's worth of dead containers in a row through no fault of its own. Twice the capacity, since the
 * refills the pool had started as the engine went down can die with them; at least 10, so that a small pool rides
 * through a restart as well. Still a bound: a source that makes nothing but dead containers ends the attempt
 * `error` instead of looping for ever.
 */
export function maxReplacementsFor(capacity: number): number {
  return Number.isFinite(capacity) ? Math.max(minReplacements, 2 * capacity) : minReplacements;
}
