import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../lib/errors.js';
import type { ContainerSource } from '../scheduler/container-source.js';
import { resultWithoutAttempt, type JobResult } from '../scheduler/job-result.js';
import { runJob } from '../scheduler/job-runner.js';
import { RemovalQueue } from '../scheduler/removal-queue.js';
import { defaultCheckoutTimeoutMs, defaultRemovalTimeoutMs } from '../scheduler/scheduler.js';
import type { JobSpec } from '../scheduler/suite.js';
import { clockSuite, parseAdjtimexWallMs } from './job-start.js';
import { TimedSource, wallClockMs } from './timed-source.js';

/** One job of an open-loop run. Times are ms after the job's scheduled arrival (wall clock, same kernel as the container). */
export interface OpenLoopJob {
  /** The scheduled arrival, ms after the run's start. */
  readonly arrivalOffsetMs: number;
  /** How late the harness started the job: its timer and event loop, before any engine work. */
  readonly dispatchLagMs: number;
  /** Arrival to the container in hand (the checkout resolved); undefined when none was had. */
  readonly toContainerMs?: number;
  /** Arrival to the command running in the container: the kernel time the command printed. */
  readonly toCommandMs?: number;
  /** Container in hand to the command running: the exec part alone. */
  readonly execMs?: number;
  readonly result: JobResult;
}

export interface OpenLoopRun {
  /** In arrival order. */
  readonly jobs: readonly OpenLoopJob[];
  /** Jobs started per second, from the first start to the last: what the harness really offered. */
  readonly startedPerSecond: number;
  /** First arrival to the last container removed. */
  readonly wallMs: number;
  /** Containers still not removed when the run gave up waiting for them. */
  readonly leftBehind: number;
}

export interface OpenLoopOptions {
  readonly signal: AbortSignal;
  /** How long after the jobs end the run waits for their containers' removal. @default 60_000 */
  readonly removalTimeoutMs?: number;
}

/** Time between the call and the first arrival: the schedule starts from a quiet event loop, not mid-setup. */
const leadMs = 20;

/**
 * Starts one clock job per arrival (offsets in ms, ascending) at its arrival time, with no cap on how many run at
 * once: a slow job never delays the next arrival, as in a lab where jobs come when they come. Each job goes
 * through the scheduler's own `runJob` with a removal queue, exactly the path of `warmpool run`, so the figures
 * include the harness's job path (checkout, exec with its deadline, logs written, container handed to removal).
 * The caller owns and closes `source`; every container the run checked out is removed before this returns.
 */
export async function runOpenLoop(source: ContainerSource, arrivalsMs: readonly number[], options: OpenLoopOptions): Promise<OpenLoopRun> {
  const { signal } = options;
  const jobs = arrivalsMs.length === 0 ? [] : clockSuite(arrivalsMs.length).jobs;
  const removals = new RemovalQueue();
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-open-loop-'));
  const running: Promise<OpenLoopJob>[] = [];
  const startedAt: number[] = [];
  const runStart = wallClockMs() + leadMs;
  try {
    for (const [index, offsetMs] of arrivalsMs.entries()) {
      const dueAt = runStart + offsetMs;
      const waitMs = dueAt - wallClockMs();
      // Arrivals already due (the loop was late, or they share a millisecond) all start now, in this turn.
      if (waitMs > 0) await sleep(waitMs, undefined, { signal });
      const job = jobs[index];
      if (job === undefined) break;
      startedAt.push(wallClockMs());
      running.push(runTimedJob(job, dueAt, offsetMs, { source, outDir, removals, signal }));
    }
    const ended = await Promise.all(running);
    const leftBehind = await removals.drain(options.removalTimeoutMs ?? defaultRemovalTimeoutMs);
    const first = startedAt[0] ?? 0;
    const last = startedAt.at(-1) ?? 0;
    return {
      jobs: ended,
      startedPerSecond: last > first ? ((startedAt.length - 1) / (last - first)) * 1000 : Number.NaN,
      wallMs: wallClockMs() - runStart - (arrivalsMs[0] ?? 0),
      leftBehind: leftBehind.length,
    };
  } finally {
    // On an abort: the jobs end `cancelled` on the same signal; their containers are still removed.
    await Promise.allSettled(running);
    await removals.drain(options.removalTimeoutMs ?? defaultRemovalTimeoutMs);
    await rm(outDir, { recursive: true, force: true });
  }
}

interface TimedJobOptions {
  readonly source: ContainerSource;
  readonly outDir: string;
  readonly removals: RemovalQueue;
  readonly signal: AbortSignal;
}

async function runTimedJob(job: JobSpec, dueAt: number, arrivalOffsetMs: number, options: TimedJobOptions): Promise<OpenLoopJob> {
  const dispatchLagMs = wallClockMs() - dueAt;
  // One TimedSource per job: its records are this job's checkouts alone (more than one if a container was dead).
  const timed = new TimedSource(options.source);
  const result = await runJob(job, {
    source: timed,
    outDir: options.outDir,
    checkoutTimeoutMs: defaultCheckoutTimeoutMs,
    signal: options.signal,
    removals: options.removals,
    // runJob turns every failure into a result; this is for a bug in it, so that the job still counts as not passed.
  }).catch((error: unknown) => resultWithoutAttempt(job.name, 'error', `runJob threw: ${errorMessage(error)}`));
  const record = timed.records.at(-1);
  const ranAt = parseAdjtimexWallMs(record?.stdout ?? '');
  return {
    arrivalOffsetMs,
    dispatchLagMs,
    ...(record === undefined ? {} : { toContainerMs: record.gotAtMs - dueAt }),
    ...(ranAt === undefined || record === undefined ? {} : { toCommandMs: ranAt - dueAt, execMs: ranAt - record.gotAtMs }),
    result,
  };
}
