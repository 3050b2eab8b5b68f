import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { FakeRunnableFactory } from '../../fixtures/fake-runnable.js';
import { CheckoutTimeoutError } from '../../lib/errors.js';
import { OutagePausedDeadline } from '../../harness/scheduler/checkout-deadline.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import type { RunnableContainer } from '../../lib/container.js';
import type { Pool } from '../../lib/pool.js';
import { runSuite } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

// Jobs waiting for a container through a short engine outage run after it: the checkout timeout stands still
// while the pool reports the engine unavailable.

/** Resolves once the pool has found the engine down (it says so with an event). */
function engineDown(pool: Pool<RunnableContainer>): Promise<void> {
  return new Promise((resolve) => {
    if (pool.engineState === 'unavailable') return resolve();
    const off = pool.on('engine', (event) => {
      if (event.state !== 'unavailable') return;
      off();
      resolve();
    });
  });
}

function deadline(timeoutMs: number, maxPausedMs: number, paused = false): { clock: FakeClock; expired: () => boolean; deadline: OutagePausedDeadline } {
  const clock = new FakeClock();
  let expired = false;
  const made = new OutagePausedDeadline(clock, timeoutMs, maxPausedMs, () => (expired = true), paused);
  return { clock, expired: () => expired, deadline: made };
}

test('a deadline that is never paused runs out after its timeout', (t) => {
  const { clock, expired } = deadline(100, 1_000);
  clock.advance(99);
  t.false(expired());
  clock.advance(1);
  t.true(expired());
});

test('time paused for an outage does not count', (t) => {
  const { clock, expired, deadline: d } = deadline(100, 60_000);
  clock.advance(50);
  d.pause();
  clock.advance(10_000);
  t.false(expired());
  d.resume();
  t.is(d.pausedMs, 10_000);
  clock.advance(49);
  t.false(expired());
  clock.advance(1);
  t.true(expired());
});

test('an outage longer than the allowance counts again past it', (t) => {
  const { clock, expired, deadline: d } = deadline(100, 300, true);
  clock.advance(300);
  t.false(expired(), 'the allowance is used up, the timeout starts');
  d.pause();
  clock.advance(99);
  t.false(expired(), 'no allowance left: a second pause does not stop it');
  clock.advance(1);
  t.true(expired());
  t.is(d.pausedMs, 300);
});

test('a cancelled deadline never fires, and Infinity never runs out', (t) => {
  const { clock, expired, deadline: d } = deadline(100, 1_000);
  d.cancel();
  clock.advance(1_000);
  t.false(expired());
  t.is(clock.pendingTimers, 0);
  const forever = deadline(Infinity, 1_000);
  forever.clock.advance(1e9);
  t.false(forever.expired());
});

test('a job waiting through an engine outage longer than its checkout timeout runs after it', async (t) => {
  const factory = new FakeRunnableFactory();
  factory.engine.down = true;
  const source = PoolSource.start(factory, { size: 1, engineProbeMaxMs: 100 });
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-outage-'));
  await engineDown(source.pool);
  // Back after five checkout timeouts.
  setTimeout(() => (factory.engine.down = false), 1_000);
  try {
    const result = await runSuite(validateSuite({ name: 'outage', jobs: [{ name: 'patient', command: ['out:ran'] }] }), {
      source,
      concurrency: 1,
      outDir,
      checkoutTimeoutMs: 200,
    });
    t.is(result.jobs[0]?.status, 'passed', result.jobs[0]?.reason);
    t.is(result.jobs[0]?.attempts, 1);
  } finally {
    await source.close();
  }
});

test('an outage that outlasts the allowance ends the checkout with a timeout that says so', async (t) => {
  const factory = new FakeRunnableFactory();
  factory.engine.down = true;
  const source = PoolSource.start(factory, { size: 1, engineProbeMaxMs: 50 }, { maxOutageWaitMs: 300 });
  try {
    await engineDown(source.pool);
    const error = await t.throwsAsync(source.checkout({ timeoutMs: 100 }), { instanceOf: CheckoutTimeoutError });
    t.regex(error?.message ?? '', /^No container was ready within 100 ms \(not counting \d+ ms the engine could not be reached\); the pool's last creation error: .*cannot be reached/);
  } finally {
    factory.engine.down = false;
    await source.close();
  }
});

test('a job whose first exec finds the engine gone gets another container after the outage, without an attempt', async (t) => {
  const factory = new FakeRunnableFactory();
  const pool = PoolSource.start(factory, { size: 1, engineProbeMaxMs: 100 });
  let checkouts = 0;
  // The engine goes away the moment the job has its first container, and comes back a moment later.
  const source = {
    capacity: pool.capacity,
    ready: () => pool.ready(),
    close: () => pool.close(),
    checkout: async (options: Parameters<PoolSource['checkout']>[0]) => {
      const container = await pool.checkout(options);
      if (++checkouts === 1) {
        factory.engine.down = true;
        setTimeout(() => (factory.engine.down = false), 500);
      }
      return container;
    },
  };
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-outage-'));
  try {
    const result = await runSuite(validateSuite({ name: 'outage', jobs: [{ name: 'moved', command: ['out:ran'] }] }), {
      source,
      concurrency: 1,
      outDir,
      checkoutTimeoutMs: 100,
      livenessSettleMs: 0,
    });
    const [job] = result.jobs;
    t.is(job?.status, 'passed', job?.reason);
    t.is(job?.attempts, 1);
    t.not(job?.history[0]?.container, 'fake-0', 'it ran in another container');
    t.regex(job?.replacedContainers?.[0]?.reason ?? '', /^the engine could not say whether container fake-0 still runs \(.*cannot be reached\): the command could not be started: .*cannot be reached$/);
  } finally {
    await pool.close();
  }
  t.deepEqual(factory.ledger.live(), [], 'the container of the outage was removed once the engine was back');
});
