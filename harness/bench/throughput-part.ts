import type { Measured, Run } from './bench-parts.js';
import { figure } from './figures.js';
import { ratio } from './stats.js';
import { measureCreateRemoveCeiling, measurePoolThroughput, steadyRate, type Completions, type PoolThroughput } from './throughput.js';

/** Rounds, and jobs per round (and containers per ceiling round): long against the pool, so its full start is a small share. */
export function throughputPlan(quick: boolean, size: number): { rounds: number; perRound: number } {
  return quick ? { rounds: 1, perRound: Math.max(24, 3 * size) } : { rounds: 2, perRound: Math.max(50, 4 * size) };
}

function wallRate(runs: readonly Completions[]): number {
  const units = runs.reduce((sum, run) => sum + run.endsMs.length, 0);
  const elapsedMs = runs.reduce((sum, run) => sum + (run.doneMs - run.startMs), 0);
  return (units / elapsedMs) * 1000;
}

/**
 * Part 5c: a long stream of `true` jobs with the pool, in jobs per second, against what the engine alone does
 * for one such job (create+start+remove of a container) at the same concurrency. Measured in rounds, the order
 * reversed every other round, so a machine that gets busier or quieter during the part weighs on both sides.
 */
export async function throughputPart(run: Run): Promise<Measured> {
  const { options, factory, context } = run;
  const { size, workers } = options;
  const { signal } = context;
  const { rounds, perRound } = throughputPlan(options.quick, size);
  const ceiling: Completions[] = [];
  const withExec: Completions[] = [];
  const pool: PoolThroughput[] = [];
  const ceilingStep = async (): Promise<void> => {
    context.progress(`  engine: ${perRound} containers created and removed, ${workers} at a time`);
    ceiling.push(await measureCreateRemoveCeiling(factory, { count: perRound, concurrency: workers, signal }));
  };
  const withExecStep = async (): Promise<void> => {
    context.progress(`  engine: ${perRound} containers created, \`true\` exec'd, removed, ${workers} at a time`);
    withExec.push(await measureCreateRemoveCeiling(factory, { count: perRound, concurrency: workers, withExec: true, signal }));
  };
  const poolStep = async (): Promise<void> => {
    context.progress(`  pool: ${perRound} jobs at concurrency ${workers}`);
    pool.push(await measurePoolThroughput(factory, { count: perRound, size, workers, concurrency: workers, signal }));
  };
  for (let round = 0; round < rounds; round++) {
    // The ceiling with exec only tells what the pool itself costs, not a goal: one run of it keeps the part short.
    const steps = round === 0 ? [ceilingStep, withExecStep, poolStep] : [ceilingStep, poolStep];
    for (const step of round % 2 === 0 ? steps : [...steps].reverse()) await step();
  }
  // All leave out the first `size` completions of each round: for the pool, the jobs its full start could serve at once.
  const ceilingRate = steadyRate(ceiling, size);
  const poolRate = steadyRate(pool, size);
  const withExecRate = steadyRate(withExec, size);
  const notPassed = pool.flatMap((round) => round.notPassed);
  const leftBehind = pool.reduce((sum, round) => sum + round.leftBehind, 0);
  const figures = [
    figure('throughput.jobsPerSecond', `pool: \`true\` jobs per second at concurrency ${workers}, steady`, poolRate, 'ops/s'),
    figure('throughput.ceiling', `engine: create+start+remove per second, ${workers} at once, steady`, ceilingRate, 'containers/s'),
    figure('throughput.ratio', 'pool jobs/s / engine ceiling (goal: at least 0.9)', ratio(poolRate, ceilingRate), 'x'),
    figure('throughput.ceilingWithExec', `engine: create+start+exec \`true\`+remove per second, ${workers} at once, steady`, withExecRate, 'containers/s'),
    figure('throughput.ratioVsCeilingWithExec', 'pool jobs/s / that ceiling (what the pool itself costs)', ratio(poolRate, withExecRate), 'x'),
    figure('throughput.jobsPerSecondWall', 'pool: all jobs over the whole wall time', wallRate(pool), 'ops/s'),
    figure('throughput.ceilingWall', 'engine: all containers over the whole wall time', wallRate(ceiling), 'containers/s'),
    figure('throughput.notPassed', 'pool: jobs not passed', notPassed.length, 'count'),
  ];
  if (leftBehind > 0) figures.push(figure('throughput.leftBehind', 'pool: containers not removed', leftBehind, 'count'));
  return {
    figures,
    notes: [
      `${rounds} round(s) of runs of ${perRound}: engine ceiling, ceiling with exec (first round only), pool, in that order, reversed every other round. Engine ceiling: containers through the ${options.backend} factory, ${workers} at a time (p-queue), each created, started, ready and then removed before its slot takes the next; no pool. Ceiling with exec: the same with the job's \`busybox true\` run in between by the job runner's own call (execWithDeadline), since every job costs the engine its command too. Pool: runSuite of \`busybox true\` jobs at concurrency ${workers} with a PoolSource of ${size} (${workers} workers), full before the suite starts; a round is done when runSuite resolves, that is when the last used container is removed too.`,
      `Steady rates leave out the first ${size} completions of each round (the pool size): each window runs from the ${size}th end to everything done, so neither the full pool at the start (jobs served without waiting for the engine) nor the ceiling's ramp counts; rates are all units over all windows. The whole-wall figures are there for comparison.`,
      ...notPassed.slice(0, 5),
    ],
  };
}
