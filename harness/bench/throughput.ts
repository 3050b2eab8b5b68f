import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import type { ContainerFactory, RunnableContainer } from '../../lib/index.js';
import { PoolSource } from '../scheduler/container-source.js';
import { execWithDeadline } from '../scheduler/exec-deadline.js';
import { runSuite } from '../scheduler/scheduler.js';
import { validateSuite, type Suite } from '../scheduler/suite.js';
import { whenFull } from './when-full.js';

/** The shortest job there is; busybox's, which both the Docker image and the LXC base have (as the clock job uses). */
export const trueJobCommand = ['/bin/busybox', 'true'] as const;

/** When each unit of work (a job, or a container created and removed) ended, in performance.now() ms. */
export interface Completions {
  readonly startMs: number;
  /** Ascending. */
  readonly endsMs: readonly number[];
  /** Everything done: for the pool run, the last used container removed too. */
  readonly doneMs: number;
}

/** The steady window of one run: the units after the first `skip`, and the time from the `skip`-th end to the end of everything. */
function steadyWindow({ startMs, endsMs, doneMs }: Completions, skip: number): { units: number; elapsedMs: number } {
  const from = skip > 0 ? endsMs[skip - 1] : startMs;
  if (from === undefined || endsMs.length <= skip) throw new RangeError(`Expected more than ${skip} completions, got ${endsMs.length}`);
  const elapsedMs = doneMs - from;
  if (!(elapsedMs > 0)) throw new RangeError(`Expected the steady window to last, got ${elapsedMs} ms`);
  return { units: endsMs.length - skip, elapsedMs };
}

/**
 * The steady rate per second over one or more runs: the units after the first `skip` of each, over the sum of
 * their windows, each from its `skip`-th end to the end of everything. Leaving out the start takes away the
 * ramp (nothing ends before the first creation does) and, for the pool, the jobs its initially full ready set
 * served without waiting for the engine.
 */
export function steadyRate(runs: Completions | readonly Completions[], skip: number): number {
  const windows = (Array.isArray(runs) ? runs : [runs]).map((run: Completions) => steadyWindow(run, skip));
  if (windows.length === 0) throw new RangeError('Expected at least one run, got none');
  const units = windows.reduce((sum, window) => sum + window.units, 0);
  const elapsedMs = windows.reduce((sum, window) => sum + window.elapsedMs, 0);
  return (units / elapsedMs) * 1000;
}

/**
 * The engine's own ceiling for what one short job costs it: create+start+ready a container through the factory,
 * then remove it, `count` times, `concurrency` at a time, no pool. With `withExec`, the `true` job is exec'd in
 * between by the job runner's own call, so the job's exec is in the engine's cost too. Whatever fails,
 * everything made is removed.
 */
export async function measureCreateRemoveCeiling(
  factory: ContainerFactory<RunnableContainer>,
  { count, concurrency, withExec = false, signal }: { count: number; concurrency: number; withExec?: boolean; signal: AbortSignal },
): Promise<Completions> {
  const [job] = trueSuite(1).jobs;
  const queue = new PQueue({ concurrency });
  const endsMs: number[] = [];
  const startMs = performance.now();
  // allSettled: when one fails the others still run, and each removes its own container before settling.
  const results = await Promise.allSettled(
    Array.from({ length: count }, () =>
      queue.add(async () => {
        const container = await factory.createContainer({ signal });
        try {
          const ran = withExec && job !== undefined ? await execWithDeadline(container, job, { signal }) : undefined;
          if (ran !== undefined && !(ran.kind === 'exited' && ran.exec.exitCode === 0)) throw new Error(`\`true\` did not run to exit code 0: ${ran.kind}`);
        } finally {
          await container.destroy();
        }
        endsMs.push(performance.now());
      }),
    ),
  );
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
  return { startMs, endsMs, doneMs: performance.now() };
}

export interface PoolThroughput extends Completions {
  readonly notPassed: readonly string[];
  readonly leftBehind: number;
}

function trueSuite(jobs: number): Suite {
  return validateSuite({
    name: 'bench-throughput',
    jobs: Array.from({ length: jobs }, (_, index) => ({ name: `true-${index + 1}`, command: [...trueJobCommand], timeoutMs: 60_000 })),
  });
}

/**
 * A stream of `count` `true` jobs through the scheduler's runSuite at `concurrency`, with a pool of `size`
 * (`workers` creations at once) full at the start. The run is done when runSuite resolves: every job ended and
 * every container it used removed.
 */
export async function measurePoolThroughput(
  factory: ContainerFactory<RunnableContainer>,
  { count, size, workers, concurrency, signal }: { count: number; size: number; workers: number; concurrency: number; signal: AbortSignal },
): Promise<PoolThroughput> {
  const source = PoolSource.start(factory, { size, maxWorkers: workers, maxErrorsPerHour: Infinity });
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-throughput-'));
  try {
    await whenFull(source.pool, { failOnError: true, signal });
    const endsMs: number[] = [];
    const startMs = performance.now();
    const result = await runSuite(trueSuite(count), {
      source,
      concurrency,
      outDir,
      signal,
      onEvent: (event) => {
        if (event.phase === 'job-ended') endsMs.push(performance.now());
      },
    });
    const doneMs = performance.now();
    signal.throwIfAborted();
    const notPassed = result.jobs
      .filter((job) => job.status !== 'passed')
      .map((job) => `${job.name}: ${job.status}${job.reason === undefined ? '' : ` (${job.reason})`}`);
    return { startMs, endsMs, doneMs, notPassed, leftBehind: result.leftBehind.length };
  } finally {
    await source.close();
    await rm(outDir, { recursive: true, force: true });
  }
}
