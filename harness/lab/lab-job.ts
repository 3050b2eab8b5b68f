import { InvalidOptionError } from '../../lib/errors.js';
import type { JobResult } from '../scheduler/job-result.js';
import { validateSuite, type JobSpec } from '../scheduler/suite.js';

/** What a suite's parent job holds: enough to follow it and to write its results later, from any machine. */
export interface LabSuiteData {
  readonly suiteId: string;
  readonly name: string;
  readonly submittedAt: string;
  /** In suite order; each job's BullMQ id is `labJobId(suiteId, index)`. */
  readonly jobs: readonly { readonly name: string; readonly kind: string }[];
  /** Jobs the live hosts took at once, all together, when it was submitted. */
  readonly capacity: number;
}

/** What one job's BullMQ job holds: the suite's job as validated at submit, its kind spelled out. */
export interface LabJobData {
  readonly suiteId: string;
  readonly index: number;
  readonly job: JobSpec & { readonly kind: string };
}

/**
 * One time a host took the job. `ran`: this delivery gave the result. `lost`: the host died (or lost its lock)
 * under it and the lab ran it again elsewhere. `handed-back`: the host was shut down and gave it back unfinished.
 */
export interface Delivery {
  readonly host: string;
  readonly startedAt: string;
  readonly outcome: 'ran' | 'lost' | 'handed-back';
}

/** A job's stdout and stderr of one attempt as they travel through Redis: capped, with what was cut. */
export interface AttemptOutput {
  readonly attempt: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutDroppedBytes: number;
  readonly stderrDroppedBytes: number;
}

/**
 * A job's result in the lab: the scheduler's JobResult (statuses, attempts and retries as `warmpool run` has
 * them), plus where it ran and how often the infrastructure made it run again. Its log and artifact paths are
 * relative to `workerOut` on `host`; `outputs` carry each attempt's logs (capped) to the submitter.
 */
export interface LabJobResult extends Omit<JobResult, 'output'> {
  readonly host: string;
  readonly workerOut: string;
  /** Runs the lab started again because a host died under the job or gave it back: never a test retry. */
  readonly infraRetries: number;
  readonly deliveries: readonly Delivery[];
  readonly outputs: readonly AttemptOutput[];
}

/** What a host records in the job's progress as it takes it: the deliveries so far, its own last. */
export interface DeliveryProgress {
  readonly deliveries: readonly { readonly host: string; readonly startedAt: string; readonly outcome?: 'handed-back' }[];
}

/**
 * The job's deliveries before this one, from its progress and its stall count: a recorded delivery that did not
 * hand the job back was lost (its host died, or lost its lock). A host killed before it could record its
 * delivery still shows in BullMQ's stall count, and is added as a lost delivery of an unknown host.
 */
export function earlierDeliveries(progress: unknown, stalledCounter: number): Delivery[] {
  const recorded = isDeliveryProgress(progress) ? progress.deliveries : [];
  const deliveries: Delivery[] = recorded.map((entry) => ({ host: entry.host, startedAt: entry.startedAt, outcome: entry.outcome ?? 'lost' }));
  const lost = deliveries.filter((delivery) => delivery.outcome === 'lost').length;
  for (let missing = stalledCounter - lost; missing > 0; missing--) deliveries.push({ host: '(unrecorded)', startedAt: '', outcome: 'lost' });
  return deliveries;
}

function isDeliveryProgress(value: unknown): value is DeliveryProgress {
  if (typeof value !== 'object' || value === null) return false;
  const deliveries = (value as { deliveries?: unknown }).deliveries;
  return (
    Array.isArray(deliveries) &&
    deliveries.every((entry: unknown) => typeof entry === 'object' && entry !== null && typeof (entry as { host?: unknown }).host === 'string')
  );
}

/**
 * The job data as a worker reads it back from Redis: checked again with the suite format's own validation, so a
 * job that did not come through `warmpool submit` cannot carry anything the format does not know.
 * @throws InvalidOptionError naming what is wrong
 */
export function parseLabJobData(data: unknown, kind: string): LabJobData {
  if (typeof data !== 'object' || data === null) throw new InvalidOptionError('job data', data, 'an object { suiteId, index, job }');
  const { suiteId, index, job } = data as Record<string, unknown>;
  if (typeof suiteId !== 'string' || !Number.isInteger(index)) throw new InvalidOptionError('job data', data, 'an object { suiteId, index, job }');
  const [spec] = validateSuite({ name: suiteId, jobs: [job] }).jobs;
  if (spec === undefined) throw new InvalidOptionError('job data → job', job, 'a job');
  if (spec.kind !== kind) throw new InvalidOptionError('job data → job → kind', spec.kind, `${JSON.stringify(kind)}, the kind of the queue it came from`);
  return { suiteId, index: index as number, job: { ...spec, kind } };
}
