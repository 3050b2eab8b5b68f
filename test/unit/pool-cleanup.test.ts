import test from 'ava';
import { Pool, PoolClosedError, WorkerTimeoutError } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { hangingFactory, instantFactory, manualFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

test('cleanup destroys ready containers, cancels workers and rejects waiters', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 3, maxWorkers: 3 });
  factory.pending[0]?.resolve();
  await settle();
  t.is(pool.size, 1);
  const taken = await pool.get();
  const [served, refused] = [pool.get({ timeoutMs: Infinity }), pool.get({ timeoutMs: 5_000 })];
  factory.pending[0]?.resolve();
  await settle();
  t.is(pool.waiting, 1);
  const inFlight = factory.pending.length;
  t.true(inFlight > 0);
  await pool.cleanup();
  const servedContainer = await served;
  t.truthy(servedContainer);
  const rejection = await t.throwsAsync(refused, { instanceOf: PoolClosedError });
  t.is(rejection?.code, 'ERR_WARMPOOL_POOL_CLOSED');
  t.is(pool.size, 0);
  t.is(pool.workerCount, 0);
  t.is(factory.ledger.aborted, inFlight, 'every running creation was cancelled');
  t.is(factory.pending.length, 0, 'manual creations rejected on abort');
  assertNothingLost(t, factory, [taken, servedContainer]);
});

test('cleanup leaves no timers behind', async (t) => {
  const clock = new FakeClock();
  const factory = hangingFactory();
  const pool = new Pool(factory, { size: 2, clock, creationTimeoutMs: 1_000 });
  void pool.get({ timeoutMs: 10_000 }).catch(() => undefined);
  t.true(clock.pendingTimers > 0);
  await pool.cleanup();
  t.is(clock.pendingTimers, 0);
  assertNothingLost(t, factory);
});

test('a container delivered after cleanup is destroyed', async (t) => {
  const factory = manualFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 2, maxWorkers: 2 });
  await pool.cleanup();
  t.is(factory.pending.length, 2);
  factory.pending[0]?.resolve();
  factory.pending[0]?.resolve();
  await settle();
  t.is(factory.ledger.destroyed.size, 2);
  t.is(pool.size, 0);
  assertNothingLost(t, factory);
});

test('cleanup with a timeout waits for workers to finish', async (t) => {
  const factory = manualFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1 });
  const cleaning = pool.cleanup({ timeoutMs: 60_000 });
  let finished = false;
  void cleaning.then(() => (finished = true));
  await settle();
  t.false(finished, 'cleanup waits for the straggler');
  factory.pending[0]?.resolve();
  await cleaning;
  t.true(finished);
  t.is(factory.ledger.destroyed.size, 1, 'its late container was destroyed before cleanup returned');
  assertNothingLost(t, factory);
});

test('cleanup with a timeout throws WorkerTimeoutError when a worker is still running', async (t) => {
  const clock = new FakeClock();
  const factory = hangingFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 2, maxWorkers: 2, clock });
  const cleaning = pool.cleanup({ timeoutMs: 500 });
  await settle();
  await clock.tick(499);
  let settled = false;
  void cleaning.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  t.false(settled);
  await clock.tick(1);
  const error = await t.throwsAsync(cleaning, { instanceOf: WorkerTimeoutError });
  t.regex(error?.message ?? '', /2 container creations were still running 500 ms after cleanup/);
  t.is(clock.pendingTimers, 0);
});

test('cleanup is idempotent and concurrent calls share the work', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 3 });
  await settle();
  await Promise.all([pool.cleanup(), pool.cleanup()]);
  await pool.cleanup();
  t.is(factory.ledger.destroyed.size, 3);
  assertNothingLost(t, factory);
});

test('a failed destroy is queued and cleanup still completes', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(
    {
      async createContainer(options) {
        const container = await factory.createContainer(options);
        return Object.assign(Object.create(container) as typeof container, {
          destroy: () => Promise.reject(new Error('engine gone')),
        });
      },
    },
    { size: 2 },
  );
  await settle();
  await pool.cleanup();
  const entries = pool.errors.drain();
  t.is(entries.length, 2);
  t.is((entries[0]?.error as { code?: string }).code, 'ERR_WARMPOOL_DESTROY_FAILED');
  t.regex(entries[0]?.error.message ?? '', /fake-0.*engine gone/);
});

test('await using cleans the pool up', async (t) => {
  const factory = instantFactory();
  {
    await using pool = new Pool(factory, { size: 2 });
    await settle();
    t.is(pool.size, 2);
  }
  t.is(factory.ledger.destroyed.size, 2);
  assertNothingLost(t, factory);
});

test('a refill scheduled by a checkout does not run after cleanup', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 2 });
  await settle();
  const container = await pool.get();
  await pool.cleanup();
  await settle();
  t.is(factory.ledger.started, 2, 'no creation started after cleanup');
  assertNothingLost(t, factory, [container]);
});
