/** Standard deviations of Poisson headroom over the mean: the same 2 as DemandSizer's. */
const headroomDeviations = 2;

/**
 * The fixed pool size that serves checkouts arriving at `ratePerSecond` at once when each takes `creationMs` to
 * replace: Little's law gives λW containers on their way on average, and the count on its way is Poisson, so
 * 2·sqrt(λW) more cover the bursts. It is the rule DemandSizer applies to its measured rate (lib/demand-sizing.ts),
 * so the fixed pools and the reactive kind differ in when they size, not in how. At least 1.
 */
export function fixedPoolSize(ratePerSecond: number, creationMs: number): number {
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond >= 0)) throw new RangeError(`Expected a rate from 0 up, got ${ratePerSecond}`);
  if (!(Number.isFinite(creationMs) && creationMs >= 0)) throw new RangeError(`Expected a creation time from 0 ms up, got ${creationMs}`);
  const load = (ratePerSecond * creationMs) / 1000;
  // The slack keeps float noise (2.0000000000000004) from costing a whole container, as in DemandSizer.
  return Math.max(1, Math.ceil(load + headroomDeviations * Math.sqrt(load) - 1e-9));
}
