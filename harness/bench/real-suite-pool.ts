import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ContainerFactory, RunnableContainer } from '../../lib/index.js';
import { PoolSource } from '../scheduler/container-source.js';
import type { JobResult } from '../scheduler/job-result.js';
import { runSuite } from '../scheduler/scheduler.js';
import { validateSuite, type Suite } from '../scheduler/suite.js';
import { suiteCommand, suiteEnv, suiteJobTimeoutMs } from './real-suite-command.js';
import { outputTail, type JobOutcome, type ModeRun } from './real-suite-outcome.js';
import { whenFull } from './when-full.js';

export function moduleSuite(modules: readonly string[]): Suite {
  return validateSuite({
    name: 'bench-real-suite',
    jobs: modules.map((module) => ({ name: module, command: suiteCommand(module), env: { ...suiteEnv }, timeoutMs: suiteJobTimeoutMs })),
  });
}

export interface PoolModeRun extends ModeRun {
  /** Empty pool to full before the suite (not part of the wall time). */
  readonly fillMs: number;
  /**
   * Per job, the scheduler's time outside the wait for a container and the command: the attempt's end minus its
   * start (whole milliseconds, from its ISO times) minus both. Saving logs, liveness checks, bookkeeping.
   */
  readonly bookkeepingMs: readonly number[];
}

/**
 * `warmpool run` as a library call: the scheduler's runSuite at `concurrency` with a PoolSource of `concurrency`
 * containers, `workers` creations at once, full before the suite starts and refilling as jobs take containers.
 * Wall time is runSuite's call, which ends once the used containers are removed; the pool is closed after.
 */
export async function runPoolMode(
  factory: ContainerFactory<RunnableContainer>,
  { modules, concurrency, workers, signal }: { modules: readonly string[]; concurrency: number; workers: number; signal: AbortSignal },
): Promise<PoolModeRun> {
  const source = PoolSource.start(factory, { size: concurrency, maxWorkers: workers, maxErrorsPerHour: Infinity });
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-suite-'));
  try {
    const fillStart = performance.now();
    await whenFull(source.pool, { failOnError: true, signal });
    const fillMs = performance.now() - fillStart;
    const start = performance.now();
    const result = await runSuite(moduleSuite(modules), { source, concurrency, outDir, signal });
    const wallMs = performance.now() - start;
    signal.throwIfAborted();
    return {
      mode: 'pool',
      concurrency,
      wallMs,
      fillMs,
      jobs: result.jobs.map(outcomeOfJob),
      bookkeepingMs: result.jobs.flatMap((job) => job.history.map((attempt) => Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt) - attempt.waitMs - attempt.runMs)),
    };
  } finally {
    await source.close();
    await rm(outDir, { recursive: true, force: true });
  }
}

function outcomeOfJob(job: JobResult): JobOutcome {
  const timing = { runMs: job.runMs, waitMs: job.waitMs };
  if (job.status === 'passed') return { module: job.name, status: 'passed', ...timing };
  const tail = outputTail(job.output?.stdout ?? '', job.output?.stderr ?? '');
  return { module: job.name, status: job.status, reason: `${job.reason ?? job.status}${tail}`, ...timing };
}
