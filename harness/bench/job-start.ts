import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ContainerSource } from '../scheduler/container-source.js';
import { runSuite } from '../scheduler/scheduler.js';
import { validateSuite, type Suite } from '../scheduler/suite.js';
import { TimedSource } from './timed-source.js';

/**
 * The job prints the kernel's wall clock to the microsecond (busybox `adjtimex`, a read-only query that needs
 * no privilege; busybox `date` has no `%N`). Containers share the host's kernel clock, so the printed time
 * minus the job's start on the host is how long the job waited before its command ran.
 */
export const clockJobCommand = ['/bin/busybox', 'adjtimex'] as const;

export function clockSuite(jobs: number): Suite {
  return validateSuite({
    name: 'bench-job-start',
    jobs: Array.from({ length: jobs }, (_, index) => ({
      name: `clock-${index + 1}`,
      command: [...clockJobCommand],
      timeoutMs: 60_000,
    })),
  });
}

/** The wall clock `adjtimex` printed, in ms; undefined when the output does not hold it. */
export function parseAdjtimexWallMs(stdout: string): number | undefined {
  const seconds = /time\.tv_sec:\s*(\d+)/.exec(stdout)?.[1];
  const micros = /time\.tv_usec:\s*(\d+)/.exec(stdout)?.[1];
  if (seconds === undefined || micros === undefined) return undefined;
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

export interface SuiteRunTiming {
  readonly wallMs: number;
  /** Per job: from its start (asking for a container) to its command running in the container. */
  readonly toCommandMs: readonly number[];
  /** Per job: from its start to having its container. */
  readonly toContainerMs: readonly number[];
  readonly passed: number;
  readonly notPassed: readonly string[];
}

/**
 * Runs the clock suite through the scheduler with `source` at `concurrency`, and reads each job's start-to-run
 * latency from its output. The caller owns and closes `source`.
 */
export async function measureSuiteRun(
  source: ContainerSource,
  { jobs, concurrency, signal }: { jobs: number; concurrency: number; signal: AbortSignal },
): Promise<SuiteRunTiming> {
  const timed = new TimedSource(source);
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-jobs-'));
  try {
    const start = performance.now();
    const result = await runSuite(clockSuite(jobs), { source: timed, concurrency, outDir, signal });
    const wallMs = performance.now() - start;
    signal.throwIfAborted();
    const toCommandMs: number[] = [];
    for (const record of timed.records) {
      const ranAtMs = parseAdjtimexWallMs(record.stdout ?? '');
      if (ranAtMs !== undefined) toCommandMs.push(ranAtMs - record.startedAtMs);
    }
    const notPassed = result.jobs
      .filter((job) => job.status !== 'passed')
      .map((job) => `${job.name}: ${job.status}${job.reason === undefined ? '' : ` (${job.reason})`}`);
    return {
      wallMs,
      toCommandMs,
      toContainerMs: timed.records.map((record) => record.gotAtMs - record.startedAtMs),
      passed: result.jobs.length - notPassed.length,
      notPassed,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
