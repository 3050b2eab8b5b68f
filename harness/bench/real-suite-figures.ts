import { figure, type Figure } from './figures.js';
import { notPassed, suiteModes, sumMs, type ModeRun, type SuiteMode } from './real-suite-outcome.js';
import type { SuiteBackend } from './real-suite-backend.js';
import type { PoolModeRun } from './real-suite-pool.js';
import { ratio, summarize } from './stats.js';

const modeLabels: Record<SuiteMode, string> = {
  pool: 'warmpool run (pool)',
  perJob: 'a new container per job',
  perJobLoopback: 'a new loopback-only container per job',
  noContainer: 'no container (host)',
};

function isPoolRun(run: ModeRun): run is PoolModeRun {
  return run.mode === 'pool';
}

function find(runs: readonly ModeRun[], mode: SuiteMode, concurrency: number): ModeRun | undefined {
  return runs.find((run) => run.mode === mode && run.concurrency === concurrency);
}

function concurrencies(runs: readonly ModeRun[]): number[] {
  return [...new Set(runs.map((run) => run.concurrency))];
}

/**
 * The headline figures (`realSuite.<mode>.wallS` and the two ratios) are those of the first concurrency
 * measured, the cores by default; then every concurrency's own under `realSuite.c<N>.`. Jobs not passed are a
 * figure of their own in every mode, 0 included, so a failure cannot hide behind a good wall time.
 */
export function realSuiteFigures(runs: readonly ModeRun[]): Figure[] {
  const figures: Figure[] = [];
  const all = concurrencies(runs);
  const headline = all[0];
  if (headline !== undefined) {
    for (const mode of suiteModes) {
      const run = find(runs, mode, headline);
      figures.push(figure(`realSuite.${mode}.wallS`, `${modeLabels[mode]}, ${headline} at once: suite wall time`, run === undefined ? null : run.wallMs / 1000, 's'));
    }
    figures.push(...ratios('realSuite', runs, headline));
  }
  for (const concurrency of all) {
    const prefix = `realSuite.c${concurrency}`;
    for (const mode of suiteModes) {
      const run = find(runs, mode, concurrency);
      if (run === undefined) continue;
      const label = `${concurrency} at once, ${modeLabels[mode]}`;
      figures.push(
        figure(`${prefix}.${mode}.wallS`, `${label}: wall time`, run.wallMs / 1000, 's'),
        figure(`${prefix}.${mode}.runSumS`, `${label}: sum of the jobs' run times`, sumMs(run.jobs, 'runMs') / 1000, 's'),
        figure(`${prefix}.${mode}.notPassed`, `${label}: jobs not passed`, notPassed(run).length, 'count'),
      );
      if (run.machineCpuMs !== undefined) {
        figures.push(figure(`${prefix}.${mode}.machineCpuS`, `${label}: CPU of the whole machine during the run`, run.machineCpuMs / 1000, 'core-s'));
      }
      if (isPoolRun(run)) figures.push(figure(`${prefix}.pool.waitSumS`, `${label}: sum of the jobs' waits for a container`, sumMs(run.jobs, 'waitMs') / 1000, 's'));
      if (mode === 'perJob' || mode === 'perJobLoopback') {
        const overheadMs = run.jobs.reduce((sum, job) => sum + ((job.totalMs ?? job.runMs) - job.runMs), 0);
        figures.push(figure(`${prefix}.${mode}.overheadSumS`, `${label}: sum of making and removing the containers`, overheadMs / 1000, 's'));
      }
    }
    figures.push(...ratios(prefix, runs, concurrency), ...containerCpu(prefix, runs, concurrency));
  }
  return figures;
}

/**
 * What the containers cost the machine per job: a container mode's CPU minus the host's, over the jobs. It
 * holds the engine's work for each container and this harness's, and the tests' own slowdown in a container.
 * Only where the host ran (the first concurrency).
 */
function containerCpu(prefix: string, runs: readonly ModeRun[], concurrency: number): Figure[] {
  const host = find(runs, 'noContainer', concurrency);
  if (host?.machineCpuMs === undefined) return [];
  const figures: Figure[] = [];
  for (const mode of ['pool', 'perJob', 'perJobLoopback'] as const) {
    const run = find(runs, mode, concurrency);
    if (run?.machineCpuMs === undefined || run.jobs.length === 0) continue;
    const perJobMs = (run.machineCpuMs - host.machineCpuMs) / run.jobs.length;
    figures.push(figure(`${prefix}.${mode}.containerCpuPerJobMs`, `${concurrency} at once, ${modeLabels[mode]}: machine CPU per job beyond the host's`, perJobMs, 'cpu ms'));
  }
  return figures;
}

function ratios(prefix: string, runs: readonly ModeRun[], concurrency: number): Figure[] {
  const wall = (mode: SuiteMode): number | undefined => find(runs, mode, concurrency)?.wallMs;
  const figures = [figure(`${prefix}.poolVsPerJob`, `${concurrency} at once: pool wall / container-per-job wall`, ratio(wall('pool'), wall('perJob')), 'x')];
  if (wall('perJobLoopback') !== undefined) {
    const label = `${concurrency} at once: pool wall / loopback-only container-per-job wall`;
    figures.push(figure(`${prefix}.poolVsPerJobLoopback`, label, ratio(wall('pool'), wall('perJobLoopback')), 'x'));
  }
  // The host runs at the first concurrency only.
  if (wall('noContainer') !== undefined) {
    figures.push(figure(`${prefix}.poolVsNoContainer`, `${concurrency} at once: pool wall / no-container wall`, ratio(wall('pool'), wall('noContainer')), 'x'));
  }
  return figures;
}

export interface RealSuiteContext {
  /** The engine's side: the package versions and how its containers were made, in words. */
  readonly backend: Pick<SuiteBackend, 'packages' | 'source' | 'perJobHow' | 'poolRunTime'>;
  readonly modules: readonly string[];
  readonly workers: number;
  /** The order of the modes at each concurrency, in the order measured. */
  readonly orders: readonly (readonly SuiteMode[])[];
}

/** How it was measured, what failed, and where the pool's time per job goes. */
export function realSuiteNotes(runs: readonly ModeRun[], context: RealSuiteContext): string[] {
  const all = concurrencies(runs);
  const notes = [
    `${context.modules.length} modules of CPython's own regression tests (Debian ${context.backend.packages}), fixed in harness/bench/real-suite-modules.ts; one job per module running \`/usr/bin/python3.11 -S -B -m test -q <module>\` with LANG=C.UTF-8, in containers of ${context.backend.source}; the host runs the same interpreter and test files.`,
    `pool: the scheduler's runSuite (what \`warmpool run\` does) with a PoolSource of as many containers as jobs at once, ${context.workers} creations at once, full before the suite starts (the fill is not in the wall time); wall time is the runSuite call, which ends after the used containers are removed; a job's run time is ${context.backend.poolRunTime}.`,
    `perJob: p-queue at the same concurrency; ${context.backend.perJobHow}; the wall time includes making and removing the containers.`,
    'noContainer: p-queue at the same concurrency; the same command as a host process (execa, a clean environment: PATH, HOME, LANG, TMPDIR set to a fresh directory), in its own process group; its run time is spawn to exit.',
    "Machine CPU: the busy time of all cores over each run, the pool's fill before its suite included, as the containers it makes are jobs' containers too (os.cpus(): every process, the tests, the engine and this harness); a container mode's CPU per job beyond the host's is its machine CPU minus the host run's, over the jobs. On cores the tests keep busy that CPU, not waiting, is what the wall time is made of.",
    `One unmeasured warm-up run of ${context.modules[0] ?? 'a module'} on the host and in a new container first. Then, at ${all.join(' and ')} jobs at once in turn, the modes in the order ${context.orders.map((order) => order.join(', ')).join('; then ')}: the host first as it touches no engine, and only at the first concurrency (the one it is compared at), the container modes in reverse order from one concurrency to the next. One run each: on 2 busy cores the wall times vary by several percent from run to run.`,
  ];
  const failures = runs.flatMap((run) => notPassed(run).map((job) => `${run.mode} at ${run.concurrency}: ${job.module} ${job.status}${job.reason === undefined ? '' : ` (${job.reason})`}`));
  if (failures.length === 0) notes.push(`All ${context.modules.length} modules passed in every mode at every concurrency.`);
  else notes.push(`NOT PASSED (${failures.length}): ${failures.slice(0, 10).join('; ')}${failures.length > 10 ? `; and ${failures.length - 10} more` : ''}`);
  for (const concurrency of all) notes.push(...whereTimeGoes(runs, concurrency));
  return notes;
}

/** Per concurrency: what a pool job costs besides its command, and how much slower the command ran in a container. */
function whereTimeGoes(runs: readonly ModeRun[], concurrency: number): string[] {
  const pool = find(runs, 'pool', concurrency);
  const host = find(runs, 'noContainer', concurrency);
  const perJob = find(runs, 'perJob', concurrency);
  const perJobLoopback = find(runs, 'perJobLoopback', concurrency);
  const parts: string[] = [];
  if (pool !== undefined && isPoolRun(pool) && pool.bookkeepingMs.length > 0) {
    const bookkeeping = summarize(pool.bookkeepingMs);
    parts.push(`pool filled in ${Math.round(pool.fillMs)} ms; the scheduler's time per job outside the wait and the command p50 ${bookkeeping.p50.toFixed(0)} ms, max ${bookkeeping.max.toFixed(0)} ms`);
  }
  for (const other of [pool, perJob, perJobLoopback]) {
    if (other === undefined || host === undefined) continue;
    const extra = pairedDifferencesMs(other, host);
    if (extra.length > 0) parts.push(`${other.mode} run time minus the host's, per module, p50 ${summarize(extra).p50.toFixed(0)} ms`);
  }
  for (const other of [perJob, perJobLoopback]) {
    if (other === undefined) continue;
    const overhead = other.jobs.filter((job) => job.totalMs !== undefined).map((job) => (job.totalMs ?? 0) - job.runMs);
    if (overhead.length > 0) parts.push(`${other.mode} making and removing its container, per job, p50 ${summarize(overhead).p50.toFixed(0)} ms`);
  }
  return parts.length === 0 ? [] : [`At ${concurrency} at once: ${parts.join('; ')}.`];
}

function pairedDifferencesMs(run: ModeRun, baseline: ModeRun): number[] {
  const baselineMs = new Map(baseline.jobs.filter((job) => job.status === 'passed').map((job) => [job.module, job.runMs]));
  return run.jobs.flatMap((job) => {
    const base = baselineMs.get(job.module);
    return job.status === 'passed' && base !== undefined ? [job.runMs - base] : [];
  });
}
