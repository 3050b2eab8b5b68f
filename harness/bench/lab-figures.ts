import { figure, type Figure } from './figures.js';
import type { LabStepResult } from './lab-step.js';
import { idealJobsPerSecond } from './lab-timeline.js';
import { perSecond, summarize } from './stats.js';

/** The goals for the lab: near-linear scaling at the most workers, and a quick dispatch on loopback. */
export const labGoals = { ratio: 0.9, dispatchP50Ms: 5 } as const;

/** What one worker count drained, against the ideal. */
export interface LabScaling {
  readonly jobsPerSecond: number;
  readonly idealJobsPerSecond: number;
  readonly ratio: number;
}

export function labScaling(step: Pick<LabStepResult, 'workers' | 'concurrency' | 'jobs' | 'jobMs' | 'spanMs'>): LabScaling {
  const jobsPerSecond = perSecond(step.jobs, step.spanMs);
  const ideal = idealJobsPerSecond(step.workers * step.concurrency, step.jobMs);
  return { jobsPerSecond, idealJobsPerSecond: ideal, ratio: jobsPerSecond / ideal };
}

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

/** One worker count's figures under `lab.workers<N>.`: the rate beside its ideal, then where a job's time went. */
export function labStepFigures(step: LabStepResult, goalAt: number): Figure[] {
  const key = `lab.workers${step.workers}`;
  const who = `${step.workers} worker${step.workers === 1 ? '' : 's'} x ${step.concurrency}`;
  const scaling = labScaling(step);
  const turnaround = summarize(step.turnaroundsMs);
  const dispatch = summarize(step.dispatchMs);
  const goal = step.workers === goalAt ? ` (goal: at least ${labGoals.ratio})` : '';
  return [
    figure(`${key}.jobsPerSecond`, `${who}: jobs per second, ${step.jobs} jobs of ${step.jobMs} ms`, scaling.jobsPerSecond, 'ops/s'),
    figure(`${key}.idealJobsPerSecond`, `${who}: ideal, ${step.workers * step.concurrency} / ${step.jobMs} ms`, scaling.idealJobsPerSecond, 'ops/s'),
    figure(`${key}.ratio`, `${who}: measured / ideal${goal}`, scaling.ratio, 'x'),
    figure(`${key}.turnaround.p50Ms`, `${who}: slot idle between jobs while jobs wait, p50`, turnaround.p50, 'ms'),
    figure(`${key}.turnaround.p99Ms`, `${who}: slot idle between jobs while jobs wait, p99`, turnaround.p99, 'ms'),
    figure(`${key}.dispatch.p50Ms`, `${who}: enqueue to start, one job at a time, p50`, dispatch.p50, 'ms'),
    figure(`${key}.dispatch.p99Ms`, `${who}: enqueue to start, one job at a time, p99`, dispatch.p99, 'ms'),
    figure(`${key}.redisRoundTripsPerJob`, `${who}: Redis round trips per job`, step.redis.roundTrips / step.jobs, 'per job'),
    figure(`${key}.processCpuMsPerJob`, `${who}: CPU of this process (hosts, submitter) per job`, step.processCpuMs / step.jobs, 'cpu ms'),
    figure(`${key}.redisCpuMsPerJob`, `${who}: CPU of Redis per job`, step.redisCpuMs / step.jobs, 'cpu ms'),
    figure(`${key}.eventLoopBusy`, `${who}: this process's event loop busy during the drain`, step.eventLoopUtilization * 100, '%'),
  ];
}

/**
 * The part's headline figures: a Redis round trip (the least a dispatch through Redis can cost), and the
 * dispatch latency at the most workers beside the goal; then each worker count's figures.
 */
export function labFigures(steps: readonly LabStepResult[], pingMs: readonly number[]): Figure[] {
  const most = steps.reduce<LabStepResult | undefined>((best, step) => (best === undefined || step.workers > best.workers ? step : best), undefined);
  if (most === undefined) throw new RangeError('Expected at least one worker count, got none');
  const dispatch = summarize(most.dispatchMs);
  return [
    figure('lab.redisPing.p50Ms', 'one Redis round trip (PING), p50: the floor of a dispatch', summarize(pingMs).p50, 'ms'),
    figure('lab.dispatch.p50Ms', `enqueue to start at ${most.workers} workers, p50 (goal: at most ${labGoals.dispatchP50Ms} ms)`, dispatch.p50, 'ms'),
    figure('lab.dispatch.p99Ms', `enqueue to start at ${most.workers} workers, p99`, dispatch.p99, 'ms'),
    ...steps.flatMap((step) => labStepFigures(step, most.workers)),
  ];
}

/**
 * Where one worker count's time went, in a sentence: each slot's time per job (the sleep as run, the time it
 * stood idle, of which the worker's own work on the result), the CPU of this process and of Redis, what the
 * machine's `cores` could drain at that CPU per job, and the Redis round trips per job by what they were.
 */
export function labStepNote(step: LabStepResult, cores: number): string {
  const perJob = (count: number): string => (count / step.jobs).toFixed(2);
  const roundTrips = [...step.redis.byName]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, count]) => `${name} ${perJob(count)}`)
    .join(', ');
  const share = (cpuMs: number): string => `${((cpuMs / step.windowMs) * 100).toFixed(0)}% of one core`;
  const cpuPerJobMs = (step.processCpuMs + step.redisCpuMs) / step.jobs;
  return (
    `${step.workers} worker(s): the suite of ${step.jobs} jobs went into Redis in ${step.enqueueMs.toFixed(0)} ms (one flow, not counted in the rate); ` +
    `drained in ${(step.spanMs / 1000).toFixed(2)} s from the first command's start to the last one's end. Per job a slot spent ${mean(step.commandMs).toFixed(1)} ms in the ${step.jobMs} ms sleep (late timers included) ` +
    `and stood idle ${mean(step.turnaroundsMs).toFixed(2)} ms on average before its next job, of which ${mean(step.resultMs).toFixed(2)} ms from the command's end to the worker having the result (its capped output for Redis taken from memory; the log files are written off the slot's path), the rest BullMQ completing the job and handing over the next, and the checkout (the delivery is recorded meanwhile). ` +
    `Over the ${(step.windowMs / 1000).toFixed(2)} s window this process used ${(step.processCpuMs / 1000).toFixed(2)} CPU-s (${share(step.processCpuMs)}; event loop ${(step.eventLoopUtilization * 100).toFixed(0)}% busy), Redis ${(step.redisCpuMs / 1000).toFixed(2)} CPU-s (${share(step.redisCpuMs)}): ` +
    `at ${cpuPerJobMs.toFixed(2)} CPU-ms per job the ${cores} cores here could drain at most ${Math.round((cores * 1000) / cpuPerJobMs)} jobs/s however the workers were spread. ` +
    `Round trips per job: ${roundTrips} (${perJob(step.redis.commands)} commands).`
  );
}
