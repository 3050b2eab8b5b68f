/**
 * How a job (or one attempt of it) ended:
 * - `passed`: the command exited 0.
 * - `failed`: the command exited with another code.
 * - `timeout`: the job's `timeoutMs` passed; the command was killed and its container destroyed.
 * - `error`: no container could be had within the checkout timeout, or the infrastructure failed (a file could
 *   not be copied in, the engine broke off the command, the engine killed the container under the command).
 * - `cancelled`: the run was interrupted (Ctrl-C, SIGTERM, an aborted signal) before the job could end: it was
 *   running and was stopped, or it never started.
 */
export type JobStatus = 'passed' | 'failed' | 'timeout' | 'error' | 'cancelled';

export const jobStatuses: readonly JobStatus[] = ['passed', 'failed', 'timeout', 'error', 'cancelled'];

/** `failed` and `error` are retried; `timeout` is not (a job that hangs would only hang again), nor `cancelled`. */
export function isRetriable(status: JobStatus): boolean {
  return status === 'failed' || status === 'error';
}

/** One artifact of one attempt. `file` is set when it was copied out, `error` when it could not be. */
export interface ArtifactResult {
  /** The path inside the container, as the suite gave it. */
  readonly path: string;
  /** Where it was saved, relative to the output directory. */
  readonly file?: string;
  readonly error?: string;
}

/**
 * A container that was already dead when the job first used it (killed while it sat in the pool): it was removed
 * and another one taken at once, without counting an attempt.
 */
export interface ReplacedContainer {
  readonly name: string;
  /** What the engine said: the failed operation and the container's state. */
  readonly reason: string;
}

/** A container the run could not remove before it ended; `warmpool reap` removes it once the run has exited. */
export interface LeftBehindContainer {
  readonly name: string;
  /** The last removal error. */
  readonly reason: string;
}

/** One run of a job in one container. */
export interface AttemptResult {
  /** 1 for the first run, 2 for the first retry, and so on. */
  readonly attempt: number;
  readonly status: JobStatus;
  /** The command's exit code; null when it did not exit on its own (timeout, cancelled, error). */
  readonly exitCode: number | null;
  /** Why the attempt did not pass, in words: "exit code 3", "timed out after 500 ms", the infrastructure error. */
  readonly reason?: string;
  /** The name of the container it ran in (absent when none was had). */
  readonly container?: string;
  /** ISO time the attempt started waiting for a container. */
  readonly startedAt: string;
  readonly endedAt: string;
  /** How long it waited for a container. */
  readonly waitMs: number;
  /** How long its command ran (0 when it never started). */
  readonly runMs: number;
  /** The command's stdout and stderr, relative to the output directory; null when the command never ran. */
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly artifacts: readonly ArtifactResult[];
  /** Things that went wrong without changing the status, e.g. an artifact could not be collected in time. */
  readonly warnings: readonly string[];
  /** Containers found dead at first use and replaced before this attempt could run (absent when none). */
  readonly replacedContainers?: readonly ReplacedContainer[];
}

/** A job's outcome: its last attempt's, with every attempt kept. */
export interface JobResult {
  readonly name: string;
  /** The kind of container it ran in (or was to run in); absent when the source could not tell its default. */
  readonly kind?: string;
  readonly status: JobStatus;
  readonly exitCode: number | null;
  readonly reason?: string;
  /** How many times it ran (or tried to get a container); 0 when it never started. */
  readonly attempts: number;
  /** Summed over attempts. */
  readonly waitMs: number;
  readonly runMs: number;
  /** The last attempt's logs and artifacts (earlier attempts' are in `history`). */
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly artifacts: readonly ArtifactResult[];
  /** Every attempt, first to last. */
  readonly history: readonly AttemptResult[];
  /** Every attempt's replaced containers, in order (absent when none). */
  readonly replacedContainers?: readonly ReplacedContainer[];
  /** Output kept in memory for the junit report: the last attempt's, possibly cut short. */
  readonly output?: { readonly stdout: string; readonly stderr: string };
}

/** The result of a job that never ran an attempt (not started, or lost to a bug): no output, no times. */
export function resultWithoutAttempt(name: string, status: 'error' | 'cancelled', reason: string, kind?: string): JobResult {
  return {
    name,
    ...(kind === undefined ? {} : { kind }),
    status,
    exitCode: null,
    reason,
    attempts: 0,
    waitMs: 0,
    runMs: 0,
    stdout: null,
    stderr: null,
    artifacts: [],
    history: [],
  };
}

export type StatusTotals = Record<JobStatus, number>;

export function countStatuses(jobs: readonly { readonly status: JobStatus }[]): StatusTotals {
  const totals: StatusTotals = { passed: 0, failed: 0, timeout: 0, error: 0, cancelled: 0 };
  for (const job of jobs) totals[job.status]++;
  return totals;
}
