import { relative } from 'node:path';
import type { Measured, Run } from './bench-parts.js';
import { replayDemand, type DemandReplay, type DemandStrategy } from './demand-replay.js';
import { fixedPoolSize } from './demand-sizes.js';
import { loadDemandTrace, scaleTraceToEngine, traceArrivals, traceDurationMs, traceRates } from './demand-trace.js';
import { measureEngineCeiling } from './engine-ceiling.js';
import { figure, type Figure } from './figures.js';
import { ratio, summarize } from './stats.js';

/**
 * The reactive kind's idle TTL. The trace compresses a lab's night into half a minute, so the default (5 min)
 * would never shrink within it. A TTL does not shrink a kind in the middle of a burst whatever its length: a
 * review lowers the target only to what the current rate still needs. It decides how long surplus stays after
 * demand falls, so it must sit well under the trace's quiet tail (the last 10 s) for the shrink to show: 4 s,
 * several creation times on either engine. (It was 10 s when the trace was 36 s long, and kept when the trace
 * was cut to 30 s: then the shrink came at the trace's end.)
 */
export const reactiveIdleTtlMs = 4_000;
/** The rate window shrinks with the trace's time scale too: a minute would still remember the burst at the end. */
export const reactiveRateWindowMs = 10_000;

const strategyLabels = { peak: 'fixed pool sized for the peak', mean: 'fixed pool sized for the mean', reactive: 'reactive kind' } as const;
type StrategyKey = keyof typeof strategyLabels;

/**
 * Part 9: a demand trace (quiet, a ramp to a nightly burst, quiet again) replayed on the engine against a fixed
 * pool sized for the peak, one sized for the mean, and a kind sized by demand (HostPools), one after another with
 * the same arrivals: how many checkouts each serves at once, how long the others wait, and how many ready
 * containers each keeps idle over the trace.
 */
export async function demandPart(run: Run): Promise<Measured> {
  const { options, factory, context } = run;
  const { signal } = context;
  const written = loadDemandTrace(options.demandTrace);
  // The creation time a burst sees: `workers` creations at once, as the pool's refill makes them.
  context.progress(`  creation time: ${2 * options.workers} containers, ${options.workers} at a time`);
  const calibration = await measureEngineCeiling(factory, { count: 2 * options.workers, workers: options.workers, signal });
  const creationMs = summarize(calibration.createMs).mean;
  const { trace, factor: traceScale } = scaleTraceToEngine(written, creationMs);
  const arrivals = traceArrivals(trace);
  const durationMs = traceDurationMs(trace);
  const rates = traceRates(trace);
  const quietest = Math.min(...trace.phases.map((phase) => phase.checkoutsPerSecond).filter((rate) => rate > 0));
  const peakSize = fixedPoolSize(rates.peakPerSecond, creationMs);
  const strategies: Record<StrategyKey, DemandStrategy> = {
    peak: { min: peakSize, max: peakSize, idleTtlMs: Infinity },
    mean: { min: fixedPoolSize(rates.meanPerSecond, creationMs), max: fixedPoolSize(rates.meanPerSecond, creationMs), idleTtlMs: Infinity },
    reactive: { min: fixedPoolSize(quietest, creationMs), max: peakSize, idleTtlMs: reactiveIdleTtlMs, rateWindowMs: reactiveRateWindowMs },
  };
  const replays = {} as Record<StrategyKey, DemandReplay>;
  for (const key of ['peak', 'mean', 'reactive'] as const) {
    const { min, max } = strategies[key];
    context.progress(`  ${strategyLabels[key]} (min ${min}, max ${max}): ${arrivals.length} checkouts over ${(durationMs / 1000).toFixed(0)} s`);
    replays[key] = await replayDemand(factory, arrivals, strategies[key], { durationMs, workers: options.workers, signal });
  }
  const figures: Figure[] = [
    figure('demand.traceScale', 'trace rates scaled by (holds divided by) its referenceCreationMs / creation time', traceScale, 'x'),
    figure('demand.checkouts', 'checkouts in the trace', arrivals.length, 'count'),
    figure('demand.peakPerSecond', 'busiest phase, checkouts per second', rates.peakPerSecond, 'ops/s'),
    figure('demand.meanPerSecond', 'mean over the trace, checkouts per second', rates.meanPerSecond, 'ops/s'),
    figure('demand.creationMs', `creation time, ${options.workers} at once, mean (sizes the fixed pools)`, creationMs, 'ms'),
  ];
  for (const key of ['peak', 'mean', 'reactive'] as const) figures.push(...strategyFigures(key, strategies[key], replays[key]));
  const idleVsPeak = (key: StrategyKey): number | null => ratio(replays[key].idleContainerSeconds, replays.peak.idleContainerSeconds);
  figures.push(
    figure('demand.mean.idleVsPeak', 'mean pool idle container-seconds / peak pool', idleVsPeak('mean'), 'x'),
    figure('demand.reactive.idleVsPeak', 'reactive idle container-seconds / peak pool (goal: at most 0.6)', idleVsPeak('reactive'), 'x'),
  );
  const lag = summarize(Object.values(replays).flatMap((replay) => replay.dispatchLagMs));
  return {
    figures,
    notes: [
      `Trace ${relative(process.cwd(), options.demandTrace) || options.demandTrace}: ${trace.phases.map((phase) => `${phase.name} ${phase.durationMs / 1000} s at ${Number(phase.checkoutsPerSecond.toFixed(2))}/s holding ${Number((phase.holdMs / 1000).toFixed(2))} s`).join(', ')}${written.referenceCreationMs === undefined ? ' (as written)' : ` (written for a creation time of ${written.referenceCreationMs} ms: rates multiplied, and holds divided, by ${written.referenceCreationMs} / ${creationMs.toFixed(0)} = ${traceScale.toFixed(2)}, so that the load λW, which sets what a pool must hold, is the one written)`}; seeded Poisson arrivals per phase (seed ${trace.seed} + phase index), the same ${arrivals.length} for every strategy, replayed open loop on the ${options.backend} engine in the order peak, mean, reactive.`,
      `Each checkout is HostPools.get(kind, { timeoutMs: Infinity }) at its arrival time, its container held for the phase's holdMs with nothing run in it, then release()d (removed). All three strategies are one HostPools kind (maxCreations ${options.workers}, maxWorkers ${options.workers}), full at its min before the first arrival: the fixed pools have min = max and an infinite idle TTL; the reactive kind min ${strategies.reactive.min} (the rule below at the quietest phase's rate), max ${strategies.reactive.max} (the peak pool: the host affords no more for this kind), idle TTL ${reactiveIdleTtlMs / 1000} s (the trace compresses a night into ${Math.round(durationMs / 1000)} s; the default 5 min would never shrink in it), DemandSizer's rate window ${reactiveRateWindowMs / 1000} s (its λ the larger of that window's rate and the rate of its newest five checkouts).`,
      `Fixed sizes from the rule DemandSizer applies, ceil(λW + 2·sqrt(λW)), with λ the peak phase's or the trace's mean rate and W the mean creation time of ${2 * options.workers} containers made ${options.workers} at a time at the start of the part (${creationMs.toFixed(0)} ms).`,
      `Served at once: the pool handed out a ready container, waiting for no creation (its checkout event's outcome \`ready\`, waitMs 0); the wait figures are get() call to container in hand, wall clock. Idle container-seconds: the kind's ready count (status()) integrated over the trace's ${durationMs / 1000} s as a step function, read on every pool event and checkout and every 100 ms. Created: creations that delivered a container during the trace, the fill before it not counted. Harness dispatch lag (get() called after its arrival time) p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms.`,
    ],
  };
}

function strategyFigures(key: StrategyKey, strategy: DemandStrategy, replay: DemandReplay): Figure[] {
  const label = strategyLabels[key];
  const waits = summarize(replay.waitsMs);
  const figures: Figure[] =
    key === 'reactive'
      ? [
          figure('demand.reactive.min', `${label}: min`, strategy.min, 'count'),
          figure('demand.reactive.max', `${label}: max`, strategy.max, 'count'),
          figure('demand.reactive.maxTarget', `${label}: highest target during the trace`, replay.maxTarget, 'count'),
          figure('demand.reactive.endTarget', `${label}: target when the trace ended`, replay.endTarget, 'count'),
          figure('demand.reactive.removedSurplus', `${label}: ready containers removed unused as it shrank`, replay.removedSurplus, 'count'),
        ]
      : [figure(`demand.${key}.size`, `${label}: size`, strategy.min, 'count')];
  figures.push(
    figure(`demand.${key}.servedAtOnce`, `${label}: checkouts served at once${key === 'reactive' ? ' (goal: at least 95%)' : ''}`, (replay.servedAtOnce / replay.waitsMs.length) * 100, '%'),
    figure(`demand.${key}.waitP50Ms`, `${label}: checkout wait p50`, waits.p50, 'ms'),
    figure(`demand.${key}.waitP99Ms`, `${label}: checkout wait p99`, waits.p99, 'ms'),
    figure(`demand.${key}.waitMaxMs`, `${label}: checkout wait max`, waits.max, 'ms'),
    figure(`demand.${key}.idleContainerSeconds`, `${label}: ready containers integrated over the trace`, replay.idleContainerSeconds, 'container-s'),
    figure(`demand.${key}.created`, `${label}: containers created during the trace`, replay.created, 'count'),
  );
  if (replay.failedCreations > 0) figures.push(figure(`demand.${key}.failedCreations`, `${label}: creations failed`, replay.failedCreations, 'count'));
  if (replay.notRemoved > 0) figures.push(figure(`demand.${key}.notRemoved`, `${label}: containers not removed`, replay.notRemoved, 'count'));
  return figures;
}
