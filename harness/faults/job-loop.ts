import { performance } from 'node:perf_hooks';
import type { RunnableContainer } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import type { Pool } from '../../lib/pool.js';
import type { CheckoutGate, FaultLog } from './fault-log.js';

export interface JobLoopOptions {
  readonly pool: Pool<RunnableContainer>;
  readonly jobs: number;
  readonly concurrency: number;
  /** A job that gets no container within this long has no result. */
  readonly checkoutTimeoutMs: number;
  /** A container handed out this long after its death (the fault's end) counts as a dead container handed out. */
  readonly noticeGraceMs: number;
  readonly faults: FaultLog;
  readonly gate?: CheckoutGate;
  readonly signal: AbortSignal;
  /** Attempts after an infrastructure failure (a container that died under its job). @default 2 */
  readonly retries?: number;
  /** How long each job's command runs. @default 200 */
  readonly jobMs?: number;
}

export interface JobLoopResult {
  readonly jobsRun: number;
  readonly jobsWithoutResult: number;
  readonly jobsFailedByInfrastructure: number;
  /** Dead at hand-out although the fault ended at least `noticeGraceMs` before. */
  readonly deadHandedOut: number;
  /** Dead at hand-out, but handed out within the grace (the pool could not have known yet); replaced at once. */
  readonly deadInWindow: number;
  /** Containers that died under a running job. */
  readonly diedUnderJob: number;
  readonly destroyFailures: number;
  /** A few distinct reasons jobs ended without a result or were hit. */
  readonly reasons: readonly string[];
}

/** How many dead containers one job may be handed in a row before the loop gives up on it. */
const maxReplacements = 20;
/** A job's command never takes this long; past it, something hangs. */
const execTimeoutMs = 30_000;

/**
 * A small test-job loop over a library Pool, the way a careful caller uses one: check a container out, run the
 * job in it, destroy it. It is the fault suite's eye on the pool: each container's first use tells whether the
 * pool handed it out dead, and a dead one is replaced at once (not counted as an attempt), as the scheduler does.
 */
export class JobLoop {
  readonly #options: JobLoopOptions;
  /** Ids of containers checked out and not yet destroyed: the injectors leave these alone. */
  readonly held = new Set<string>();
  #done = 0;
  readonly #doneWaiters = new Set<{ count: number; resolve: () => void }>();
  readonly #reasons = new Set<string>();
  #finished = false;
  #counts = { withoutResult: 0, hurt: 0, deadHandedOut: 0, deadInWindow: 0, diedUnderJob: 0, destroyFailures: 0 };

  constructor(options: JobLoopOptions) {
    this.#options = options;
  }

  get done(): number {
    return this.#done;
  }

  /** Resolves once `count` jobs have ended, or the loop has. */
  whenDone(count: number): Promise<void> {
    if (this.#done >= count || this.#finished) return Promise.resolve();
    return new Promise((resolve) => this.#doneWaiters.add({ count, resolve }));
  }

  async run(): Promise<JobLoopResult> {
    const { jobs, concurrency } = this.#options;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs && !this.#options.signal.aborted) {
        const index = next++;
        await this.#job(index);
        this.#done++;
        for (const waiter of [...this.#doneWaiters]) {
          if (this.#done >= waiter.count) {
            this.#doneWaiters.delete(waiter);
            waiter.resolve();
          }
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, jobs) }, worker));
    } finally {
      this.#finished = true;
      for (const waiter of this.#doneWaiters) waiter.resolve();
      this.#doneWaiters.clear();
    }
    const started = Math.min(next, jobs);
    return {
      jobsRun: started,
      jobsWithoutResult: this.#counts.withoutResult + (jobs - started),
      jobsFailedByInfrastructure: this.#counts.hurt,
      deadHandedOut: this.#counts.deadHandedOut,
      deadInWindow: this.#counts.deadInWindow,
      diedUnderJob: this.#counts.diedUnderJob,
      destroyFailures: this.#counts.destroyFailures,
      reasons: [...this.#reasons].slice(0, 5),
    };
  }

  async #job(index: number): Promise<void> {
    const { retries = 2 } = this.#options;
    let hurt = false;
    let replacements = 0;
    for (let attempt = 0; attempt <= retries; ) {
      const outcome = await this.#attempt(index);
      switch (outcome.kind) {
        case 'passed':
          if (hurt) this.#counts.hurt++;
          return;
        case 'no-container':
          this.#counts.withoutResult++;
          if (hurt) this.#counts.hurt++;
          this.#reasons.add(outcome.reason);
          return;
        case 'dead-at-hand-out':
          if (++replacements > maxReplacements) {
            this.#counts.withoutResult++;
            this.#reasons.add(`handed ${maxReplacements} dead containers in a row`);
            return;
          }
          continue; // not an attempt: take another container at once
        case 'infrastructure':
          hurt = true;
          this.#reasons.add(outcome.reason);
          attempt++;
          continue;
      }
    }
    this.#counts.withoutResult++;
    this.#counts.hurt++;
    this.#reasons.add(`failed by the infrastructure ${retries + 1} times`);
  }

  async #attempt(index: number): Promise<
    { kind: 'passed' } | { kind: 'dead-at-hand-out' } | { kind: 'no-container' | 'infrastructure'; reason: string }
  > {
    const { pool, signal, checkoutTimeoutMs, noticeGraceMs, faults, gate, jobMs = 200 } = this.#options;
    await gate?.pass();
    let container: RunnableContainer | null;
    try {
      container = await pool.get({ timeoutMs: checkoutTimeoutMs, signal });
    } catch (error) {
      return { kind: 'no-container', reason: `get() failed: ${errorMessage(error)}` };
    }
    if (container === null) return { kind: 'no-container', reason: `no container within ${checkoutTimeoutMs} ms` };
    const handedOutAt = performance.now();
    this.held.add(container.id);
    try {
      let failure: string;
      try {
        const result = await container.exec(['/bin/sh', '-c', `echo job-${index}; sleep ${(jobMs / 1000).toFixed(3)}`], { timeoutMs: execTimeoutMs, signal });
        if (result.exitCode === 0 && result.stdout === `job-${index}\n`) return { kind: 'passed' };
        failure = `exit code ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}`;
      } catch (error) {
        failure = errorMessage(error);
      }
      const state = await container.state().catch((error: unknown) => `unknown (${errorMessage(error)})`);
      const fault = faults.of(container.id);
      if (state !== 'running' && fault !== undefined && fault.startedAt <= handedOutAt) {
        if (handedOutAt - fault.endedAt >= noticeGraceMs) this.#counts.deadHandedOut++;
        else this.#counts.deadInWindow++;
        return { kind: 'dead-at-hand-out' };
      }
      if (state !== 'running') this.#counts.diedUnderJob++;
      return { kind: 'infrastructure', reason: `job ${index} in ${container.name} (${state}): ${failure}` };
    } finally {
      try {
        await container.destroy();
      } catch {
        this.#counts.destroyFailures++;
      }
      this.held.delete(container.id);
    }
  }
}
