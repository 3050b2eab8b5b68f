import { mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RunnableContainer } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import { collectArtifacts } from './artifacts.js';
import type { ContainerSource } from './container-source.js';
import { execWithDeadline } from './exec-deadline.js';
import { isRetriable, type AttemptResult, type JobResult, type JobStatus } from './job-result.js';
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
  /** Most characters of stdout/stderr kept in memory for the report (the log files get everything). @default 65_536 */
  readonly keptOutputChars?: number;
  readonly onPhase?: (event: JobPhaseEvent) => void;
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
    };

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
  const sum = (key: 'waitMs' | 'runMs'): number => attempts.reduce((total, attempt) => total + attempt[key], 0);
  if (last === undefined) {
    return {
      name: job.name,
      status: 'cancelled',
      exitCode: null,
      reason: `not started: ${describeAbort(signal)}`,
      attempts: 0,
      waitMs: 0,
      runMs: 0,
      stdout: null,
      stderr: null,
      artifacts: [],
      history: [],
    };
  }
  return {
    name: job.name,
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
    ...(output === undefined ? {} : { output }),
  };
}

type AttemptFields = Pick<AttemptResult, 'status' | 'exitCode' | 'waitMs' | 'runMs'> &
  Partial<Pick<AttemptResult, 'reason' | 'container' | 'stdout' | 'stderr' | 'artifacts'>>;

interface AttemptOutcome {
  readonly result: AttemptResult;
  readonly kept?: { stdout: string; stderr: string };
}

async function runAttempt(job: JobSpec, attempt: number, options: JobRunOptions): Promise<AttemptOutcome> {
  const { source, signal } = options;
  const relativeDir = posix.join('jobs', jobDirectoryName(job.name), `attempt-${attempt}`);
  const startedAt = new Date().toISOString();
  const waitStart = performance.now();
  const warnings: string[] = [];
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
  });

  options.onPhase?.({ phase: 'waiting', job: job.name, attempt });
  let container: RunnableContainer;
  try {
    container = await source.checkout({ timeoutMs: options.checkoutTimeoutMs, ...(signal ? { signal } : {}) });
  } catch (error) {
    const waitMs = performance.now() - waitStart;
    if (signal?.aborted) {
      return { result: finish({ status: 'cancelled', exitCode: null, reason: `${describeAbort(signal)} while waiting for a container`, waitMs, runMs: 0 }) };
    }
    return { result: finish({ status: 'error', exitCode: null, reason: `no container: ${errorMessage(error)}`, waitMs, runMs: 0 }) };
  }
  const waitMs = performance.now() - waitStart;
  options.onPhase?.({ phase: 'running', job: job.name, attempt });

  let runMs = 0;
  try {
    try {
      for (const [path, content] of Object.entries(job.files)) {
        signal?.throwIfAborted();
        await container.writeFile(path, content);
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      return { result: finish({ status: 'error', exitCode: null, reason: `copying files in failed: ${errorMessage(error)}`, container: container.name, waitMs, runMs }) };
    }

    const execStart = performance.now();
    const ran = await execWithDeadline(container, job, options);
    runMs = performance.now() - execStart;
    if (ran.kind === 'cancelled') {
      return { result: finish({ status: 'cancelled', exitCode: null, reason: `${describeAbort(signal)} while running`, container: container.name, waitMs, runMs }) };
    }
    if (ran.kind === 'error') {
      return { result: finish({ status: 'error', exitCode: null, reason: `the command could not be run: ${errorMessage(ran.error)}`, container: container.name, waitMs, runMs }) };
    }

    const { exec } = ran;
    const dir = join(options.outDir, relativeDir);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'stdout.log'), exec.stdout);
    await writeFile(join(dir, 'stderr.log'), exec.stderr);
    const artifacts = ran.kind === 'hung' ? [] : await collectArtifacts(container, job.artifacts, options, relativeDir);
    const timedOut = ran.kind === 'hung' || exec.timedOut;
    const status: JobStatus = timedOut ? 'timeout' : exec.exitCode === 0 ? 'passed' : 'failed';
    const reason =
      status === 'timeout'
        ? `timed out after ${job.timeoutMs} ms${ran.kind === 'hung' ? '; the command did not stop and its container was destroyed' : ''}`
        : status === 'failed'
          ? `exit code ${exec.exitCode}`
          : undefined;
    const keep = options.keptOutputChars ?? 65_536;
    return {
      result: finish({
        status,
        exitCode: timedOut ? null : exec.exitCode,
        ...(reason === undefined ? {} : { reason }),
        container: container.name,
        waitMs,
        runMs,
        stdout: posix.join(relativeDir, 'stdout.log'),
        stderr: posix.join(relativeDir, 'stderr.log'),
        artifacts,
      }),
      kept: { stdout: exec.stdout.slice(-keep), stderr: exec.stderr.slice(-keep) },
    };
  } catch (error) {
    if (signal?.aborted) {
      return { result: finish({ status: 'cancelled', exitCode: null, reason: `${describeAbort(signal)} while running`, container: container.name, waitMs, runMs }) };
    }
    return { result: finish({ status: 'error', exitCode: null, reason: errorMessage(error), container: container.name, waitMs, runMs }) };
  } finally {
    // One fresh container per attempt: whatever happened, this one is done. Destroying also kills a command that
    // outlived its timeout or an interrupt.
    try {
      await container.destroy();
    } catch (error) {
      warnings.push(`destroying container ${container.name} failed: ${errorMessage(error)}`);
    }
  }
}
