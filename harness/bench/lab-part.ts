import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { labTiming } from '../lab/lab-timing.js';
import { probeRedis } from '../lab/redis-client.js';
import { connectionOptions } from '../lab/redis-url.js';
import type { Measured, Run } from './bench-parts.js';
import { labFigures, labGoals, labStepNote } from './lab-figures.js';
import { benchLabPrefix, labBenchRedisUrl, pingRoundTripsMs } from './lab-redis.js';
import { dispatchGapMs, dispatchWarmUps, runLabStep, type LabStepResult } from './lab-step.js';

/** The job: 50 ms, 4 at once per worker. */
export const labJobMs = 50;
export const labConcurrency = 4;
const pingSamples = 200;
/** One-job suites for the dispatch latency, at each worker count. */
const dispatchSamples = { full: 100, quick: 30 } as const;
/**
 * Part 11: does the lab scale? Hosts of `warmpool worker` (LabWorker, in this process, each with its own Redis
 * connections) on the fixture's Redis with instant containers, 1, 5 and 20 of them taking 4 jobs at once, each
 * draining a suite of 50 ms jobs added as `warmpool submit` adds one: jobs per second against the ideal
 * (workers x 4 / 50 ms), then the latency from enqueue to start with one job in the lab at a time. Each worker
 * count has a fresh BullMQ prefix, whose keys are all removed after it.
 * @throws RedisUnavailableError when no Redis is configured or it does not answer
 */
export async function labPart(run: Run): Promise<Measured> {
  const { options, context } = run;
  const redisUrl = labBenchRedisUrl();
  await probeRedis(redisUrl);
  const admin = new Redis(connectionOptions(redisUrl, 'warmpool-bench-admin'));
  admin.on('error', () => undefined);
  const base = benchLabPrefix();
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-lab-'));
  const samples = options.quick ? dispatchSamples.quick : dispatchSamples.full;
  const steps: LabStepResult[] = [];
  let pingMs: number[];
  try {
    pingMs = await pingRoundTripsMs(admin, pingSamples);
    for (const workers of options.labWorkers) {
      context.signal.throwIfAborted();
      context.progress(`  ${workers} worker(s) x ${labConcurrency}: ${options.labJobs} jobs of ${labJobMs} ms, then ${samples} jobs one at a time`);
      steps.push(
        await runLabStep({
          redisUrl,
          admin,
          prefix: `${base}.w${workers}`,
          workers,
          concurrency: labConcurrency,
          jobs: options.labJobs,
          jobMs: labJobMs,
          dispatchSamples: samples,
          outDir: join(outDir, `w${workers}`),
          signal: context.signal,
        }),
      );
    }
  } finally {
    admin.disconnect();
    await rm(outDir, { recursive: true, force: true });
  }
  return {
    figures: labFigures(steps, pingMs),
    notes: [
      `Each worker count: that many LabWorkers (what \`warmpool worker\` runs: host registry with heartbeat, a BullMQ Worker per kind with concurrency ${labConcurrency} and one for suites, lock ${labTiming.lockDurationMs / 1000} s, stalled check every ${labTiming.stalledIntervalMs / 1000} s, the scheduler's job runner, each job's output capped for Redis from memory and written to a file only when the cap cut it) started in this process, each with its own Redis connections, on the Redis WARMPOOL_REDIS_URL names (\`npm run engines\` starts one on loopback and records it), under a BullMQ prefix of its own (warmpool-bench-<pid>-<random>.w<N>) whose keys are all removed afterwards. Separate connections rather than separate processes: a worker process costs about 1 s of CPU and 130 MB to start under tsx, and 26 of them would take half the part's budget on 2 cores; in one process, enqueue and start are read off one clock. The price: one event loop does every host's work, so at many workers this process's CPU is the limit (its event loop's busy share says when).`,
      `Containers: the bench's instant containers (in memory, no engine), made runnable: each host's one kind keeps ${labConcurrency} ready (min = max) with room for ${labConcurrency} more held; a job checks one out, runs \`sleep ${labJobMs / 1000}\` in it (a ${labJobMs} ms timer in this process) and gives it back (removed, the pool refills at once). Rate: a suite of ${options.labJobs} jobs added as one BullMQ flow (the suite parent, the jobs its children, as \`warmpool submit\` adds it), then jobs over the time from the first command's start to the last one's end; ideal: workers x ${labConcurrency} / ${labJobMs} ms, which a drain whose job count is a multiple of the slots reaches only with no time at all between jobs. Slot idle: on each host, a job's start minus the time the slot it took became free (the previous job's end, or the suite's arrival in Redis), while jobs were waiting. Logs: each job's output travels with its result, whole (it is far under the 64 KiB cap), so the hosts write no log files (a worker writes only the logs the cap cut; see keepCutLogs).`,
      `Dispatch: after the drain, ${samples} one-job suites (\`sleep 0\`) one at a time (after ${dispatchWarmUps} unmeasured), each added once the previous one ended and ${dispatchGapMs} ms passed: flow.add() called to the job's command starting in its container, which includes BullMQ taking the job, the worker recording its delivery (one round trip) and the checkout. Goals (issue 12): at least ${labGoals.ratio}x the ideal at the most workers, dispatch p50 at most ${labGoals.dispatchP50Ms} ms. Round trips counted on the client side (every ioredis command of this process during the drain: the hosts' workers, registries and the submitting flow), a pipeline or MULTI once; Redis's CPU from INFO cpu, so anything else using that Redis counts too. The machine is shared with the engines: its load shows in the report's header.`,
      ...steps.map((step) => labStepNote(step, availableParallelism())),
    ],
  };
}
