import { poissonArrivalsAtRate } from './arrivals.js';

/** The loads the issue asks for, as shares of the engine ceiling. */
export const openLoopLoads = [0.25, 0.5, 0.9] as const;

/** The share of each load's jobs, by arrival order, left out of its figures: the pool starts full, the engine idle. */
export const warmUpShare = 0.2;

export interface OpenLoopLoad {
  /** `load25`, `load50`, `load90`: the key in the figures. */
  readonly key: string;
  readonly share: number;
  /** Arrivals per second (λ). */
  readonly ratePerSecond: number;
  /** Arrival offsets in ms; the same schedule for the pool and the create-per-job runs. */
  readonly arrivalsMs: readonly number[];
  /** The first this many jobs are the warm-up. */
  readonly warmUpJobs: number;
}

export interface OpenLoopBudget {
  /** Arrivals per load and source aim at this long a window... */
  readonly windowMs: number;
  /** ...with at least this many jobs (a slow engine's low load would give too few for a p99)... */
  readonly minJobs: number;
  /** ...unless that takes longer than this (a slow or busy engine's low load would take a minute)... */
  readonly maxWindowMs: number;
  /** ...and at most this many (a fast engine's high load would run for minutes of engine work). */
  readonly maxJobs: number;
}

/**
 * Per run: about 7 s of arrivals per load and source, 24 to 240 jobs, at most 12 s. On Docker (ceiling near
 * 8/s) that is 24, 28 and 50 jobs, about 26 s of arrivals per source; on LXC (near 40/s) 70, 140 and 240, the
 * cap keeping the busiest load to under 7 s. (Shorter than it was, so the whole bench keeps to its 8 minutes
 * with the demand, pause and lab parts.)
 */
export function openLoopBudget(quick: boolean): OpenLoopBudget {
  return quick
    ? { windowMs: 1_500, minJobs: 6, maxWindowMs: 2_500, maxJobs: 40 }
    : { windowMs: 7_000, minJobs: 24, maxWindowMs: 12_000, maxJobs: 240 };
}

/** Each load's schedule at `share × ceilingPerSecond`, seeded by its share so every run replays the same one. */
export function planOpenLoop(ceilingPerSecond: number, budget: OpenLoopBudget): OpenLoopLoad[] {
  if (!(Number.isFinite(ceilingPerSecond) && ceilingPerSecond > 0)) throw new RangeError(`Expected an engine ceiling above 0 per second, got ${ceilingPerSecond}`);
  return openLoopLoads.map((share) => {
    const ratePerSecond = share * ceilingPerSecond;
    const jobsIn = (ms: number): number => Math.round((ratePerSecond * ms) / 1000);
    const count = Math.max(1, Math.min(budget.maxJobs, jobsIn(budget.maxWindowMs), Math.max(budget.minJobs, jobsIn(budget.windowMs))));
    const percent = Math.round(share * 100);
    return {
      key: `load${percent}`,
      share,
      ratePerSecond,
      arrivalsMs: poissonArrivalsAtRate({ ratePerSecond, seed: 1400 + percent, count }),
      warmUpJobs: Math.ceil(count * warmUpShare),
    };
  });
}
