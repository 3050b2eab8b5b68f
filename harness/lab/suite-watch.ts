import { Job, Queue, QueueEvents } from 'bullmq';
import type { SchedulerEvent } from '../scheduler/scheduler.js';
import { SuiteNotFoundError } from './lab-errors.js';
import type { LabJobResult, LabSuiteData } from './lab-job.js';
import { indexOfLabJobId, kindQueueName, labJobId, suitesQueueName } from './lab-keys.js';
import { labFailureResult } from './lab-suite-result.js';
import { connectionOptions } from './redis-url.js';

export interface SuiteWatchOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly suiteId: string;
  /** The progress display's events: waiting, running, job-ended, notices (a host lost under a job). */
  readonly onEvent?: (event: SchedulerEvent) => void;
  /** Aborting it stops following (the suite goes on in the lab); the promise rejects with its reason. */
  readonly signal?: AbortSignal;
  /** How often the suite's state is read, besides the live events. @default 1_000 */
  readonly pollMs?: number;
}

/** Every job's result, in suite order. */
export type SuiteOutcome = readonly LabJobResult[];

/** The suite a parent job holds, or SuiteNotFoundError. */
export async function readSuite(redisUrl: string, prefix: string, suiteId: string): Promise<{ data: LabSuiteData; finished: number }> {
  const queue = suitesQueue(redisUrl, prefix);
  try {
    const parent = await Job.fromId<LabSuiteData>(queue, suiteId);
    if (parent === undefined) throw new SuiteNotFoundError(suiteId);
    const counts = await parent.getDependenciesCount({ processed: true, ignored: true });
    return { data: parent.data, finished: (counts.processed ?? 0) + (counts.ignored ?? 0) };
  } finally {
    await queue.close();
  }
}

/** How many of a suite's unfinished jobs are in each state (waiting, active, ...). */
export async function pendingStates(redisUrl: string, prefix: string, data: LabSuiteData): Promise<Record<string, number>> {
  const states: Record<string, number> = {};
  for (const kind of new Set(data.jobs.map((job) => job.kind))) {
    const queue = new Queue(kindQueueName(kind), { connection: connectionOptions(redisUrl, 'warmpool-results'), prefix });
    try {
      for (const [index, job] of data.jobs.entries()) {
        if (job.kind !== kind) continue;
        const state = await queue.getJobState(labJobId(data.suiteId, index));
        if (state === 'completed' || state === 'failed') continue;
        states[state] = (states[state] ?? 0) + 1;
      }
    } finally {
      await queue.close();
    }
  }
  return states;
}

/**
 * Follows a suite to its end: reports each job as a host takes it and as it ends (BullMQ's events, for the
 * progress display), and reads the suite's state every second, which alone decides when it is over (events can
 * be missed across a Redis restart; the suite's own record cannot). Resolves with every job's result.
 */
export async function followSuite(options: SuiteWatchOptions, data: LabSuiteData): Promise<SuiteOutcome> {
  const { redisUrl, prefix, suiteId, onEvent, signal } = options;
  const total = data.jobs.length;
  const results: (LabJobResult | undefined)[] = data.jobs.map(() => undefined);
  let done = 0;
  const ended = (index: number, result: LabJobResult): void => {
    if (results[index] !== undefined) return;
    results[index] = result;
    done++;
    onEvent?.({ phase: 'job-ended', job: result.name, result, done, total });
  };
  const jobAt = (jobId: string): { index: number; name: string; kind: string } | undefined => {
    const index = indexOfLabJobId(suiteId, jobId);
    const job = index === undefined ? undefined : data.jobs[index];
    return index === undefined || job === undefined ? undefined : { index, ...job };
  };

  const watchers = [...new Set(data.jobs.map((job) => job.kind))].map(
    (kind) => new QueueEvents(kindQueueName(kind), { connection: connectionOptions(redisUrl, 'warmpool-submit-events'), prefix }),
  );
  for (const events of watchers) {
    events.on('error', () => undefined);
    events.on('active', ({ jobId }) => {
      const job = jobAt(jobId);
      if (job !== undefined && results[job.index] === undefined) onEvent?.({ phase: 'running', job: job.name, attempt: 1 });
    });
    events.on('stalled', ({ jobId }) => {
      const job = jobAt(jobId);
      if (job !== undefined) onEvent?.({ phase: 'notice', message: `${job.name}: its host died under it (its lock expired); it runs again on another host, an infrastructure retry` });
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      const job = jobAt(jobId);
      if (job !== undefined && isLabJobResult(returnvalue)) ended(job.index, returnvalue);
    });
    events.on('failed', ({ jobId, failedReason }) => {
      const job = jobAt(jobId);
      if (job !== undefined) ended(job.index, labFailureResult(job.name, job.kind, failedReason));
    });
  }
  const queue = suitesQueue(redisUrl, prefix);
  try {
    await Promise.all(watchers.map((events) => events.waitUntilReady()));
    const parent = await Job.fromId<LabSuiteData>(queue, suiteId);
    if (parent === undefined) throw new SuiteNotFoundError(suiteId);
    // What already ended (a detached suite followed later) is reported first; the rest is waiting or running.
    await collect(parent, data, ended);
    for (const [index, job] of data.jobs.entries()) if (results[index] === undefined) onEvent?.({ phase: 'waiting', job: job.name, attempt: 1 });
    for (;;) {
      signal?.throwIfAborted();
      const counts = await parent.getDependenciesCount({ unprocessed: true });
      if ((counts.unprocessed ?? 0) === 0) break;
      await sleep(options.pollMs ?? 1_000, signal);
    }
    await collect(parent, data, ended);
  } finally {
    await Promise.all([...watchers.map((events) => events.close()), queue.close()]);
  }
  return results.map((result, index) => result ?? labFailureResult(data.jobs[index]?.name ?? `#${index}`, data.jobs[index]?.kind ?? '', 'the lab holds no result for it'));
}

/** Reads the results the suite's record holds (jobs done, and jobs BullMQ failed) and reports the new ones. */
async function collect(parent: Job<LabSuiteData>, data: LabSuiteData, ended: (index: number, result: LabJobResult) => void): Promise<void> {
  const values = (await parent.getChildrenValues<unknown>()) ?? {};
  for (const [key, value] of Object.entries(values)) {
    const index = indexOfLabJobId(data.suiteId, key.slice(key.lastIndexOf(':') + 1));
    if (index !== undefined && isLabJobResult(value)) ended(index, value);
  }
  const failures = (await parent.getIgnoredChildrenFailures()) as Record<string, string>;
  for (const [key, reason] of Object.entries(failures)) {
    const index = indexOfLabJobId(data.suiteId, key.slice(key.lastIndexOf(':') + 1));
    const job = index === undefined ? undefined : data.jobs[index];
    if (index !== undefined && job !== undefined) ended(index, labFailureResult(job.name, job.kind, reason));
  }
}

function isLabJobResult(value: unknown): value is LabJobResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Partial<LabJobResult>;
  return typeof result.name === 'string' && typeof result.status === 'string' && Array.isArray(result.history) && Array.isArray(result.deliveries);
}

function suitesQueue(redisUrl: string, prefix: string): Queue {
  const queue = new Queue(suitesQueueName, { connection: connectionOptions(redisUrl, 'warmpool-submit'), prefix });
  queue.on('error', () => undefined);
  return queue;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted(): void {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
