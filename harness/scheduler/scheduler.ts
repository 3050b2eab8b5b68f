import PQueue from 'p-queue';
import { InvalidOptionError, errorMessage } from '../../lib/errors.js';
import { isPositiveInteger, validateDurationMs } from '../../lib/pool-options.js';
import type { ContainerSource } from './container-source.js';
import { countStatuses, type JobResult, type StatusTotals } from './job-result.js';
import { describeAbort, runJob, type JobPhaseEvent, type JobRunOptions } from './job-runner.js';
import type { Suite } from './suite.js';

export const defaultCheckoutTimeoutMs = 180_000;

export interface SchedulerOptions extends Pick<JobRunOptions, 'killGraceMs' | 'artifactTimeoutMs'> {
  readonly source: ContainerSource;
  /** Jobs at once (each waiting for or using one container). An integer from 1 up. */
  readonly concurrency: number;
  /** Where jobs write their logs and artifacts (`jobs/<job>/attempt-<n>/`). */
  readonly outDir: string;
  /**
   * How long one attempt waits for a container before it ends `error`. Infinity: no limit.
   * @default 180_000
   */
  readonly checkoutTimeoutMs?: number;
  /** Aborting it interrupts the run: queued jobs never start, running ones are stopped; all end `cancelled`. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: SchedulerEvent) => void;
}

export type SchedulerEvent =
  | JobPhaseEvent
  | { readonly phase: 'job-ended'; readonly job: string; readonly result: JobResult; readonly done: number; readonly total: number };

export interface SuiteResult {
  readonly suite: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly concurrency: number;
  /** Why the run was cut short, when it was. */
  readonly interrupted?: string;
  /** In suite order. */
  readonly jobs: readonly JobResult[];
  readonly totals: StatusTotals & { readonly jobs: number; readonly attempts: number };
  /** The most jobs that were ever active at once (never above `concurrency`). */
  readonly maxActiveJobs: number;
}

/**
 * Runs every job of a suite, at most `concurrency` at once, each in fresh containers from `source`. Never
 * rejects because a job failed: every job gets a result, and an interrupt still yields the full list. The
 * caller owns `source` and closes it.
 */
export async function runSuite(suite: Suite, options: SchedulerOptions): Promise<SuiteResult> {
  if (!isPositiveInteger(options.concurrency)) throw new InvalidOptionError('concurrency', options.concurrency, 'an integer from 1 up');
  const checkoutTimeoutMs = validateDurationMs('checkoutTimeoutMs', options.checkoutTimeoutMs ?? defaultCheckoutTimeoutMs, Number.MIN_VALUE);
  const { signal, onEvent } = options;
  const startedAt = new Date();
  const queue = new PQueue({ concurrency: options.concurrency });
  const results: (JobResult | undefined)[] = suite.jobs.map(() => undefined);
  let active = 0;
  let maxActiveJobs = 0;
  let done = 0;

  const tasks = suite.jobs.map((job, index) =>
    queue.add(async () => {
      active++;
      maxActiveJobs = Math.max(maxActiveJobs, active);
      try {
        // A job dequeued after an interrupt returns at once as `cancelled` (not started).
        const result = await runJob(job, {
          source: options.source,
          outDir: options.outDir,
          checkoutTimeoutMs,
          ...(signal ? { signal } : {}),
          ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
          ...(options.artifactTimeoutMs === undefined ? {} : { artifactTimeoutMs: options.artifactTimeoutMs }),
          ...(onEvent ? { onPhase: onEvent } : {}),
        }).catch((error: unknown) => crashedJob(job.name, error));
        results[index] = result;
        done++;
        onEvent?.({ phase: 'job-ended', job: job.name, result, done, total: suite.jobs.length });
      } finally {
        active--;
      }
    }),
  );
  await Promise.all(tasks);

  const jobs = results.map((result, index) => result ?? crashedJob(suite.jobs[index]?.name ?? `#${index}`, 'never run'));
  const endedAt = new Date();
  return {
    suite: suite.name,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    concurrency: options.concurrency,
    ...(signal?.aborted ? { interrupted: describeAbort(signal) } : {}),
    jobs,
    totals: { jobs: jobs.length, attempts: jobs.reduce((sum, job) => sum + job.attempts, 0), ...countStatuses(jobs) },
    maxActiveJobs,
  };
}

/** runJob turns every failure into a result; this is for a bug in it, so that a job never vanishes from the results. */
function crashedJob(name: string, error: unknown): JobResult {
  return {
    name,
    status: 'error',
    exitCode: null,
    reason: `the scheduler failed on this job: ${errorMessage(error)}`,
    attempts: 0,
    waitMs: 0,
    runMs: 0,
    stdout: null,
    stderr: null,
    artifacts: [],
    history: [],
  };
}
