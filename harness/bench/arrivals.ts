/**
 * Arrival times for an open-loop load: a Poisson process (exponential gaps) drawn from a seeded generator, so a
 * run can be repeated with the very same schedule, and the pool and the create-per-job baseline see the same one.
 */

/** A seeded uniform generator (mulberry32): fast, 32 bits of state, good enough to draw inter-arrival gaps. */
export function mulberry32(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Expected an integer seed, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    // Shifted by half a step, so it never returns 0 or 1: the logarithm of the gap below is always finite and
    // every gap is above zero, which keeps the arrival times strictly increasing.
    return (((mixed ^ (mixed >>> 14)) >>> 0) + 0.5) / 4_294_967_296;
  };
}

export interface ArrivalScheduleOptions {
  /** Mean arrivals per second (λ). */
  readonly ratePerSecond: number;
  readonly seed: number;
  /** Arrivals up to this offset, in ms. At least one of `durationMs` and `count` must be given; both: whichever ends first. */
  readonly durationMs?: number;
  /** At most this many arrivals. */
  readonly count?: number;
}

/**
 * Arrival offsets in ms from the schedule's start, strictly increasing: gaps drawn from the exponential
 * distribution of mean 1/λ, so arrivals do not bunch the way a fixed interval never does, and a slow job never
 * delays the next one (the caller starts each at its time, whatever is still running).
 */
export function poissonArrivals({ ratePerSecond, seed, durationMs, count }: ArrivalScheduleOptions): number[] {
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`Expected an arrival rate above 0 per second, got ${ratePerSecond}`);
  if (durationMs === undefined && count === undefined) throw new RangeError('Expected a duration or a count of arrivals, got neither');
  if (durationMs !== undefined && !(Number.isFinite(durationMs) && durationMs >= 0)) {
    throw new RangeError(`Expected a duration of 0 ms or more, got ${durationMs}`);
  }
  if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) throw new RangeError(`Expected a count of arrivals from 0 up, got ${count}`);
  const random = mulberry32(seed);
  const meanGapMs = 1000 / ratePerSecond;
  const limit = count ?? Infinity;
  const endMs = durationMs ?? Infinity;
  const arrivals: number[] = [];
  let atMs = 0;
  while (arrivals.length < limit) {
    atMs += -Math.log(random()) * meanGapMs;
    if (atMs > endMs) break;
    arrivals.push(atMs);
  }
  return arrivals;
}

/**
 * `count` arrivals of a Poisson process of rate λ conditioned on its (count+1)th arrival falling at exactly
 * (count+1)/λ seconds: the arrival times are then uniform order statistics over that window, still random and
 * bunched like Poisson arrivals, but the load offered is λ on the dot. A plain schedule of 50 arrivals can
 * offer 25% less or more than asked by chance alone, which would blur a comparison between loads.
 */
export function poissonArrivalsAtRate({ ratePerSecond, seed, count }: { ratePerSecond: number; seed: number; count: number }): number[] {
  if (!(Number.isSafeInteger(count) && count >= 0)) throw new RangeError(`Expected a count of arrivals from 0 up, got ${count}`);
  const drawn = poissonArrivals({ ratePerSecond, seed, count: count + 1 });
  const endMs = drawn.at(-1) ?? 0;
  const scale = ((count + 1) * 1000) / ratePerSecond / endMs;
  return drawn.slice(0, count).map((atMs) => atMs * scale);
}
