import { figure, type Figure } from './figures.js';
import type { OpenLoopJob, OpenLoopRun } from './open-loop.js';
import type { OpenLoopLoad } from './open-loop-plan.js';
import { ratio, summarize, type Summary } from './stats.js';

export interface OpenLoopLoadRuns {
  readonly load: OpenLoopLoad;
  readonly pool: OpenLoopRun;
  readonly perJob: OpenLoopRun;
}

const sourceLabels = { pool: 'pool', perJob: 'create per job' } as const;

/** A summary of the values, or undefined when there are none (every job failed): its figures are then null. */
function summaryOf(values: readonly (number | undefined)[]): Summary | undefined {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length === 0 ? undefined : summarize(present);
}

/** The jobs past the warm-up: the ones the figures are about. */
export function measuredJobs(load: OpenLoopLoad, run: OpenLoopRun): readonly OpenLoopJob[] {
  return run.jobs.slice(load.warmUpJobs);
}

function sourceFigures(prefix: string, label: string, jobs: readonly OpenLoopJob[], run: OpenLoopRun): Figure[] {
  const toCommand = summaryOf(jobs.map((job) => job.toCommandMs));
  const exec = summaryOf(jobs.map((job) => job.execMs));
  const toContainer = summaryOf(jobs.map((job) => job.toContainerMs));
  const lag = summaryOf(jobs.map((job) => job.dispatchLagMs));
  const notPassed = run.jobs.filter((job) => job.result.status !== 'passed').length;
  const figures = [
    figure(`${prefix}.p50`, `${label}: arrival to command running p50`, toCommand?.p50 ?? null, 'ms'),
    figure(`${prefix}.p99`, `${label}: arrival to command running p99`, toCommand?.p99 ?? null, 'ms'),
    figure(`${prefix}.p999`, `${label}: arrival to command running p99.9`, toCommand?.p999 ?? null, 'ms'),
    figure(`${prefix}.toContainer.p50`, `${label}: arrival to container in hand p50`, toContainer?.p50 ?? null, 'ms'),
    figure(`${prefix}.toContainer.p99`, `${label}: arrival to container in hand p99`, toContainer?.p99 ?? null, 'ms'),
    figure(`${prefix}.exec.p50`, `${label}: container in hand to command running p50`, exec?.p50 ?? null, 'ms'),
    figure(`${prefix}.exec.p99`, `${label}: container in hand to command running p99`, exec?.p99 ?? null, 'ms'),
    figure(`${prefix}.dispatchLag.p99`, `${label}: job started after its arrival time p99`, lag?.p99 ?? null, 'ms'),
    figure(`${prefix}.startedPerSecond`, `${label}: jobs started per second (achieved)`, run.startedPerSecond, 'ops/s'),
    figure(`${prefix}.notPassed`, `${label}: jobs not passed (warm-up included)`, notPassed, 'count'),
  ];
  if (run.leftBehind > 0) figures.push(figure(`${prefix}.leftBehind`, `${label}: containers not removed`, run.leftBehind, 'count'));
  return figures;
}

/** Every figure of the open-loop part, keyed `jobStart.<load>.<source>.<figure>` as the issue lists them. */
export function openLoopFigures(
  ceilingPerSecond: number,
  { bareExec, runnerExec }: { bareExec: Summary; runnerExec: Summary },
  loads: readonly OpenLoopLoadRuns[],
): Figure[] {
  const figures: Figure[] = [
    figure('jobStart.ceilingPerSecond', 'engine ceiling the loads are shares of', ceilingPerSecond, 'containers/s'),
    figure('jobStart.bareExec.p50', 'bare engine exec into an idle container p50', bareExec.p50, 'ms'),
    figure('jobStart.bareExec.p99', 'bare engine exec into an idle container p99', bareExec.p99, 'ms'),
    figure('jobStart.bareExec.max', 'bare engine exec into an idle container max', bareExec.max, 'ms'),
    figure('jobStart.runnerExec.p50', "the job runner's exec into a fresh idle container p50", runnerExec.p50, 'ms'),
    figure('jobStart.runnerExec.p99', "the job runner's exec into a fresh idle container p99", runnerExec.p99, 'ms'),
  ];
  for (const { load, pool, perJob } of loads) {
    const key = `jobStart.${load.key}`;
    const percent = `${Math.round(load.share * 100)}% load`;
    const poolJobs = measuredJobs(load, pool);
    const perJobJobs = measuredJobs(load, perJob);
    const poolSummary = summaryOf(poolJobs.map((job) => job.toCommandMs));
    const poolExec = summaryOf(poolJobs.map((job) => job.execMs));
    const perJobSummary = summaryOf(perJobJobs.map((job) => job.toCommandMs));
    figures.push(
      figure(`${key}.targetPerSecond`, `${percent}: arrivals per second asked (λ)`, load.ratePerSecond, 'ops/s'),
      figure(`${key}.measuredJobs`, `${percent}: jobs measured per source (after ${load.warmUpJobs} warm-up)`, poolJobs.length, 'count'),
      ...sourceFigures(`${key}.pool`, `${percent}, ${sourceLabels.pool}`, poolJobs, pool),
      ...sourceFigures(`${key}.perJob`, `${percent}, ${sourceLabels.perJob}`, perJobJobs, perJob),
      figure(`${key}.bareExec.p50`, `${percent}: bare exec p50 (the same for every load)`, bareExec.p50, 'ms'),
      figure(`${key}.bareExec.p99`, `${percent}: bare exec p99 (the same for every load)`, bareExec.p99, 'ms'),
      figure(`${key}.poolVsBareExec`, `${percent}: pool p50 / bare exec p50 (goal at 25% and 50%: at most 1.2)`, ratio(poolSummary?.p50, bareExec.p50), 'x'),
      figure(`${key}.poolVsRunnerExec`, `${percent}: pool p50 / the runner's exec on a quiet engine p50 (what the load adds)`, ratio(poolSummary?.p50, runnerExec.p50), 'x'),
      figure(`${key}.execVsBareExec`, `${percent}: pool exec part p50 / bare exec p50 (goal at 50%: at most 1.5)`, ratio(poolExec?.p50, bareExec.p50), 'x'),
      figure(`${key}.poolP99VsPerJobP50`, `${percent}: pool p99 / create-per-job p50 (goal at 90%: below 1)`, ratio(poolSummary?.p99, perJobSummary?.p50), 'x'),
    );
  }
  return figures;
}
