import test from 'ava';
import { Pool, type PoolEvents } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

const hourMs = 3_600_000;

test('from the second failure in a row, the next creation waits a doubling delay, up to the cap', async (t) => {
  const clock = new FakeClock();
  // Creations 0-5 fail, then they succeed.
  const factory = new FakeFactory({ clock, plan: (n) => (n < 6 ? { kind: 'fail' } : { kind: 'instant' }) });
  const pool = new Pool(factory, { size: 1, clock, random: () => 1, creationBackoffBaseMs: 100, creationBackoffMaxMs: 400 });
  await settle();
  t.is(factory.ledger.started, 2, 'the first failure is retried at once, the second backs off');
  // Delays after failures 2, 3, 4, 5: 100, 200, 400, 400 ms (the ceilings, since random is 1).
  for (const [delay, startedAfter] of [
    [100, 3],
    [200, 4],
    [400, 5],
    [400, 6],
  ] as const) {
    await clock.tick(delay - 1);
    t.is(factory.ledger.started, startedAfter - 1, `nothing starts before ${delay} ms`);
    await clock.tick(1);
    t.is(factory.ledger.started, startedAfter, `a creation starts after ${delay} ms`);
  }
  await clock.tick(400);
  t.is(factory.ledger.started, 7);
  t.is(pool.size, 1, 'creation 6 succeeded');
  t.is(pool.errors.length, 6, 'every failure is queued');
  t.is(clock.pendingTimers, 0, 'a success resets the backoff');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a success resets the backoff: the next burst starts again from no delay', async (t) => {
  const clock = new FakeClock();
  const outcomes = ['fail', 'fail', 'ok', 'fail', 'ok'];
  const factory = new FakeFactory({ clock, plan: (n) => (outcomes[n] === 'fail' ? { kind: 'fail' } : { kind: 'instant' }) });
  const pool = new Pool(factory, { size: 1, clock, random: () => 1, creationBackoffBaseMs: 100 });
  await settle();
  t.is(factory.ledger.started, 2);
  await clock.tick(100);
  t.is(factory.ledger.started, 3);
  t.is(pool.size, 1);
  const taken = await pool.get();
  await settle();
  await settle();
  t.is(factory.ledger.started, 5, 'one failure after a success is retried at once');
  t.is(pool.size, 1);
  await pool.cleanup();
  assertNothingLost(t, factory, [taken]);
});

test('while backing off, creations run one at a time', async (t) => {
  const clock = new FakeClock();
  let failing = true;
  const factory = new FakeFactory({ clock, plan: () => (failing ? { kind: 'fail' } : { kind: 'slow', ms: 10 }) });
  const pool = new Pool(factory, { size: 4, maxWorkers: 4, clock, random: () => 1, creationBackoffBaseMs: 100 });
  await settle();
  // The wave of four fails; the first failure is retried at once, and that fails too: five in a row.
  t.is(factory.ledger.started, 5);
  t.is(pool.workerCount, 0);
  failing = false;
  await clock.tick(799);
  t.is(factory.ledger.started, 5, 'the fifth failure in a row waits 100 ms * 2^3');
  await clock.tick(1);
  t.is(pool.workerCount, 1, 'after the delay, one creation only');
  await clock.tick(10);
  t.is(pool.size, 1);
  t.is(pool.workerCount, 3, 'its success lifts the limit');
  await clock.tick(10);
  t.is(pool.size, 4);
  t.is(factory.ledger.maxInFlight, 4);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a permanently failing image backs off long before the hourly throttle', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'fail' }) });
  const throttles: PoolEvents['throttle'][] = [];
  // Default backoff (250 ms doubling to 30 s, 15-30 s once capped) and throttle (200 an hour); average jitter.
  const pool = new Pool(factory, { size: 1, maxWorkers: 5, clock, random: () => 0.5 });
  pool.on('throttle', (event) => throttles.push(event));
  for (let elapsed = 0; elapsed < hourMs; elapsed += 1_000) await clock.tick(1_000);
  t.true(factory.ledger.started < 200, `${factory.ledger.started} failures in the hour`);
  t.true(factory.ledger.started > 100, `${factory.ledger.started} failures in the hour: it still tries`);
  t.false(pool.isThrottled);
  t.deepEqual(throttles, []);
  await pool.cleanup();
  t.is(clock.pendingTimers, 0);
});

test('creationBackoffBaseMs 0 turns the backoff off', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'fail' }) });
  const pool = new Pool(factory, { size: 1, clock, creationBackoffBaseMs: 0, maxErrorsPerHour: 50 });
  await settle();
  t.is(factory.ledger.started, 50, 'failures follow each other until the throttle');
  t.true(pool.isThrottled);
  await pool.cleanup();
});
