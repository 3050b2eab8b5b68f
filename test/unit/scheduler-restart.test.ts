import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory, type FakeRunnableFactoryOptions } from '../../fixtures/fake-runnable.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import type { JobResult } from '../../harness/scheduler/job-result.js';
import { maxReplacementsFor } from '../../harness/scheduler/replacement-bound.js';
import { runSuite, type SchedulerOptions, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

// An engine restart stops every pooled container at once, and the pool may hand them out before it hears of it.
// A job meeting one dead container has the pool drop the others (one reconcile per dead container met), and
// rides through a whole pool of them; only a pool that makes nothing but dead containers ends it `error`.

interface Restart {
  readonly result: SuiteResult;
  readonly factory: FakeRunnableFactory;
  /** `pool.reconcile()` calls the scheduler made. */
  readonly reconciles: number;
}

interface Scenario {
  readonly size: number;
  /** How many of the first containers the "restart" stopped. @default size */
  readonly killed?: number;
  readonly jobs?: number;
  readonly concurrency?: number;
  /** Stands in for the pool's reconcile, given the real one. */
  readonly reconcile?: (real: () => Promise<void>) => Promise<void>;
  readonly scheduler?: Partial<SchedulerOptions>;
}

/** Fills a pool of `size` whose first `killed` containers the "restart" stopped, then runs `jobs` passing jobs. */
async function afterRestart(scenario: Scenario, factoryOptions: FakeRunnableFactoryOptions = {}): Promise<Restart> {
  const { size, killed = size, jobs = 1, concurrency = 1 } = scenario;
  const factory = new FakeRunnableFactory({ killedAtCreation: (n) => n < killed, ...factoryOptions });
  const source = PoolSource.start(factory, { size });
  const pool = source.pool;
  let reconciles = 0;
  const reconcile = pool.reconcile.bind(pool);
  pool.reconcile = () => {
    reconciles++;
    return scenario.reconcile ? scenario.reconcile(reconcile) : reconcile();
  };
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-restart-'));
  try {
    await untilFull(source);
    const suite = validateSuite({ name: 'restart', jobs: Array.from({ length: jobs }, (_, i) => ({ name: `job-${i}`, command: ['out:ran'] })) });
    const result = await runSuite(suite, { source, concurrency, outDir, checkoutTimeoutMs: 5_000, livenessSettleMs: 50, ...scenario.scheduler });
    return { result, factory, reconciles };
  } finally {
    await source.close();
  }
}

/** Resolves once every container of the pool is ready (all of them dead, when the test says so). */
function untilFull(source: PoolSource): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (source.ready() < source.capacity) return;
      off();
      resolve();
    };
    const off = source.pool.on('creation', check);
    check();
  });
}

const names = (job: JobResult | undefined): string[] => (job?.replacedContainers ?? []).map((replaced) => replaced.name).sort();
const sequence = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `fake-${from + i}`).sort();

test('the bound on replacements per attempt: twice the capacity, at least 10', (t) => {
  t.deepEqual([1, 4, 5, 6, 8, 100].map(maxReplacementsFor), [10, 10, 10, 12, 16, 200]);
  t.is(maxReplacementsFor(Number.NaN), 10);
});

test('a whole pool killed, the engine unable to list: the job runs after one replacement per dead container', async (t) => {
  // The factory has no listRunning, so a reconcile drops nothing: the job meets all 6 (more than the old bound of 3).
  const { result, factory, reconciles } = await afterRestart({ size: 6 });
  const job = result.jobs[0];
  t.is(job?.status, 'passed');
  t.is(job?.attempts, 1);
  t.deepEqual(names(job), sequence(0, 6));
  t.is(job?.history[0]?.container, 'fake-6', 'the first container made after the restart');
  t.is(reconciles, 6, 'one reconcile per dead container met, none on the happy path');
  t.deepEqual(factory.ledger.live(), [], 'every dead container was removed');
});

test('a whole pool killed: the first dead container met has the pool drop all the others in one listing', async (t) => {
  const { result, factory, reconciles } = await afterRestart({ size: 6 }, { listsRunning: true });
  const job = result.jobs[0];
  t.is(job?.status, 'passed');
  t.deepEqual(names(job), ['fake-0'], 'fake-1..5 were never handed out');
  t.is(reconciles, 1);
  t.is(factory.ledger.listRunningCalls, 1, 'one engine call for the whole ready set');
  t.is(factory.ledger.stateCalls, 1, 'only the container the job met was asked about');
  t.deepEqual(factory.ledger.live(), []);
});

test('concurrent jobs meeting dead containers at once each take a live one next', async (t) => {
  // Both jobs take a dead container at the same moment and both ask for a reconcile; neither takes its next
  // container before the dead ones are gone, so no third dead container is handed out.
  const { result } = await afterRestart({ size: 8, jobs: 4, concurrency: 2 }, { listsRunning: true });
  t.deepEqual(result.jobs.map((job) => job.status), ['passed', 'passed', 'passed', 'passed']);
  t.deepEqual(result.jobs.flatMap(names).sort(), ['fake-0', 'fake-1']);
  t.is(result.totals.attempts, 4);
});

test('only the dead containers go: the live ones behind them in the pool are kept and used', async (t) => {
  // Half the pool was stopped: the listing drops fake-1 and fake-2 and keeps fake-3 for the job.
  const { result } = await afterRestart({ size: 4, killed: 3 }, { listsRunning: true });
  t.is(result.jobs[0]?.status, 'passed');
  t.deepEqual(names(result.jobs[0]), ['fake-0']);
  t.is(result.jobs[0]?.history[0]?.container, 'fake-3');
});

test('a pool that makes only dead containers ends the attempt error past twice its capacity', async (t) => {
  const { result, factory } = await afterRestart({ size: 8, killed: Infinity });
  const job = result.jobs[0];
  t.is(job?.status, 'error');
  t.regex(job?.reason ?? '', /^17 containers in a row were dead at first use; the last: Container fake-\d+ is not running/);
  t.is(job?.replacedContainers?.length, 17);
  t.is(factory.ledger.execs.length, 0, 'no command ever ran');
});

test('a reconcile that fails costs nothing: the job takes the next container as it would have', async (t) => {
  const { result, reconciles } = await afterRestart({ size: 3, reconcile: () => Promise.reject(new Error('the listing broke')) }, { listsRunning: true });
  t.is(result.jobs[0]?.status, 'passed');
  t.deepEqual(names(result.jobs[0]), sequence(0, 3));
  t.is(reconciles, 3);
});

test('an interrupt does not wait for a reconcile that has not answered', async (t) => {
  // A listing the engine never answers: only the pool's own deadline (seconds) would end it.
  const interrupt = new AbortController();
  const { result } = await afterRestart({
    size: 2,
    reconcile: () => new Promise<void>(() => undefined),
    scheduler: {
      signal: interrupt.signal,
      onEvent: (event) => {
        if (event.phase === 'replaced') interrupt.abort('stop');
      },
    },
  });
  t.is(result.jobs[0]?.status, 'cancelled');
  t.is(result.jobs[0]?.reason, 'stop while waiting for a container');
  t.deepEqual(names(result.jobs[0]), ['fake-0']);
});
