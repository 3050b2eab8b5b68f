import { setTimeout as sleep } from 'node:timers/promises';
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { redactText } from '../../lib/redact.js';
import { newSuiteId, suitesQueueName } from '../lab/lab-keys.js';
import type { LabWorker } from '../lab/lab-worker.js';
import { connectionOptions } from '../lab/redis-url.js';
import { suiteFlow } from '../lab/suite-flow.js';
import { startLabHosts, stopLabHosts } from './lab-hosts.js';
import { LabJobWatch } from './lab-job-watch.js';
import { countRedisCommands, type RedisCommandTally } from './lab-redis-commands.js';
import { deleteKeysUnder, redisCpuMs } from './lab-redis.js';
import { benchSuite } from './lab-suite.js';
import { drainSpanMs, slotTurnaroundsMs } from './lab-timeline.js';

export interface LabStepOptions {
  readonly redisUrl: string;
  /** A connection of the part's own, for Redis's CPU counters and removing the step's keys. */
  readonly admin: Redis;
  /** The step's BullMQ prefix: nothing else uses it, and every key under it is removed at the end. */
  readonly prefix: string;
  readonly workers: number;
  /** Jobs each worker runs at once. */
  readonly concurrency: number;
  /** Jobs of the drain. */
  readonly jobs: number;
  readonly jobMs: number;
  /** One-job suites enqueued one at a time for the dispatch latency, after a few unmeasured ones. */
  readonly dispatchSamples: number;
  readonly outDir: string;
  readonly signal: AbortSignal;
}

/** What one worker count measured. Times in milliseconds. */
export interface LabStepResult {
  readonly workers: number;
  readonly concurrency: number;
  readonly jobs: number;
  readonly jobMs: number;
  /** The drain's suite (all its jobs) added to Redis as one flow. */
  readonly enqueueMs: number;
  /** First command's start to last command's end. */
  readonly spanMs: number;
  /** Slot idle while jobs waited: a slot's end (or the suite's arrival) to its next job's start, every host. */
  readonly turnaroundsMs: readonly number[];
  /** Each drain command's own length: the 50 ms sleep, as late as the busy event loop made it. */
  readonly commandMs: readonly number[];
  /** Each drain job's command end to its worker having the result (logs written, the capped copy taken from memory). */
  readonly resultMs: readonly number[];
  /** This process over the drain (suite added to last job ended): CPU, and its event loop's busy share (0 to 1). */
  readonly processCpuMs: number;
  readonly eventLoopUtilization: number;
  readonly windowMs: number;
  /** Redis's own CPU over the same window (every client's, should anything else use it). */
  readonly redisCpuMs: number;
  /** What this process sent to Redis over the drain. */
  readonly redis: RedisCommandTally;
  /** Enqueue (flow.add called) to the job's command starting, one job in the lab at a time. */
  readonly dispatchMs: readonly number[];
}

/** One-job suites enqueued and dropped before the dispatch samples. */
export const dispatchWarmUps = 5;
/** After a dispatch sample's job ended: the worker's completion goes out before the next sample comes in. */
export const dispatchGapMs = 5;

/**
 * One worker count of the lab part, on its own prefix: `workers` hosts started in this process, a warm-up suite
 * (every connection up, BullMQ's scripts loaded), a suite of `jobs` jobs drained through them, then one-job
 * suites one at a time for the dispatch latency; then the hosts stopped as SIGTERM stops them and every key of
 * the prefix removed.
 */
export async function runLabStep(options: LabStepOptions): Promise<LabStepResult> {
  const { redisUrl, prefix, signal } = options;
  const watch = new LabJobWatch();
  const said: string[] = [];
  const trouble = (): string => (said.length === 0 ? '' : `; the hosts said: ${said.slice(-3).join(' | ')}`);
  const flow = new FlowProducer({ connection: connectionOptions(redisUrl, 'warmpool-bench-submit'), prefix });
  flow.on('error', () => undefined);
  const suites = new Queue(suitesQueueName, { connection: connectionOptions(redisUrl, 'warmpool-bench-suites'), prefix });
  suites.on('error', () => undefined);
  let hosts: LabWorker[] = [];
  try {
    hosts = await startLabHosts({
      redisUrl,
      prefix,
      count: options.workers,
      concurrency: options.concurrency,
      outDir: options.outDir,
      listener: (hostId) => watch.listener(hostId),
      emit: watch.emit,
      say: (line) => said.push(redactText(line)),
    });
    // What the hosts said while starting (each its kinds) is no trouble; from here on it may be.
    said.length = 0;
    const slots = options.workers * options.concurrency;
    /** Runs a suite to its end: every job ended passed, and BullMQ completed the suite. */
    const finish = async (suiteId: string, jobs: number, timeoutMs: number, what: string): Promise<void> => {
      await within(watch.suiteEnded(suiteId, jobs), timeoutMs, signal, () => `${what}${trouble()}`);
      const statuses = watch.statuses(suiteId);
      if (statuses.get('passed') !== jobs) {
        throw new Error(`${what}: ${[...statuses].map(([status, count]) => `${count} ${status}`).join(', ')} of ${jobs} jobs${trouble()}`);
      }
      await suiteCompleted(suites, suiteId, 30_000, signal).catch((error: unknown) => {
        throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}${trouble()}`);
      });
    };

    const warmUpId = newSuiteId();
    await flow.add(suiteFlow(warmUpId, benchSuite('lab-bench-warm-up', 2 * slots, 0, 'w'), slots));
    await finish(warmUpId, 2 * slots, 30_000, 'the warm-up suite');

    // The drain: every job in Redis at once (one flow, as `warmpool submit` adds a suite), all hosts taking.
    const idealMs = Math.ceil(options.jobs / slots) * options.jobMs;
    const suiteId = newSuiteId();
    const drain = suiteFlow(suiteId, benchSuite('lab-bench-drain', options.jobs, options.jobMs, 'd'), slots);
    const redisCpuBefore = await redisCpuMs(options.admin);
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const tally = countRedisCommands();
    let counted: RedisCommandTally;
    const windowStart = performance.now();
    let enqueueMs: number;
    try {
      await flow.add(drain);
      enqueueMs = performance.now() - windowStart;
      await within(watch.suiteEnded(suiteId, options.jobs), Math.max(30_000, 5 * idealMs), signal, () => `draining ${options.jobs} jobs${trouble()}`);
    } finally {
      counted = tally.stop();
    }
    const windowMs = performance.now() - windowStart;
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const redisCpu = (await redisCpuMs(options.admin)) - redisCpuBefore;
    await finish(suiteId, options.jobs, 30_000, 'the drain');

    const drainKey = /^d([0-9]+)$/;
    const runsByHost = watch.runsByHost((job) => drainKey.test(job));
    const readyAtMs = windowStart + enqueueMs;
    const runs = runsByHost.flat();
    const resultMs = runs.flatMap((run) => {
      const ended = watch.endedAt(`${suiteId}.${drainKey.exec(run.job)?.[1] ?? ''}`);
      return ended === undefined ? [] : [ended - run.endMs];
    });

    // Dispatch: one job in the lab at a time, from flow.add() called to its command starting.
    const dispatchMs: number[] = [];
    for (let sample = -dispatchWarmUps; sample < options.dispatchSamples; sample++) {
      signal.throwIfAborted();
      const keyPrefix = `s${sample + dispatchWarmUps}-`;
      const id = newSuiteId();
      const one = suiteFlow(id, benchSuite(`lab-bench-dispatch-${sample + dispatchWarmUps}`, 1, 0, keyPrefix), slots);
      const started = watch.commandStart(`${keyPrefix}0`);
      const start = performance.now();
      await flow.add(one);
      const startedAt = await within(started, 10_000, signal, () => `dispatching one job${trouble()}`);
      await within(watch.suiteEnded(id, 1), 10_000, signal, () => `one job ending${trouble()}`);
      if (sample >= 0) dispatchMs.push(startedAt - start);
      await sleep(dispatchGapMs, undefined, { signal });
    }

    return {
      workers: options.workers,
      concurrency: options.concurrency,
      jobs: options.jobs,
      jobMs: options.jobMs,
      enqueueMs,
      spanMs: drainSpanMs(runs),
      turnaroundsMs: runsByHost.flatMap((hostRuns) => slotTurnaroundsMs(hostRuns, options.concurrency, readyAtMs)),
      commandMs: runs.map((run) => run.endMs - run.startMs),
      resultMs,
      processCpuMs: (cpu.user + cpu.system) / 1000,
      eventLoopUtilization: elu.utilization,
      windowMs,
      redisCpuMs: redisCpu,
      redis: counted,
      dispatchMs,
    };
  } finally {
    // Instant containers cannot fail to go; a host that cannot stop must not keep the keys from going either.
    await stopLabHosts(hosts).catch(() => undefined);
    await Promise.allSettled([flow.close(), suites.close()]);
    await deleteKeysUnder(options.admin, prefix);
  }
}

/** Resolves once BullMQ has completed the suite (its parent job: every child done, then the suites worker). */
async function suiteCompleted(suites: Queue, suiteId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const state = await suites.getJobState(suiteId);
    if (state === 'completed') return;
    if (state === 'failed') throw new Error(`BullMQ failed suite ${suiteId}`);
    if (performance.now() > deadline) throw new Error(`suite ${suiteId} still ${state} in BullMQ after ${timeoutMs / 1000} s`);
    await sleep(20, undefined, { signal });
  }
}

/** `promise`, or a rejection once `ms` have passed (saying what took too long) or `signal` aborts. */
async function within<T>(promise: Promise<T>, ms: number, signal: AbortSignal, what: () => string): Promise<T> {
  const limit = AbortSignal.any([signal, AbortSignal.timeout(ms)]);
  limit.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.aborted ? abortReason(signal) : new Error(`${what()} took more than ${ms / 1000} s`));
    limit.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort !== undefined) limit.removeEventListener('abort', onAbort);
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}
