import PQueue from 'p-queue';
import type { Clock } from '../../lib/clock.js';
import { InvalidOptionError, errorMessage } from '../../lib/errors.js';
import { isPositiveInteger, validateDurationMs } from '../../lib/pool-options.js';
import { CheckoutsToCome } from './checkouts-to-come.js';
import type { ContainerSource } from './container-source.js';
import { countStatuses, resultWithoutAttempt, type JobResult, type LeftBehindContainer, type StatusTotals } from './job-result.js';
import { checkJobKinds, withDefaultKind } from './job-kinds.js';
import { describeAbort, runJob, type JobPhaseEvent, type JobRunOptions } from './job-runner.js';
import { RemovalQueue } from './removal-queue.js';
import type { Suite } from './suite.js';

export const defaultCheckoutTimeoutMs = 180_000;
/** How long the end of a run waits for the removals still failing (an engine restarting) before it reports them. */
export const defaultRemovalTimeoutMs = 60_000;

export interface SchedulerOptions extends Pick<JobRunOptions, 'killGraceMs' | 'artifactTimeoutMs' | 'maxReplacements' | 'livenessSettleMs'> {
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
  /**
   * Called with each job's result as it ends, before its `job-ended` event, and awaited: the journal writes and
   * flushes it here, so a job reported done is on disk. A rejection is reported as a notice, never fatal.
   */
  readonly recordJob?: (result: JobResult) => Promise<void>;
  /**
   * Once the jobs are done, how long the run waits for container removals that are still being retried.
   * @default 60_000
   */
  readonly removalTimeoutMs?: number;
  /** Time for removal retries and liveness re-asks. @default the system clock */
  readonly clock?: Clock;
}

export type SchedulerEvent =
  | JobPhaseEvent
  | { readonly phase: 'job-ended'; readonly job: string; readonly result: JobResult; readonly done: number; readonly total: number }
  /** Something the user should hear about that does not change a job's status (a removal failed and is retried). */
  | { readonly phase: 'notice'; readonly message: string };

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
  readonly totals: SuiteTotals;
  /** The most jobs that were ever active at once (never above `concurrency`). */
  readonly maxActiveJobs: number;
  /** Containers the run could not remove, even after retrying until the end. */
  readonly leftBehind: readonly LeftBehindContainer[];
}

export type SuiteTotals = StatusTotals & {
  readonly jobs: number;
  readonly attempts: number;
  /** Containers found dead at first use and replaced (not counted as attempts). */
  readonly replacedContainers: number;
  /** Containers the run could not remove (`leftBehind`). */
  readonly leftBehind: number;
};

/** The totals of a list of job results and what was left behind. */
export function suiteTotals(jobs: readonly JobResult[], leftBehind: readonly LeftBehindContainer[]): SuiteTotals {
  return {
    jobs: jobs.length,
    attempts: jobs.reduce((sum, job) => sum + job.attempts, 0),
    ...countStatuses(jobs),
    replacedContainers: jobs.reduce((sum, job) => sum + (job.replacedContainers?.length ?? 0), 0),
    leftBehind: leftBehind.length,
  };
}

/**
 * Runs every job of a suite, at most `concurrency` at once, each in fresh containers from `source`. Never
 * rejects because a job failed: every job gets a result, and an interrupt still yields the full list. Used
 * containers are removed off the jobs' path; the run resolves once they are all removed (or reported in
 * `leftBehind` after `removalTimeoutMs`). The caller owns `source` and closes it. A source that can use it is
 * told, kind by kind, how many jobs have not started (`expectCheckouts`), so it makes no container no job will
 * take; at the end that count is 0, and a caller that goes on using the source lifts it (`Infinity`).
 * Each job runs in a container of its kind, or of the source's default kind; a job naming a kind the source does
 * not have rejects the run (UnknownJobKindError) before anything starts.
 */
export async function runSuite(suite: Suite, options: SchedulerOptions): Promise<SuiteResult> {
  if (!isPositiveInteger(options.concurrency)) throw new InvalidOptionError('concurrency', options.concurrency, 'an integer from 1 up');
  const checkoutTimeoutMs = validateDurationMs('checkoutTimeoutMs', options.checkoutTimeoutMs ?? defaultCheckoutTimeoutMs, Number.MIN_VALUE);
  const removalTimeoutMs = validateDurationMs('removalTimeoutMs', options.removalTimeoutMs ?? defaultRemovalTimeoutMs, 0);
  const { signal, onEvent, recordJob, source } = options;
  if (source.kinds !== undefined) checkJobKinds(suite, source.kinds);
  const removals = new RemovalQueue({
    ...(options.clock ? { clock: options.clock } : {}),
    onFirstFailure: (name, error) => onEvent?.({ phase: 'notice', message: `removing container ${name} failed (${errorMessage(error)}); retrying in the background` }),
    onRemoved: (container) => source.removed?.(container),
  });
  let journalFailed = false;
  const startedAt = new Date();
  const queue = new PQueue({ concurrency: options.concurrency });
  const results: (JobResult | undefined)[] = suite.jobs.map(() => undefined);
  const toCome = new CheckoutsToCome(source, suite.jobs.map((spec) => withDefaultKind(spec, source.kinds)));
  let active = 0;
  let maxActiveJobs = 0;
  let done = 0;

  const tasks = suite.jobs.map((spec, index) =>
    queue.add(async () => {
      const job = withDefaultKind(spec, source.kinds);
      active++;
      maxActiveJobs = Math.max(maxActiveJobs, active);
      toCome.started(job.kind);
      try {
        // A job dequeued after an interrupt returns at once as `cancelled` (not started).
        const result = await runJob(job, {
          source,
          outDir: options.outDir,
          checkoutTimeoutMs,
          ...(signal ? { signal } : {}),
          ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
          ...(options.artifactTimeoutMs === undefined ? {} : { artifactTimeoutMs: options.artifactTimeoutMs }),
          ...(onEvent ? { onPhase: onEvent } : {}),
          removals,
          ...(options.clock ? { clock: options.clock } : {}),
          ...(options.maxReplacements === undefined ? {} : { maxReplacements: options.maxReplacements }),
          ...(options.livenessSettleMs === undefined ? {} : { livenessSettleMs: options.livenessSettleMs }),
        }).catch((error: unknown) => crashedJob(job, error));
        results[index] = result;
        await recordJob?.(result).catch((error: unknown) => {
          if (!journalFailed) onEvent?.({ phase: 'notice', message: `the result of ${job.name} could not be saved to the journal: ${errorMessage(error)}` });
          journalFailed = true;
        });
        done++;
        onEvent?.({ phase: 'job-ended', job: job.name, result, done, total: suite.jobs.length });
      } finally {
        active--;
      }
    }),
  );
  await Promise.all(tasks);
  // Not cut short by an interrupt: removing what the run made is what an interrupt asks for.
  const leftBehind = await removals.drain(removalTimeoutMs);

  const jobs = results.map((result, index) => result ?? crashedJob(withDefaultKind(suite.jobs[index] ?? { name: `#${index}` }, source.kinds), 'never run'));
  const endedAt = new Date();
  return {
    suite: suite.name,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    concurrency: options.concurrency,
    ...(signal?.aborted ? { interrupted: describeAbort(signal) } : {}),
    jobs,
    totals: suiteTotals(jobs, leftBehind),
    maxActiveJobs,
    leftBehind,
  };
}

/** runJob turns every failure into a result; this is for a bug in it, so that a job never vanishes from the results. */
function crashedJob(job: { readonly name: string; readonly kind?: string }, error: unknown): JobResult {
  return resultWithoutAttempt(job.name, 'error', `the scheduler failed on this job: ${errorMessage(error)}`, job.kind);
}
