/**
 * Summary statistics for benchmark samples. Percentiles interpolate linearly between the two nearest ranks
 * (numpy's default, "type 7"), so p50 of an even count is the mean of the two middle values and p99 of fewer
 * than 100 samples lies between the two largest.
 */

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  /** The 99.9th percentile: below 1,000 samples it lies between the two largest, so it is close to the max. */
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** The `fraction` quantile (0 to 1) of `sorted`, which must be in ascending order and not empty. */
export function quantileOfSorted(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) throw new RangeError('Expected at least one sample, got none');
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`Expected a fraction from 0 to 1, got ${fraction}`);
  const rank = fraction * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const low = sorted[below] ?? Number.NaN;
  const high = sorted[above] ?? Number.NaN;
  return low + (high - low) * (rank - below);
}

/** The `percent` percentile (0 to 100) of samples in any order. */
export function percentile(samples: readonly number[], percent: number): number {
  return quantileOfSorted(sortAscending(samples), percent / 100);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = sortAscending(samples);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    min: quantileOfSorted(sorted, 0),
    p50: quantileOfSorted(sorted, 0.5),
    p99: quantileOfSorted(sorted, 0.99),
    p999: quantileOfSorted(sorted, 0.999),
    max: quantileOfSorted(sorted, 1),
    mean: sum / sorted.length,
  };
}

/** `count` events over `elapsedMs` as a rate per second. */
export function perSecond(count: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`Expected a positive duration, got ${elapsedMs} ms`);
  return (count / elapsedMs) * 1000;
}

/** `numerator / denominator`, or null when the denominator is 0 or either side is missing. */
export function ratio(numerator: number | undefined, denominator: number | undefined): number | null {
  if (numerator === undefined || denominator === undefined || denominator === 0) return null;
  return numerator / denominator;
}

function sortAscending(samples: readonly number[]): number[] {
  for (const value of samples) {
    if (!Number.isFinite(value)) throw new RangeError(`Expected finite samples, got ${value}`);
  }
  return [...samples].sort((a, b) => a - b);
}
