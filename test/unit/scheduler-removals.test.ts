import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { FakeRunnableFactory, type FakeRunnableContainer } from '../../fixtures/fake-runnable.js';
import type { RunnableContainer } from '../../lib/container.js';
import { PoolSource, type CheckoutOptions, type ContainerSource } from '../../harness/scheduler/container-source.js';
import { RemovalQueue } from '../../harness/scheduler/removal-queue.js';
import { runSuite, type SchedulerEvent } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

// Used containers are removed off the jobs' path, retried until gone, and whatever could not be removed by the
// end of the run is reported.

/** Pool containers, with a test's faults applied to each one a job checks out. */
class TamperingSource implements ContainerSource {
  constructor(
    readonly inner: PoolSource,
    private readonly tamper: (container: FakeRunnableContainer) => void,
  ) {}

  get capacity(): number {
    return this.inner.capacity;
  }

  ready(): number {
    return this.inner.ready();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async checkout(options: CheckoutOptions): Promise<RunnableContainer> {
    const container = (await this.inner.checkout(options)) as FakeRunnableContainer;
    this.tamper(container);
    return container;
  }
}

const fixedDelays = { random: () => 0 };

test('a failed removal is retried with backoff until it works', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeRunnableFactory();
  const container = await factory.createContainer({ signal: new AbortController().signal });
  container.destroyFailuresLeft = 2;
  const failures: string[] = [];
  const removals = new RemovalQueue({ clock, ...fixedDelays, onFirstFailure: (name) => failures.push(name) });
  removals.remove(container);
  removals.remove(container);
  await clock.tick();
  t.is(factory.ledger.destroyCalls, 1);
  t.is(removals.pending, 1);
  t.deepEqual(failures, ['fake-0'], 'told once, at the first failure');
  await clock.tick(499);
  t.is(factory.ledger.destroyCalls, 1, 'the first retry waits half of 1 s (equal jitter, drawn at 0)');
  await clock.tick(1);
  t.is(factory.ledger.destroyCalls, 2);
  await clock.tick(1_000);
  t.is(factory.ledger.destroyCalls, 3, 'then twice as long');
  t.true(container.destroyed);
  t.deepEqual(await removals.drain(0), []);
  t.is(clock.pendingTimers, 0);
});

test('an engine outage holds removals back until the engine answers again', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeRunnableFactory();
  const container = await factory.createContainer({ signal: new AbortController().signal });
  factory.engine.down = true;
  const removals = new RemovalQueue({ clock, ...fixedDelays });
  removals.remove(container);
  const drained = removals.drain(60_000);
  for (let step = 0; step < 5; step++) await clock.tick(2_000);
  t.false(container.destroyed);
  factory.engine.down = false;
  await clock.tick(15_000);
  t.deepEqual(await drained, []);
  t.true(container.destroyed);
});

test('what cannot be removed before the drain runs out is reported with its last error, and retrying stops', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeRunnableFactory();
  const stuck = await factory.createContainer({ signal: new AbortController().signal });
  const fine = await factory.createContainer({ signal: new AbortController().signal });
  stuck.destroyFailuresLeft = Infinity;
  const removals = new RemovalQueue({ clock, ...fixedDelays });
  removals.remove(stuck);
  removals.remove(fine);
  const drained = removals.drain(10_000);
  for (let step = 0; step < 20; step++) await clock.tick(1_000);
  t.deepEqual(await drained, [{ name: 'fake-0', reason: 'Removing container fake-0 failed: the engine is busy' }]);
  t.true(fine.destroyed);
  const calls = factory.ledger.destroyCalls;
  await clock.tick(60_000);
  t.is(factory.ledger.destroyCalls, calls, 'no retry after the drain gave up');
  t.is(clock.pendingTimers, 0);
});

test('a slot takes its next job without waiting for the last container\'s removal', async (t) => {
  let release = (): void => undefined;
  const slowEngine = new Promise<void>((resolve) => (release = resolve));
  const factory = new FakeRunnableFactory();
  const source = new TamperingSource(PoolSource.start(factory, { size: 1 }), (container) => {
    container.destroyDelay = slowEngine;
  });
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-removals-'));
  const jobs = ['a', 'b', 'c'].map((name) => ({ name, command: [`out:${name}`] }));
  let ended = 0;
  const onEvent = (event: SchedulerEvent): void => {
    if (event.phase !== 'job-ended' || ++ended < 3) return;
    // Every job is done while not one removal has finished.
    t.is(factory.ledger.destroyed.size, 0);
    t.is(factory.ledger.execs.length, 3);
    release();
  };
  try {
    const result = await runSuite(validateSuite({ name: 'slots', jobs }), { source, concurrency: 1, outDir, onEvent });
    t.is(result.totals.passed, 3);
    t.deepEqual(result.leftBehind, []);
    t.is(ended, 3);
    t.true(['fake-0', 'fake-1', 'fake-2'].every((name) => factory.ledger.destroyed.has(name)), 'the run waited for the removals before it returned');
  } finally {
    await source.close();
  }
  t.deepEqual(factory.ledger.live(), []);
});

test('containers that still cannot be removed at the end are left behind, counted and announced', async (t) => {
  const factory = new FakeRunnableFactory();
  const source = new TamperingSource(PoolSource.start(factory, { size: 1 }), (container) => {
    container.destroyFailuresLeft = Infinity;
  });
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-removals-'));
  const notices: string[] = [];
  try {
    const result = await runSuite(validateSuite({ name: 'stuck', jobs: [{ name: 'a', command: ['out:a'] }, { name: 'b', command: ['exit:1'] }] }), {
      source,
      concurrency: 1,
      outDir,
      removalTimeoutMs: 50,
      onEvent: (event) => {
        if (event.phase === 'notice') notices.push(event.message);
      },
    });
    t.deepEqual(result.jobs.map((job) => job.status), ['passed', 'failed'], 'a removal failure does not change a job\'s status');
    t.deepEqual(result.leftBehind.map((left) => left.name).sort(), ['fake-0', 'fake-1']);
    t.is(result.totals.leftBehind, 2);
    t.regex(result.leftBehind[0]?.reason ?? '', /the engine is busy/);
    t.is(notices.length, 2);
    t.regex(notices[0] ?? '', /^removing container fake-\d failed \(Removing container fake-\d failed: the engine is busy\); retrying in the background$/);
  } finally {
    await source.close();
  }
});
