import test from 'ava';
import { ContainerCreationError, ImageUnavailableError, Pool } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { failingFactory, FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

const hourMs = 3_600_000;
// These tests are about the queue and the hourly throttle, so the creation backoff (which slows a burst of
// failures down long before the throttle, see pool-backoff.test.ts) is off here.
const noBackoff = { creationBackoffBaseMs: 0 } as const;

test('every failed creation is queued, with its cause', async (t) => {
  const clock = new FakeClock();
  const cause = new Error('engine said no');
  const factory = new FakeFactory({ clock, plan: (n) => (n < 2 ? { kind: 'fail', error: cause } : { kind: 'instant' }) });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, clock, ...noBackoff });
  await settle();
  t.is(pool.size, 1);
  const entries = pool.errors.drain();
  t.is(entries.length, 2);
  t.true(entries[0]?.error instanceof ContainerCreationError);
  t.is(entries[0]?.error.cause, cause);
  t.is(pool.errors.length, 0, 'drain empties the queue');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('warmpool errors from a factory are queued as they are', async (t) => {
  const factory = failingFactory(new ImageUnavailableError('nope:latest'));
  const pool = new Pool(factory, { size: 1, maxErrorsPerHour: 1, ...noBackoff });
  await settle();
  const [entry] = pool.errors.drain();
  t.true(entry?.error instanceof ImageUnavailableError);
  await pool.cleanup();
});

test('after maxErrorsPerHour failures no creation starts until the oldest is an hour old', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'instant' }) });
  // The first 200 creations fail 10 ms after they start, so the failures are spread over time.
  let failures = 0;
  const spreadFactory = {
    async createContainer(options: { signal: AbortSignal }) {
      if (failures < 200) {
        failures++;
        await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 10));
        throw new Error(`failure ${failures}`);
      }
      return factory.createContainer(options);
    },
  };
  const pool = new Pool(spreadFactory, { size: 1, maxWorkers: 1, clock, ...noBackoff });
  const start = clock.now();
  for (let i = 0; i < 200; i++) await clock.tick(10);
  t.is(failures, 200);
  t.is(pool.errors.length, 200);
  t.true(pool.isThrottled);
  t.is(pool.workerCount, 0, 'no creation runs while throttled');
  t.is(clock.pendingTimers, 1, 'one timer waits for the window to open');
  // The oldest failure happened at start + 10; creation resumes by itself an hour after it.
  await clock.tick(hourMs - 10 * 200 + 10 - 1);
  t.is(pool.workerCount, 0);
  t.is(factory.ledger.started, 0);
  await clock.tick(1);
  t.is(clock.now(), start + 10 + hourMs);
  t.false(pool.isThrottled);
  t.is(pool.size, 1, 'creation resumed and filled the pool');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('the throttle counts only the last hour', async (t) => {
  const clock = new FakeClock();
  let mode: 'fail' | 'ok' = 'fail';
  const factory = new FakeFactory({ clock, plan: () => (mode === 'fail' ? { kind: 'fail' } : { kind: 'instant' }) });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, clock, maxErrorsPerHour: 3, ...noBackoff });
  await settle();
  t.is(factory.ledger.started, 3);
  t.true(pool.isThrottled);
  await clock.tick(hourMs - 1);
  t.is(factory.ledger.started, 3, 'still throttled one millisecond before the hour');
  mode = 'ok';
  await clock.tick(1);
  t.is(factory.ledger.started, 4);
  t.is(pool.size, 1);
  t.is(pool.errors.length, 3, 'resuming does not drain the queue');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('the error queue is bounded and counts what it dropped', async (t) => {
  const clock = new FakeClock();
  const factory = failingFactory();
  const pool = new Pool(factory, { size: 1, clock, maxErrorsPerHour: 25, errorQueueCapacity: 10, ...noBackoff });
  await settle();
  t.is(factory.ledger.started, 25);
  t.is(pool.errors.length, 10);
  t.is(pool.errors.dropped, 15);
  const entries = pool.errors.drain();
  t.regex(entries[0]?.error.message ?? '', /fake creation failed/);
  t.true(entries.every((entry, i) => i === 0 || entry.at >= (entries[i - 1]?.at ?? 0)), 'oldest first');
  await pool.cleanup();
});

test('the default throttle is 200 failures an hour', async (t) => {
  const factory = failingFactory();
  const pool = new Pool(factory, { size: 1, clock: new FakeClock(), ...noBackoff });
  await settle();
  t.is(factory.ledger.started, 200);
  t.true(pool.isThrottled);
  await pool.cleanup();
  t.false(pool.isThrottled);
});
