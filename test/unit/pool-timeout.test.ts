import test from 'ava';
import { Pool, WorkerTimeoutError } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { hangingFactory, manualFactory, FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

test('a creation past its deadline is cancelled, queued as WorkerTimeoutError, and replaced', async (t) => {
  const clock = new FakeClock();
  const factory = hangingFactory();
  const pool = new Pool(factory, { size: 2, maxWorkers: 1, creationTimeoutMs: 1_000, clock });
  t.is(pool.workerCount, 1);
  await clock.tick(999);
  t.is(pool.errors.length, 0);
  await clock.tick(1);
  t.is(factory.ledger.aborted, 1, "the creation's signal aborted");
  t.is(pool.errors.length, 1);
  t.is(factory.ledger.started, 2, 'a new worker took its place');
  t.is(pool.workerCount, 1);
  const [entry] = pool.errors.drain();
  t.true(entry?.error instanceof WorkerTimeoutError);
  t.is((entry?.error as WorkerTimeoutError).code, 'ERR_WARMPOOL_WORKER_TIMEOUT');
  t.is(entry?.at, clock.now());
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a container that arrives after its deadline is destroyed, never pooled', async (t) => {
  const clock = new FakeClock();
  const factory = manualFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, creationTimeoutMs: 100, clock });
  const late = factory.pending[0];
  await clock.tick(100);
  t.is(pool.workerCount, 1, 'the replacement counts, the timed-out one does not');
  t.is(factory.pending.length, 2);
  late?.resolve();
  await settle();
  t.is(pool.size, 0, 'the late container was not pooled');
  t.deepEqual([...factory.ledger.destroyed], ['fake-0']);
  factory.pending[0]?.resolve();
  await settle();
  t.is(pool.size, 1);
  const container = await pool.get();
  t.is(container?.id, 'fake-1');
  await pool.cleanup();
  assertNothingLost(t, factory, [container]);
});

test('a creation that ignores its abort does not hold a worker slot', async (t) => {
  const clock = new FakeClock();
  const factory = hangingFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 3, maxWorkers: 2, creationTimeoutMs: 50, clock, maxErrorsPerHour: Infinity, creationBackoffBaseMs: 0 });
  await clock.tick(50);
  await clock.tick(50);
  t.is(pool.workerCount, 2);
  t.is(factory.ledger.started, 6, 'two waves of two replaced the timed-out ones');
  t.is(pool.errors.length, 4);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a factory that throws synchronously is a failed creation, not a crash', async (t) => {
  let calls = 0;
  const factory = {
    createContainer(): Promise<never> {
      calls++;
      throw new Error('sync boom');
    },
  };
  // Backoff off: this test is about the failure path, and three failures in a row would otherwise back off.
  const pool = new Pool(factory, { size: 1, maxErrorsPerHour: 3, creationBackoffBaseMs: 0 });
  await settle();
  t.is(calls, 3, 'three failures throttle the pool');
  t.is(pool.errors.length, 3);
  t.regex(pool.errors.drain()[0]?.error.message ?? '', /sync boom/);
  await pool.cleanup();
});

test('the default deadline is ten minutes', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'hang' }) });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, clock });
  await clock.tick(599_999);
  t.is(pool.errors.length, 0);
  await clock.tick(1);
  t.is(pool.errors.length, 1);
  await pool.cleanup();
  assertNothingLost(t, factory);
});
