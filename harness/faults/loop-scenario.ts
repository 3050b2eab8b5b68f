import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunnableContainer } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import { Pool } from '../../lib/pool.js';
import { createBackendFactory } from '../backend.js';
import { EngineView } from './engine-view.js';
import type { FaultContext } from './fault-context.js';
import type { ScenarioOutcome } from './fault-figures.js';
import { CheckoutGate, FaultLog } from './fault-log.js';
import { JobLoop } from './job-loop.js';
import { waitForFullPool } from './pool-waits.js';

/** What a loop scenario's injector gets for one round. */
export interface InjectionRound {
  readonly round: number;
  readonly view: EngineView;
  readonly poolId: string;
  readonly loop: JobLoop;
  readonly faults: FaultLog;
  readonly notes: string[];
}

export interface LoopScenarioSpec {
  readonly scenario: string;
  readonly title: string;
  /**
   * Let the pool fill before each round, so only ready containers are hit (and running jobs have ended). Off for
   * faults that must also hit the containers jobs run in. @default true
   */
  readonly fillFirst?: boolean;
  /** How long each job's command runs. @default 200 */
  readonly jobMs?: number;
  /** Injects one round of faults; resolves with how many were injected. Checkouts are held meanwhile. */
  inject(round: InjectionRound): Promise<number>;
}

/** How long a pool of real containers may take to fill before a round is injected anyway. */
const fillTimeoutMs = 60_000;

/**
 * A library Pool on the real engine and a JobLoop over it; `rounds` times, spread over the suite, new checkouts
 * are held, the pool is let fill, the spec's faults are injected, and the pool gets `noticeGraceMs` to notice
 * before checkouts resume. Jobs already running go on meanwhile.
 */
export async function runLoopScenario(context: FaultContext, spec: LoopScenarioSpec): Promise<ScenarioOutcome> {
  const started = performance.now();
  const { scale, signal, noticeGraceMs } = context;
  const poolId = context.poolId(spec.scenario);
  const settings = { ...context.settings, poolId };
  const view = new EngineView(settings);
  const faults = new FaultLog();
  const gate = new CheckoutGate();
  const notes: string[] = [];
  const pool = new Pool<RunnableContainer>(createBackendFactory(settings), {
    size: scale.poolSize,
    maxWorkers: scale.poolSize,
    creationTimeoutMs: 60_000,
  });
  const loop = new JobLoop({
    pool,
    jobs: scale.jobs,
    concurrency: scale.concurrency,
    checkoutTimeoutMs: scale.checkoutTimeoutMs,
    noticeGraceMs,
    faults,
    gate,
    signal,
    ...(spec.jobMs === undefined ? {} : { jobMs: spec.jobMs }),
  });
  let injected = 0;
  let result;
  try {
    if (!(await waitForFullPool(pool, fillTimeoutMs, signal))) notes.push(`the pool was not full ${fillTimeoutMs} ms after its start`);
    const running = loop.run();
    for (let round = 0; round < scale.rounds && !signal.aborted; round++) {
      await loop.whenDone(Math.floor((scale.jobs * (round + 1)) / (scale.rounds + 1)));
      if (loop.done >= scale.jobs) break;
      gate.close();
      try {
        if (spec.fillFirst !== false && !(await waitForFullPool(pool, fillTimeoutMs, signal))) notes.push(`round ${round + 1}: the pool did not refill in ${fillTimeoutMs} ms`);
        const count = await spec.inject({ round, view, poolId, loop, faults, notes });
        injected += count;
        context.log(`${spec.scenario}: round ${round + 1}: ${count} faults injected; ${noticeGraceMs} ms for the pool to notice`);
        await sleep(noticeGraceMs, undefined, { signal }).catch(() => undefined);
      } finally {
        gate.open();
      }
    }
    result = await running;
  } finally {
    gate.open();
    await pool.cleanup({ timeoutMs: 30_000 }).catch((error: unknown) => notes.push(`cleanup: ${errorMessage(error)}`));
  }
  const left = await view.countLeftAndReap(poolId);
  if (left.left > 0) notes.push(`left on the engine: ${left.names.join(', ')}`);
  if (left.reapError !== undefined) notes.push(`reaping them failed: ${left.reapError}`);
  if (result.deadInWindow > 0) notes.push(`${result.deadInWindow} dead container(s) handed out within the notice grace, replaced at once`);
  for (const reason of result.reasons) notes.push(reason);
  return {
    scenario: spec.scenario,
    title: spec.title,
    backend: context.backend,
    faultsInjected: injected,
    jobsRun: result.jobsRun,
    jobsWithoutResult: result.jobsWithoutResult,
    jobsFailedByInfrastructure: result.jobsFailedByInfrastructure,
    deadContainersHandedOut: result.deadHandedOut,
    containersLeft: left.left,
    serviceRequests: null,
    durationMs: Math.round(performance.now() - started),
    notes,
    details: {
      poolId,
      poolSize: scale.poolSize,
      concurrency: scale.concurrency,
      noticeGraceMs,
      deadInWindow: result.deadInWindow,
      diedUnderJob: result.diedUnderJob,
      destroyFailures: result.destroyFailures,
      poolErrorsQueued: pool.errors.length + pool.errors.dropped,
    },
  };
}
