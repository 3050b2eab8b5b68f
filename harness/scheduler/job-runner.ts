import { join, posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../lib/clock.js';
import type { RunnableContainer } from '../../lib/container.js';
import { ContainerDiedError, errorMessage } from '../../lib/errors.js';
import { collectArtifacts } from './artifacts.js';
import { askLiveness, deathOf, unknownLiveness, type Liveness } from './container-liveness.js';
import type { ContainerSource } from './container-source.js';
import { writeLogFiles, type LogSink } from './log-files.js';
import { execWithDeadline } from './exec-deadline.js';
import { isRetriable, resultWithoutAttempt, type AttemptResult, type JobResult, type JobStatus, type ReplacedContainer } from './job-result.js';
import type { RemovalQueue } from './removal-queue.js';
import { maxReplacementsFor } from './replacement-bound.js';
import { jobDirectoryName, type JobSpec } from './suite.js';

export interface JobRunOptions {
  readonly source: ContainerSource;
  /** Logs and artifacts go under `<outDir>/jobs/<job>/attempt-<n>/`. */
  readonly outDir: string;
  /** How long one attempt waits for a container before it ends `error`. Infinity: no limit. */
  readonly checkoutTimeoutMs: number;
  /** Aborting it stops the job: a running command is killed with its container, and the job ends `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * After a job's timeout the backend kills the command; if the backend has not returned this long later, the
   * runner stops waiting and destroys the container, which kills the command for sure.
   * @default 5_000
   */
  readonly killGraceMs?: number;
  /** The most time spent copying artifacts out of one container. @default 30_000 */
  readonly artifactTimeoutMs?: number;
  /** Most characters of stdout/stderr kept in memory for the report (the log files, or the caller's `backgroundLogs`, get everything). @default 65_536 */
  readonly keptOutputChars?: number;
  /**
   * Called with each attempt's whole stdout and stderr as soon as its command has ended (before the log files
   * are written), for a caller that sends output on (the lab's worker) without reading the files back.
   */
  readonly onOutput?: (output: AttemptOutputText) => void;
  /**
   * Takes each attempt's log files off the job's path: the result comes back while they are being written, and
   * the sink may write only some of them (the lab's worker keeps only the logs its output cap cut). For a caller
   * whose result carries the output anyway (see `onOutput`). @default the logs are written before the result
   */
  readonly backgroundLogs?: LogSink;
  readonly onPhase?: (event: JobPhaseEvent) => void;
  /** Where a container goes once its job is done with it: removed off the job's path, retried until gone. */
  readonly removals: RemovalQueue;
  /**
   * Containers found dead at first use that one attempt replaces before it gives up and ends `error` (a pool
   * handing out nothing but dead containers is broken, not unlucky). @default max(10, 2 x the source's capacity),
   * see `maxReplacementsFor`
   */
  readonly maxReplacements?: number;
  /** Time for the liveness re-asks after a failure. @default the system clock */
  readonly clock?: Clock;
  /** How long a container reported running after a failure is asked again. @default 1_000 */
  readonly livenessSettleMs?: number;
}

/** One attempt's whole output, as its command wrote it. */
export interface AttemptOutputText {
  readonly attempt: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a job is doing, for the progress display. */
export type JobPhaseEvent =
  | { readonly phase: 'waiting' | 'running'; readonly job: string; readonly attempt: number }
  | {
      readonly phase: 'attempt-ended';
      readonly job: string;
      readonly attempt: number;
      readonly result: AttemptResult;
      /** Another attempt follows in a new container. */
      readonly willRetry: boolean;
    }
  /** The container the attempt was given was dead at first use; another one is being taken. */
  | { readonly phase: 'replaced'; readonly job: string; readonly attempt: number; readonly replaced: ReplacedContainer };

/** The reason an abort carries when nobody gave one (`controller.abort()` with no argument). */
export function describeAbort(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return typeof reason === 'string' ? reason : 'interrupted';
}

/** Runs a job to its end: one attempt, plus one more in a new container per retry while it fails or errors. */
export async function runJob(job: JobSpec, options: JobRunOptions): Promise<JobResult> {
  const attempts: AttemptResult[] = [];
  let output: { stdout: string; stderr: string } | undefined;
  for (let attempt = 1; attempt <= job.retries + 1; attempt++) {
    if (options.signal?.aborted) break;
    const { result, kept } = await runAttempt(job, attempt, options);
    attempts.push(result);
    output = kept;
    const willRetry = isRetriable(result.status) && attempt <= job.retries && !options.signal?.aborted;
    options.onPhase?.({ phase: 'attempt-ended', job: job.name, attempt, result, willRetry });
    if (!willRetry) break;
  }
  return summarize(job, attempts, output, options.signal);
}

function summarize(
  job: JobSpec,
  attempts: readonly AttemptResult[],
  output: { stdout: string; stderr: string } | undefined,
  signal: AbortSignal | undefined,
): JobResult {
  const last = attempts.at(-1);
  const replaced = attempts.flatMap((attempt) => attempt.replacedContainers ?? []);
  const sum = (key: 'waitMs' | 'runMs'): number => attempts.reduce((total, attempt) => total + attempt[key], 0);
  if (last === undefined) {
    return resultWithoutAttempt(job.name, 'cancelled', `not started: ${describeAbort(signal)}`, job.kind);
  }
  return {
    name: job.name,
    ...(job.kind === undefined ? {} : { kind: job.kind }),
    status: last.status,
    exitCode: last.exitCode,
    ...(last.reason === undefined ? {} : { reason: last.reason }),
    attempts: attempts.length,
    waitMs: sum('waitMs'),
    runMs: sum('runMs'),
    stdout: last.stdout,
    stderr: last.stderr,
    artifacts: last.artifacts,
    history: attempts,
    ...(replaced.length === 0 ? {} : { replacedContainers: replaced }),
    ...(output === undefined ? {} : { output }),
  };
}

type AttemptFields = Pick<AttemptResult, 'status' | 'exitCode' | 'waitMs' | 'runMs'> &
  Partial<Pick<AttemptResult, 'reason' | 'container' | 'stdout' | 'stderr' | 'artifacts'>>;

interface AttemptOutcome {
  readonly result: AttemptResult;
  readonly kept?: { stdout: string; stderr: string };
}

/** How one container served an attempt: it was dead before the job could use it, or the attempt ended in it. */
type Use =
  | { readonly kind: 'dead-at-first-use'; readonly reason: string }
  | { readonly kind: 'ended'; readonly fields: Omit<AttemptFields, 'waitMs'>; readonly kept?: { stdout: string; stderr: string } };

/**
 * One attempt: check a container out and run the job in it. A container that turns out dead at first use (the
 * engine killed it while it sat in the pool) is replaced at once by another, without counting an attempt; the
 * attempt records it. Before the next checkout the source drops the other dead ones it holds, if it can. Every container goes to the removal queue as soon as the attempt is done with it.
 */
async function runAttempt(job: JobSpec, attempt: number, options: JobRunOptions): Promise<AttemptOutcome> {
  const { source, signal } = options;
  const startedAt = new Date().toISOString();
  const waitStart = performance.now();
  const warnings: string[] = [];
  const replaced: ReplacedContainer[] = [];
  // Fields in reading order; times rounded to whole milliseconds.
  const finish = (fields: AttemptFields): AttemptResult => ({
    attempt,
    status: fields.status,
    exitCode: fields.exitCode,
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
    ...(fields.container === undefined ? {} : { container: fields.container }),
    startedAt,
    endedAt: new Date().toISOString(),
    waitMs: Math.round(fields.waitMs),
    runMs: Math.round(fields.runMs),
    stdout: fields.stdout ?? null,
    stderr: fields.stderr ?? null,
    artifacts: fields.artifacts ?? [],
    warnings,
    ...(replaced.length === 0 ? {} : { replacedContainers: [...replaced] }),
  });
  const maxReplacements = options.maxReplacements ?? maxReplacementsFor(source.capacity);

  for (;;) {
    options.onPhase?.({ phase: 'waiting', job: job.name, attempt });
    let container: RunnableContainer;
    try {
      container = await source.checkout({ timeoutMs: options.checkoutTimeoutMs, ...(signal ? { signal } : {}), ...(job.kind === undefined ? {} : { kind: job.kind }) });
    } catch (error) {
      const waitMs = performance.now() - waitStart;
      if (signal?.aborted) {
        return { result: finish({ status: 'cancelled', exitCode: null, reason: `${describeAbort(signal)} while waiting for a container`, waitMs, runMs: 0 }) };
      }
      return { result: finish({ status: 'error', exitCode: null, reason: `no container: ${errorMessage(error)}`, waitMs, runMs: 0 }) };
    }
    const waitMs = performance.now() - waitStart;
    options.onPhase?.({ phase: 'running', job: job.name, attempt });

    let use: Use;
    try {
      use = await useContainer(job, attempt, container, options);
    } finally {
      // One fresh container per attempt: whatever happened, this one is done. Removing it also kills a command
      // that outlived its timeout or an interrupt. Off the job's path: the slot does not wait for the engine.
      options.removals.remove(container);
    }
    if (use.kind === 'ended') return { result: finish({ ...use.fields, waitMs }), ...(use.kept ? { kept: use.kept } : {}) };

    const replacement = { name: container.name, reason: use.reason };
    replaced.push(replacement);
    if (replaced.length > maxReplacements) {
      const reason = `${replaced.length} containers in a row were dead at first use; the last: ${use.reason}`;
      return { result: finish({ status: 'error', exitCode: null, reason, container: container.name, waitMs, runMs: 0 }) };
    }
    options.onPhase?.({ phase: 'replaced', job: job.name, attempt, replaced: replacement });
    // Once per dead container, not per streak: a second one in a row died after the last listing (or that listing
    // failed), so the ready set may be stale again. The source coalesces the calls of concurrent jobs.
    await source.dropDead?.(signal);
  }
}

/**
 * Copies the job's files in, runs its command, saves its output and artifacts. Engine calls are made only on a
 * failure path: a container is asked whether it still runs when a copy or the exec failed without an exit code
 * (then it was dead before the command started: `dead-at-first-use`), or when the command ended with 126 or more
 * (137 is SIGKILL: if the container no longer runs, the engine killed it under the job, an infrastructure failure).
 */
async function useContainer(job: JobSpec, attempt: number, container: RunnableContainer, options: JobRunOptions): Promise<Use> {
  const { signal } = options;
  const relativeDir = posix.join('jobs', jobDirectoryName(job.name), `attempt-${attempt}`);
  const liveness = () =>
    askLiveness(container, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.livenessSettleMs === undefined ? {} : { settleMs: options.livenessSettleMs }),
      ...(signal ? { signal } : {}),
    });
  let runMs = 0;
  const ended = (fields: Omit<AttemptFields, 'waitMs'>): Use => ({ kind: 'ended', fields: { ...fields, container: container.name } });
  const cancelled = (): Use => ended({ status: 'cancelled', exitCode: null, reason: `${describeAbort(signal)} while running`, runMs });
  try {
    for (const [path, content] of Object.entries(job.files)) {
      signal?.throwIfAborted();
      try {
        await container.writeFile(path, content);
      } catch (error) {
        if (signal?.aborted) throw error;
        const alive = await liveness();
        if (alive.state !== 'running') {
          return { kind: 'dead-at-first-use', reason: `${notRunning(container, alive)}: copying ${path} in failed: ${errorMessage(error)}` };
        }
        return ended({ status: 'error', exitCode: null, reason: `copying files in failed: ${errorMessage(error)}`, runMs });
      }
    }

    const execStart = performance.now();
    const ran = await execWithDeadline(container, job, options);
    runMs = performance.now() - execStart;
    if (ran.kind === 'cancelled') return cancelled();
    if (ran.kind === 'error') {
      if (ran.error instanceof ContainerDiedError) {
        // Only the final path says so: the command had started when its container died (an infrastructure failure).
        return ended({ status: 'error', exitCode: null, reason: `the container died under the command: ${ran.error.message}`, runMs });
      }
      // No exit code: the engine did not run the command to an end. A container that does not run refused it.
      const alive = await liveness();
      if (signal?.aborted) return cancelled();
      if (alive.state !== 'running') {
        return { kind: 'dead-at-first-use', reason: `${notRunning(container, alive)}: the command could not be started: ${errorMessage(ran.error)}` };
      }
      return ended({ status: 'error', exitCode: null, reason: `the command could not be run: ${errorMessage(ran.error)}`, runMs });
    }

    const { exec } = ran;
    options.onOutput?.({ attempt, stdout: exec.stdout, stderr: exec.stderr });
    const dir = join(options.outDir, relativeDir);
    const logFiles = { dir, files: [['stdout.log', exec.stdout], ['stderr.log', exec.stderr]] } as const;
    // Each file operation is a trip through libuv's thread pool and back through the event loop, which with
    // many jobs at once is busy: a caller that has the output already takes them off the job's path.
    if (options.backgroundLogs) options.backgroundLogs.write(logFiles);
    else await writeLogFiles(logFiles);
    const logs = { stdout: posix.join(relativeDir, 'stdout.log'), stderr: posix.join(relativeDir, 'stderr.log') };
    const keep = options.keptOutputChars ?? 65_536;
    const kept = { stdout: exec.stdout.slice(-keep), stderr: exec.stderr.slice(-keep) };
    const timedOut = ran.kind === 'hung' || exec.timedOut;

    // After a final exec the container stops by design, and a death under the command was reported as an error.
    if (!timedOut && exec.exitCode >= 126 && !(ran.kind === 'exited' && ran.final)) {
      const alive = await liveness();
      if (signal?.aborted) return cancelled();
      if (alive.state !== 'running') {
        const reason =
          alive.state === 'unknown'
            ? `the command ended with exit code ${exec.exitCode} and ${unknownLiveness(container, alive)}`
            : `the container died under the command: ${deathOf(container, alive, exec.exitCode).message}`;
        return { kind: 'ended', fields: { status: 'error', exitCode: null, reason, container: container.name, runMs, ...logs }, kept };
      }
    }

    const artifacts = ran.kind === 'hung' ? [] : await collectArtifacts(container, job.artifacts, options, relativeDir);
    const status: JobStatus = timedOut ? 'timeout' : exec.exitCode === 0 ? 'passed' : 'failed';
    const reason =
      status === 'timeout'
        ? `timed out after ${job.timeoutMs} ms${ran.kind === 'hung' ? '; the command did not stop and its container was destroyed' : ''}`
        : status === 'failed'
          ? `exit code ${exec.exitCode}`
          : undefined;
    return {
      kind: 'ended',
      fields: { status, exitCode: timedOut ? null : exec.exitCode, ...(reason === undefined ? {} : { reason }), container: container.name, runMs, ...logs, artifacts },
      kept,
    };
  } catch (error) {
    if (signal?.aborted) return cancelled();
    return ended({ status: 'error', exitCode: null, reason: errorMessage(error), runMs });
  }
}

/** A container that is not running (or that the engine could not say anything about), in words. */
function notRunning(container: RunnableContainer, liveness: Liveness): string {
  return liveness.state === 'unknown' ? unknownLiveness(container, liveness) : deathOf(container, liveness).message;
}
