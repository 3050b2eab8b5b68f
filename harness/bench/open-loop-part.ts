import { PoolSource } from '../scheduler/container-source.js';
import type { Measured, Run } from './bench-parts.js';
import { CreatePerJobSource } from './create-per-job-source.js';
import { measureCreateRemoveCeiling, steadyRate } from './throughput.js';
import { findValue } from './figures.js';
import { measureBareExec, measureRunnerExec } from './open-loop-bare-exec.js';
import { openLoopFigures, type OpenLoopLoadRuns } from './open-loop-figures.js';
import { openLoopBudget, planOpenLoop, warmUpShare } from './open-loop-plan.js';
import { runOpenLoop, type OpenLoopRun } from './open-loop.js';
import { summarize } from './stats.js';
import { whenFull } from './when-full.js';

/**
 * Part 5b: jobs arriving over time (Poisson) at 25%, 50% and 90% of the engine ceiling, each started at its
 * arrival whatever is still running, with the pool and with a container created per job; against the bare exec
 * into an idle container, measured in the same part before and after the loads.
 */
export async function openLoopPart(run: Run): Promise<Measured> {
  const { options, factory, context } = run;
  const { signal } = context;
  const notes: string[] = [];
  // Every job costs the engine a creation and a removal, with the pool or without it, so the engine's capacity
  // for jobs is its create+start+remove rate, not its create rate: loads are shares of that. Part 5c, run just
  // before, measured it at length; without 5c it is measured here.
  const fromThroughput = findValue(run.parts, 'throughput.ceiling');
  let ceilingPerSecond: number;
  let ceilingHow: string;
  if (fromThroughput !== undefined) {
    ceilingPerSecond = fromThroughput;
    ceilingHow = `part 5c's engine ceiling, measured just before this part (containers created, started and removed through the factory, ${options.workers} at a time, no pool; steady rate)`;
  } else {
    context.progress(`  job ceiling: ${5 * options.size} containers created and removed, ${options.workers} at a time`);
    const ceilingRun = await measureCreateRemoveCeiling(factory, { count: 5 * options.size, concurrency: options.workers, signal });
    ceilingPerSecond = steadyRate(ceilingRun, options.workers);
    ceilingHow = `the engine's job ceiling measured at the start of this part (part 5c was left out): ${5 * options.size} containers created, started and removed through the factory, ${options.workers} at a time, no pool; its steady rate leaves out the first ${options.workers} completions (the ramp)`;
  }
  notes.push(
    `The loads are shares of ${ceilingHow}. Part 1's create-only ceiling (${findValue(run.parts, 'ceiling.createPerSecond')?.toFixed(1) ?? 'not measured'}/s) would overload the engine at 90%: a job costs a removal too.`,
  );
  const budget = openLoopBudget(options.quick);
  const loads = planOpenLoop(ceilingPerSecond, budget);
  const bareSamples = Math.max(10, options.samples);
  const bareBefore = await measureBareExec(factory, { samples: bareSamples, signal });

  const results: OpenLoopLoadRuns[] = [];
  const poolSource = PoolSource.start(factory, { size: options.size, maxWorkers: options.workers, maxErrorsPerHour: Infinity });
  try {
    for (const load of loads) {
      const jobs = load.arrivalsMs.length;
      // Full before the arrivals start, and again before the create-per-job run, so that run does not share the
      // engine with the pool's refill.
      await whenFull(poolSource.pool, { failOnError: true, signal });
      context.progress(`  ${load.key}: ${jobs} jobs at ${load.ratePerSecond.toFixed(1)}/s, pool`);
      const pool = await runOpenLoop(poolSource, load.arrivalsMs, { signal });
      await whenFull(poolSource.pool, { failOnError: true, signal });
      context.progress(`  ${load.key}: ${jobs} jobs at ${load.ratePerSecond.toFixed(1)}/s, create per job`);
      const perJob = await runPerJob(run, load.arrivalsMs);
      results.push({ load, pool, perJob });
    }
  } finally {
    await poolSource.close();
  }
  const bareAfter = await measureBareExec(factory, { samples: bareSamples, signal });
  const bareExec = summarize([...bareBefore, ...bareAfter]);
  const runnerExecSamples = options.quick ? 5 : 10;
  const runnerExec = summarize(await measureRunnerExec(factory, { samples: runnerExecSamples, signal }));

  const failures = results.flatMap(({ load, pool, perJob }) =>
    (
      [
        ['pool', pool],
        ['per job', perJob],
      ] as const
    ).flatMap(([label, measured]) =>
      measured.jobs
        .filter((job) => job.result.status !== 'passed')
        .map((job) => `${load.key} ${label}: ${job.result.name} ${job.result.status}${job.result.reason === undefined ? '' : ` (${job.result.reason})`}`),
    ),
  );
  return {
    figures: openLoopFigures(ceilingPerSecond, { bareExec, runnerExec }, results),
    notes: [
      ...notes,
      `Per load, λ = share x ceiling (${ceilingPerSecond.toFixed(1)}/s); a seeded Poisson schedule (conditioned to offer exactly λ over its window) of about ${budget.windowMs / 1000} s of arrivals, ${budget.minJobs} to ${budget.maxJobs} jobs, at most ${budget.maxWindowMs / 1000} s (${loads.map((load) => `${load.key} ${load.arrivalsMs.length}`).join(', ')}); the same schedule for both sources. Each job starts at its arrival time with no cap on how many run at once (open loop) and goes through the scheduler's runJob with a removal queue, as in \`warmpool run\`, running \`busybox adjtimex\`: arrival to command running is the kernel time it printed minus the scheduled arrival.`,
      `The first ${warmUpShare * 100}% of each load's jobs (by arrival) are a warm-up left out of the figures (the pool starts full, the engine idle); not-passed counts include them. Pool of ${options.size}, ${options.workers} workers, full before each load; loads run in order 25, 50, 90%, each with the pool, then (pool full again, idle) with a container created per job.`,
      `Bare exec: the engine's exec (container.exec) of the same command into one idle running container, with the options the job runner gives a command (timeout, env, signal), one at a time with nothing else running, ${bareSamples} samples before the loads and ${bareSamples} after, in a new container each time; the figures pool both sets. Timed from just before the call to the printed kernel time. Runner exec: the job runner's own call (execWithDeadline, which takes the backend's execFinal where it has one: Docker's agent) once into each of ${runnerExecSamples} fresh idle containers, one at a time after the loads with nothing else running, as every pool job's command is the first and last its container runs.`,
      ...failures.slice(0, 5),
    ],
  };
}

async function runPerJob(run: Run, arrivalsMs: readonly number[]): Promise<OpenLoopRun> {
  const source = new CreatePerJobSource(run.factory);
  try {
    return await runOpenLoop(source, arrivalsMs, { signal: run.context.signal });
  } finally {
    await source.close();
  }
}
