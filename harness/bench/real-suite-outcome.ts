import type { CommandRun } from './real-suite-command.js';

/** `perJobLoopback`: Docker only, a container per job made loopback-only as the pool makes its own. */
export const suiteModes = ['pool', 'perJob', 'perJobLoopback', 'noContainer'] as const;
export type SuiteMode = (typeof suiteModes)[number];

/** One test module's run in one mode. */
export interface JobOutcome {
  readonly module: string;
  readonly status: 'passed' | 'failed' | 'timeout' | 'error' | 'cancelled';
  /** Why it did not pass: the exit code and the end of its output, or the error. */
  readonly reason?: string;
  /** The command's own run time (see CommandRun.runMs; for the pool, the scheduler's exec time). */
  readonly runMs: number;
  /** The slot's whole time on the job, when the mode knows it: waiting, creating, removing included. */
  readonly totalMs?: number;
  /** Pool only: how long the job waited for a container. */
  readonly waitMs?: number;
}

/** A whole suite in one mode at one concurrency. */
export interface ModeRun {
  readonly mode: SuiteMode;
  readonly concurrency: number;
  /** From queuing the first job to the last one's end (for the pool, runSuite's own call, removals drained). */
  readonly wallMs: number;
  readonly jobs: readonly JobOutcome[];
  /**
   * CPU time of the whole machine over the run, all cores and every process (the tests, the engine, this
   * harness), in ms; undefined when not measured. On cores the tests keep busy, this is what the wall time is.
   */
  readonly machineCpuMs?: number;
}

export function outcomeOf(module: string, run: CommandRun): JobOutcome {
  const timing = { runMs: run.runMs, totalMs: run.totalMs };
  if (run.timedOut) return { module, status: 'timeout', reason: `timed out${outputTail(run.stdout, run.stderr)}`, ...timing };
  if (run.exitCode === 0) return { module, status: 'passed', ...timing };
  return { module, status: 'failed', reason: `exit code ${run.exitCode}${outputTail(run.stdout, run.stderr)}`, ...timing };
}

export function notPassed(run: ModeRun): JobOutcome[] {
  return run.jobs.filter((job) => job.status !== 'passed');
}

export function sumMs(jobs: readonly JobOutcome[], key: 'runMs' | 'totalMs' | 'waitMs'): number {
  return jobs.reduce((sum, job) => sum + (job[key] ?? 0), 0);
}

/** `: ` and the last non-empty lines of a failed run's output: enough to see why, short enough for a note. */
export function outputTail(stdout: string, stderr: string): string {
  const lines = `${stdout}\n${stderr}`.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const last = lines.slice(-3).join(' | ');
  return last === '' ? '' : `: ${last.slice(0, 300)}`;
}
