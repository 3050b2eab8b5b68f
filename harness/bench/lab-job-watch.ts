import type { CommandListener, CommandRun } from './lab-instant-factory.js';

/** What the hosts said of one suite's jobs as they ended. */
interface SuiteEnds {
  count: number;
  readonly statuses: Map<string, number>;
  waiter?: { readonly count: number; readonly resolve: () => void };
}

/**
 * What the lab part's hosts tell about the jobs they run, gathered in one place: each host's commands (from its
 * instant containers) and each job's end (its `job-ended` event, sent once the worker has the job's result),
 * with promises for the moments the part waits for. Times are performance.now() milliseconds.
 */
export class LabJobWatch {
  /** Commands run, by host id. */
  readonly #runs = new Map<string, CommandRun[]>();
  readonly #startWaiters = new Map<string, (atMs: number) => void>();
  readonly #suites = new Map<string, SuiteEnds>();
  readonly #endedAt = new Map<string, number>();

  /** The listener for one host's containers. */
  listener(hostId: string): CommandListener {
    const runs: CommandRun[] = [];
    this.#runs.set(hostId, runs);
    return {
      started: (job, atMs) => this.#startWaiters.get(job)?.(atMs),
      ended: (run) => runs.push(run),
    };
  }

  /** The hosts' events, as LabWorker emits them: each `job-ended` is counted with its suite, by status. */
  readonly emit = (event: Record<string, unknown>): void => {
    if (event['event'] !== 'job-ended') return;
    const jobId = String(event['jobId']);
    this.#endedAt.set(jobId, performance.now());
    const suite = this.#suite(jobId.slice(0, jobId.lastIndexOf('.')));
    const status = String(event['status']);
    suite.statuses.set(status, (suite.statuses.get(status) ?? 0) + 1);
    suite.count++;
    if (suite.waiter !== undefined && suite.count >= suite.waiter.count) suite.waiter.resolve();
  };

  #suite(suiteId: string): SuiteEnds {
    let suite = this.#suites.get(suiteId);
    if (suite === undefined) {
      suite = { count: 0, statuses: new Map() };
      this.#suites.set(suiteId, suite);
    }
    return suite;
  }

  /** Each host's commands so far, those whose job key `keep` accepts. */
  runsByHost(keep: (job: string) => boolean): CommandRun[][] {
    return [...this.#runs.values()].map((runs) => runs.filter((run) => keep(run.job)));
  }

  /** When the job with this BullMQ id ended (the worker had its result), if it has. */
  endedAt(jobId: string): number | undefined {
    return this.#endedAt.get(jobId);
  }

  /** A suite's jobs ended so far, by status. */
  statuses(suiteId: string): ReadonlyMap<string, number> {
    return this.#suite(suiteId).statuses;
  }

  /** Resolves when `count` jobs of the suite have ended. */
  suiteEnded(suiteId: string, count: number): Promise<void> {
    const suite = this.#suite(suiteId);
    if (suite.count >= count) return Promise.resolve();
    return new Promise((resolve) => {
      suite.waiter = { count, resolve };
    });
  }

  /** Resolves with the time the command of the job with this key starts. Call before the job is enqueued. */
  commandStart(job: string): Promise<number> {
    return new Promise((resolve) => {
      this.#startWaiters.set(job, (atMs) => {
        this.#startWaiters.delete(job);
        resolve(atMs);
      });
    });
  }
}
