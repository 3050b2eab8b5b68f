import { join } from 'node:path';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { errorMessage, InvalidOptionError } from '../../lib/errors.js';
import type { ContainerSource } from '../scheduler/container-source.js';
import type { JobResult } from '../scheduler/job-result.js';
import { runJob, type AttemptOutputText } from '../scheduler/job-runner.js';
import type { LogSink } from '../scheduler/log-files.js';
import type { RemovalQueue } from '../scheduler/removal-queue.js';
import { earlierDeliveries, parseLabJobData, type AttemptOutput, type Delivery, type DeliveryProgress, type LabJobResult } from './lab-job.js';
import { capOutput, defaultOutputCapBytes, keepCutLogs } from './output-cap.js';

/** What a worker tells about its jobs (printed as JSON lines on its stdout). */
export type LabJobEvent =
  | { readonly event: 'job-started'; readonly jobId: string; readonly job: string; readonly kind: string; readonly infraRetries: number }
  | { readonly event: 'job-ended'; readonly jobId: string; readonly job: string; readonly kind: string; readonly status: string }
  | { readonly event: 'job-handed-back'; readonly jobId: string; readonly job: string; readonly kind: string };

export interface LabJobProcessorOptions {
  readonly hostId: string;
  readonly source: ContainerSource;
  readonly removals: RemovalQueue;
  /**
   * Each suite's artifacts, and the whole copy of each log the cap cut, go under
   * `<outDir>/<suite id>/jobs/<job>/attempt-<n>/`.
   */
  readonly outDir: string;
  readonly checkoutTimeoutMs: number;
  /** @default 64 KiB */
  readonly outputCapBytes?: number;
  readonly onEvent?: (event: LabJobEvent) => void;
  /**
   * Where the log files the cap cut are written, whole, off the job's path. Only those: each result carries
   * every log, capped, and the submitter writes it.
   */
  readonly logs: LogSink;
}

/** Why a running job was stopped: the host shuts down and gives it back to the queue. */
class HandBack extends Error {
  override readonly name = 'HandBack';
}

/**
 * Runs the lab's jobs on this host: each with the scheduler's job runner, in a fresh container of its kind, its
 * result (logs capped) the BullMQ job's return value. `handBackAll()` stops the jobs still running and puts them
 * back in their queue for another host: they are not lost and not failed.
 */
export class LabJobProcessor {
  readonly #options: LabJobProcessorOptions;
  readonly #running = new Map<string, AbortController>();

  constructor(options: LabJobProcessorOptions) {
    this.#options = options;
  }

  /** Jobs taken and not finished (waiting for a container or running). */
  get running(): number {
    return this.#running.size;
  }

  /** Stops every job still going; each is handed back to its queue. */
  handBackAll(): void {
    for (const controller of this.#running.values()) controller.abort(new HandBack('the host is shutting down; the job goes back to its queue'));
  }

  /** The BullMQ processor of a kind's queue. */
  processorOf(kind: string): (job: Job, token?: string) => Promise<LabJobResult> {
    return (job, token) => this.#process(job, token, kind);
  }

  async #process(job: Job, token: string | undefined, kind: string): Promise<LabJobResult> {
    const { hostId } = this.#options;
    let data;
    try {
      data = parseLabJobData(job.data, kind);
    } catch (error) {
      // Never retried: the same data would fail the same way on every host.
      throw new UnrecoverableError(`refused: ${error instanceof InvalidOptionError ? error.message : errorMessage(error)}`);
    }
    const jobId = job.id ?? '?';
    const earlier = earlierDeliveries(job.progress, job.stalledCounter);
    const startedAt = new Date().toISOString();
    const recorded: DeliveryProgress['deliveries'] = [...recordedDeliveries(job.progress), { host: hostId, startedAt }];
    // Sent before anything runs: if this host dies, the next one knows whose delivery was lost. Not awaited
    // before the job starts, which would keep the slot idle for a Redis round trip: the command is on its way
    // to Redis before the checkout, and a host killed before Redis has it still shows in BullMQ's stall count
    // (see earlierDeliveries). A failure to record fails the job as it did before, once it has run.
    const recording = job.updateProgress({ deliveries: recorded } satisfies DeliveryProgress).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );

    const controller = new AbortController();
    this.#running.set(jobId, controller);
    const spec = data.job;
    this.#options.onEvent?.({ event: 'job-started', jobId, job: spec.name, kind, infraRetries: earlier.length });
    const suiteOut = join(this.#options.outDir, data.suiteId);
    const outputs: AttemptOutput[] = [];
    const cap = this.#options.outputCapBytes ?? defaultOutputCapBytes;
    let result: JobResult;
    try {
      result = await runJob(spec, {
        source: this.#options.source,
        outDir: suiteOut,
        checkoutTimeoutMs: this.#options.checkoutTimeoutMs,
        signal: controller.signal,
        removals: this.#options.removals,
        // Capped as it comes, from memory: reading the log files back would cost every job a round of file
        // operations on the thread pool, which with many jobs at once kept slots idle between jobs.
        onOutput: (output) => outputs.push(cappedOutput(output, cap)),
        // The result carries that capped output, so the host writes, off the slot, only the logs the cap cut:
        // whole, where the submitter's copy of a cut log points. A log that fits travels whole and is not written.
        backgroundLogs: keepCutLogs(this.#options.logs, cap),
      });
    } finally {
      this.#running.delete(jobId);
    }
    const notRecorded = await recording;
    if (notRecorded !== undefined) throw notRecorded.error;

    if (controller.signal.reason instanceof HandBack) {
      const handedBack = recorded.map((entry, index) => (index === recorded.length - 1 ? { ...entry, outcome: 'handed-back' as const } : entry));
      await job.updateProgress({ deliveries: handedBack } satisfies DeliveryProgress);
      await job.moveToWait(token);
      this.#options.onEvent?.({ event: 'job-handed-back', jobId, job: spec.name, kind });
      // Tells BullMQ the job was moved back to wait: neither completed nor failed.
      throw new WaitingError();
    }

    const rest = withoutOutput(result);
    const deliveries: Delivery[] = [...earlier, { host: hostId, startedAt, outcome: 'ran' }];
    const labResult: LabJobResult = {
      ...rest,
      kind,
      host: hostId,
      workerOut: suiteOut,
      infraRetries: earlier.length,
      deliveries,
      outputs,
    };
    this.#options.onEvent?.({ event: 'job-ended', jobId, job: spec.name, kind, status: result.status });
    return labResult;
  }
}

/** One attempt's output as it travels with the result: each stream's end, at most `cap` bytes. */
function cappedOutput({ attempt, stdout, stderr }: AttemptOutputText, cap: number): AttemptOutput {
  const cappedStdout = capOutput(stdout, cap);
  const cappedStderr = capOutput(stderr, cap);
  return {
    attempt,
    stdout: cappedStdout.text,
    stderr: cappedStderr.text,
    stdoutDroppedBytes: cappedStdout.droppedBytes,
    stderrDroppedBytes: cappedStderr.droppedBytes,
  };
}

/** The deliveries as recorded in the progress so far (with no outcome filled in). */
function recordedDeliveries(progress: unknown): DeliveryProgress['deliveries'] {
  const deliveries: unknown = (progress as Partial<DeliveryProgress> | null)?.deliveries;
  return Array.isArray(deliveries) ? (deliveries as DeliveryProgress['deliveries']) : [];
}

/** The output travels in `outputs`, capped (and a log the cap cut is in the worker's files): not twice. */
function withoutOutput({ output: _output, ...rest }: JobResult): Omit<JobResult, 'output'> {
  return rest;
}
