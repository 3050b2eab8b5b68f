import PQueue from 'p-queue';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../lib/errors.js';
import type { CommandRun } from './real-suite-command.js';
import { outcomeOf, type JobOutcome, type ModeRun, type SuiteMode } from './real-suite-outcome.js';

/**
 * Runs one command per module, `concurrency` at once (p-queue, like `xargs -P`), and times the whole. A run
 * that throws is recorded as that job's `error`, never dropped; an abort stops the queue and rejects with the
 * signal's reason once the running commands have ended (each runner kills and cleans up its own on abort).
 */
export async function runQueued(
  mode: SuiteMode,
  modules: readonly string[],
  concurrency: number,
  runOne: (module: string, signal: AbortSignal) => Promise<CommandRun>,
  signal: AbortSignal,
): Promise<ModeRun> {
  signal.throwIfAborted();
  const queue = new PQueue({ concurrency });
  const start = performance.now();
  const jobs = await Promise.all(
    modules.map((module) =>
      queue.add(async (): Promise<JobOutcome> => {
        if (signal.aborted) return { module, status: 'cancelled', runMs: 0 };
        const began = performance.now();
        try {
          return outcomeOf(module, await runOne(module, signal));
        } catch (error) {
          if (signal.aborted) return { module, status: 'cancelled', runMs: 0 };
          return { module, status: 'error', reason: errorMessage(error), runMs: 0, totalMs: performance.now() - began };
        }
      }, { throwOnTimeout: true }),
    ),
  );
  const wallMs = performance.now() - start;
  signal.throwIfAborted();
  return { mode, concurrency, wallMs, jobs };
}
