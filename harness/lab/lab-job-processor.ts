import { join } from 'node:path';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { errorMessage, InvalidOptionError } from '../../lib/errors.js';
import type { ContainerSource } from '../scheduler/container-source.js';
import type { JobResult } from '../scheduler/job-result.js';
import { runJob } from '../scheduler/job-runner.js';
import type { RemovalQueue } from '../scheduler/removal-queue.js';
import { earlierDeliveries, parseLabJobData, type AttemptOutput, type Delivery, type DeliveryProgress, type LabJobResult } from './lab-job.js';
import { defaultOutputCapBytes, readCappedFile } from './output-cap.js';

/** What a worker tells about its jobs (printed as JSON lines on its stdout). */
export type LabJobEvent =
  | { readonly event: 'job-started'; readonly jobId: string; readonly job: string; readonly kind: string; readonly infraRetries: number }
  | { readonly event: 'job-ended'; readonly jobId: string; readonly job: string; readonly kind: string; readonly status: string }
  | { readonly event: 'job-handed-back'; readonly jobId: string; readonly job: string; readonly kind: string };

export interface LabJobProcessorOptions {
  readonly hostId: string;
  readonly source: ContainerSource;
  readonly removals: RemovalQueue;
  /** Each suite's logs and artifacts go under `<outDir>/<suite id>/jobs/<job>/attempt-<n>/`. */
  readonly outDir: string;
  readonly checkoutTimeoutMs: number;
  /** @default 64 KiB */
  readonly outputCapBytes?: number;
  readonly onEvent?: (event: LabJobEvent) => void;
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
    // Recorded before anything runs: if this host dies, the next one knows whose delivery was lost.
    await job.updateProgress({ deliveries: recorded } satisfies DeliveryProgress);

    const controller = new AbortController();
    this.#running.set(jobId, controller);
    const spec = data.job;
    this.#options.onEvent?.({ event: 'job-started', jobId, job: spec.name, kind, infraRetries: earlier.length });
    const suiteOut = join(this.#options.outDir, data.suiteId);
    let result: JobResult;
    try {
      result = await runJob(spec, {
        source: this.#options.source,
        outDir: suiteOut,
        checkoutTimeoutMs: this.#options.checkoutTimeoutMs,
        signal: controller.signal,
        removals: this.#options.removals,
      });
    } finally {
      this.#running.delete(jobId);
    }

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
      outputs: await this.#outputs(result, suiteOut),
    };
    this.#options.onEvent?.({ event: 'job-ended', jobId, job: spec.name, kind, status: result.status });
    return labResult;
  }

  /** Each attempt's logs, capped, read back from the files the job runner wrote. */
  async #outputs(result: JobResult, suiteOut: string): Promise<AttemptOutput[]> {
    const cap = this.#options.outputCapBytes ?? defaultOutputCapBytes;
    const outputs: AttemptOutput[] = [];
    for (const attempt of result.history) {
      if (attempt.stdout === null && attempt.stderr === null) continue;
      const [stdout, stderr] = await Promise.all(
        [attempt.stdout, attempt.stderr].map(async (file) => (file === null ? { text: '', droppedBytes: 0 } : readCappedFile(join(suiteOut, file), cap))),
      );
      outputs.push({
        attempt: attempt.attempt,
        stdout: stdout?.text ?? '',
        stderr: stderr?.text ?? '',
        stdoutDroppedBytes: stdout?.droppedBytes ?? 0,
        stderrDroppedBytes: stderr?.droppedBytes ?? 0,
      });
    }
    return outputs;
  }
}

/** The deliveries as recorded in the progress so far (with no outcome filled in). */
function recordedDeliveries(progress: unknown): DeliveryProgress['deliveries'] {
  const deliveries: unknown = (progress as Partial<DeliveryProgress> | null)?.deliveries;
  return Array.isArray(deliveries) ? (deliveries as DeliveryProgress['deliveries']) : [];
}

/** The output is in the log files and in `outputs`; the result travels without it. */
function withoutOutput({ output: _output, ...rest }: JobResult): Omit<JobResult, 'output'> {
  return rest;
}
