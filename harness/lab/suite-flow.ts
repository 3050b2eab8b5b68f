import { FlowProducer, type FlowJob } from 'bullmq';
import type { LabJobData, LabSuiteData } from './lab-job.js';
import { kindQueueName, labJobId, newSuiteId, suitesQueueName } from './lab-keys.js';
import { labTiming } from './lab-timing.js';
import { connectionOptions } from './redis-url.js';
import type { KindedSuite } from './submit-kinds.js';

/**
 * Puts a suite into the lab as one BullMQ flow, atomically: the suite is the parent job (in the `suites` queue),
 * each of its jobs a child in its kind's queue (see `suiteFlow`). Resolves with the suite id.
 */
export async function enqueueSuite(redisUrl: string, prefix: string, suite: KindedSuite, capacity: number): Promise<string> {
  const suiteId = newSuiteId();
  const flow = new FlowProducer({ connection: connectionOptions(redisUrl, 'warmpool-submit'), prefix });
  flow.on('error', () => undefined);
  try {
    await flow.add(suiteFlow(suiteId, suite, capacity));
  } finally {
    await flow.close();
  }
  return suiteId;
}

/**
 * A suite as a BullMQ flow: the suite is the parent job, its jobs children in their kinds' queues. A child that BullMQ
 * fails (a host died under it too often) does not hold the suite back: its failure is recorded with the suite
 * (`ignoreDependencyOnFailure`). Jobs are never retried by BullMQ (attempts 1): test retries are the job's own
 * `retries`, run by the worker; a run lost with its host comes back through BullMQ's stalled-job check, not as an
 * attempt. Exported for the bench, which adds suites on a FlowProducer of its own.
 */
export function suiteFlow(suiteId: string, suite: KindedSuite, capacity: number): FlowJob {
  const keep = { removeOnComplete: { age: labTiming.keepFinishedSeconds }, removeOnFail: { age: labTiming.keepFinishedSeconds } };
  const data: LabSuiteData = {
    suiteId,
    name: suite.name,
    submittedAt: new Date().toISOString(),
    jobs: suite.jobs.map((job) => ({ name: job.name, kind: job.kind })),
    capacity,
  };
  return {
    name: suite.name,
    queueName: suitesQueueName,
    data,
    opts: { jobId: suiteId, ...keep },
    children: suite.jobs.map((job, index) => ({
      name: job.name,
      queueName: kindQueueName(job.kind),
      data: { suiteId, index, job } satisfies LabJobData,
      opts: { jobId: labJobId(suiteId, index), attempts: 1, ignoreDependencyOnFailure: true, ...keep },
    })),
  };
}
