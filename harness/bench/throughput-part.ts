import type { Measured, Run } from './bench-parts.js';
import { figure } from './figures.js';
import { ratio } from './stats.js';
import { measureCreateRemoveCeiling, measurePoolThroughput, steadyRate, type Completions } from './throughput.js';

/** Jobs in the stream (and containers in the ceiling): long against the pool, so its full start is a small share. */
export function throughputJobs(quick: boolean, size: number): number {
  return Math.max(quick ? 40 : 100, 5 * size);
}

function wallRate({ startMs, endsMs, doneMs }: Completions): number {
  return (endsMs.length / (doneMs - startMs)) * 1000;
}

/**
 * Part 5c: a long stream of `true` jobs with the pool, in jobs per second, against what the engine alone does
 * for one such job (create+start+remove of a container) at the same concurrency.
 */
export async function throughputPart(run: Run): Promise<Measured> {
  const { options, factory, context } = run;
  const { size, workers } = options;
  const count = throughputJobs(options.quick, size);
  context.progress(`  engine: ${count} containers created and removed, ${workers} at a time`);
  const ceiling = await measureCreateRemoveCeiling(factory, { count, concurrency: workers, signal: context.signal });
  context.progress(`  engine: ${count} containers created, \`true\` exec'd, removed, ${workers} at a time`);
  const withExec = await measureCreateRemoveCeiling(factory, { count, concurrency: workers, withExec: true, signal: context.signal });
  context.progress(`  pool: ${count} jobs at concurrency ${workers}`);
  const pool = await measurePoolThroughput(factory, { count, size, workers, concurrency: workers, signal: context.signal });
  // Both leave out the first `size` completions: for the pool, the jobs its full start could serve at once.
  const ceilingRate = steadyRate(ceiling, size);
  const poolRate = steadyRate(pool, size);
  const withExecRate = steadyRate(withExec, size);
  const figures = [
    figure('throughput.jobsPerSecond', `pool: \`true\` jobs per second at concurrency ${workers}, steady`, poolRate, 'ops/s'),
    figure('throughput.ceiling', `engine: create+start+remove per second, ${workers} at once, steady`, ceilingRate, 'containers/s'),
    figure('throughput.ratio', 'pool jobs/s / engine ceiling (goal: at least 0.9)', ratio(poolRate, ceilingRate), 'x'),
    figure('throughput.ceilingWithExec', `engine: create+start+exec \`true\`+remove per second, ${workers} at once, steady`, withExecRate, 'containers/s'),
    figure('throughput.ratioVsCeilingWithExec', 'pool jobs/s / that ceiling (what the pool itself costs)', ratio(poolRate, withExecRate), 'x'),
    figure('throughput.jobsPerSecondWall', 'pool: all jobs over the whole wall time', wallRate(pool), 'ops/s'),
    figure('throughput.ceilingWall', 'engine: all containers over the whole wall time', wallRate(ceiling), 'containers/s'),
    figure('throughput.notPassed', 'pool: jobs not passed', pool.notPassed.length, 'count'),
  ];
  if (pool.leftBehind > 0) figures.push(figure('throughput.leftBehind', 'pool: containers not removed', pool.leftBehind, 'count'));
  return {
    figures,
    notes: [
      `Engine ceiling: ${count} containers through the ${options.backend} factory, ${workers} at a time (p-queue), each created, started, ready and then removed before its slot takes the next; no pool; then the same with the job's \`busybox true\` exec'd in between (the job runner's execWithDeadline), since every job costs the engine its exec too. Pool: runSuite of ${count} jobs of \`busybox true\` at concurrency ${workers} with a PoolSource of ${size} (${workers} workers), full before the suite starts; it is done when runSuite resolves, that is when the last used container is removed too.`,
      `Steady rates leave out the first ${size} completions of each (the pool size): the window runs from the ${size}th end to everything done, so neither the full pool at the start (jobs served without waiting for the engine) nor the ceiling's ramp counts; the whole-wall figures are there for comparison.`,
      ...pool.notPassed.slice(0, 5),
    ],
  };
}
