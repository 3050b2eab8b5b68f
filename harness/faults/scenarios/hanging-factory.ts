import { performance } from 'node:perf_hooks';
import type { RunnableContainer } from '../../../lib/container.js';
import { errorMessage } from '../../../lib/errors.js';
import { Pool } from '../../../lib/pool.js';
import { withDeadline } from '../deadline.js';
import type { FaultContext } from '../fault-context.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { FaultLog } from '../fault-log.js';
import { HangingFactory } from '../hanging-factory.js';
import { JobLoop } from '../job-loop.js';

const creationTimeoutMs = 300;

/**
 * A factory (no engine behind it) whose creations now and then hang and ignore their signal, under a library
 * Pool with a short creation timeout and a job loop. The pool must keep serving jobs, and every container a hung
 * creation delivers late must be destroyed: none may be left once all creations have settled.
 */
export async function hangingFactory(context: FaultContext): Promise<ScenarioOutcome> {
  const started = performance.now();
  const { scale, signal, noticeGraceMs } = context;
  const notes: string[] = [];
  const factory = new HangingFactory({ hangEvery: 2, hangs: scale.rounds * 3, hangMs: creationTimeoutMs * 5, createMs: 20 });
  const pool = new Pool<RunnableContainer>(factory, { size: scale.poolSize, maxWorkers: scale.poolSize, creationTimeoutMs });
  // The faults that count are the creations the pool gave up on, as it reports them.
  let timedOut = 0;
  const unsubscribe = pool.on('creation', ({ outcome }) => {
    if (outcome === 'timeout') timedOut++;
  });
  const loop = new JobLoop({
    pool,
    jobs: scale.jobs,
    concurrency: scale.concurrency,
    checkoutTimeoutMs: scale.checkoutTimeoutMs,
    noticeGraceMs,
    faults: new FaultLog(),
    signal,
    // Jobs long enough that hung creations run past their timeout while the suite goes on.
    jobMs: 200,
  });
  let result;
  try {
    result = await loop.run();
  } finally {
    unsubscribe();
    await pool.cleanup({ timeoutMs: 30_000 }).catch((error: unknown) => notes.push(`cleanup: ${errorMessage(error)}`));
  }
  if ((await withDeadline(factory.settled(), 30_000)) === 'timeout') notes.push('some creations had not settled 30 s after cleanup');
  const queued = pool.errors.drain();
  notes.push(`${factory.hung} creation(s) hung, ${timedOut} of them past the ${creationTimeoutMs} ms creation timeout while jobs ran; ${queued.length} error(s) queued`);
  notes.push(...result.reasons);
  return {
    scenario: 'hanging-factory',
    title: 'a factory that hangs and ignores its signal',
    backend: context.backend,
    faultsInjected: timedOut,
    jobsRun: result.jobsRun,
    jobsWithoutResult: result.jobsWithoutResult,
    jobsFailedByInfrastructure: result.jobsFailedByInfrastructure,
    deadContainersHandedOut: result.deadHandedOut,
    containersLeft: factory.live,
    serviceRequests: null,
    durationMs: Math.round(performance.now() - started),
    notes,
    details: { creationTimeoutMs, hangMs: creationTimeoutMs * 5, errorCodes: [...new Set(queued.map(({ error }) => (error as { code?: string }).code ?? error.name))] },
  };
}
