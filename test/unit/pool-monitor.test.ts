import test from 'ava';
import { Pool } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { instantFactory, manualFactory, slowFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

test('the monitor starts on construction and fills the pool', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 7, maxWorkers: 3 });
  t.is(pool.capacity, 7);
  t.is(pool.workerCount, 3, 'the first wave starts synchronously, capped at maxWorkers');
  await settle();
  t.is(pool.size, 7);
  t.is(pool.workerCount, 0);
  t.is(factory.ledger.started, 7, 'a full pool creates no more');
  t.true(factory.ledger.maxInFlight <= 3);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('ready + in flight never exceeds size, and in flight never exceeds maxWorkers', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 5, maxWorkers: 2 });
  const taken = [];
  for (let round = 0; round < 12; round++) {
    t.true(pool.size + pool.workerCount <= 5, `round ${round}: ${pool.size} ready + ${pool.workerCount} creating`);
    t.true(pool.workerCount <= 2);
    t.is(factory.pending.length, pool.workerCount);
    factory.pending[0]?.resolve();
    await settle();
    if (round % 3 === 2) taken.push(await pool.get());
  }
  t.is(factory.ledger.maxInFlight, 2);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('a full, healthy pool sets no timers and starts no work', async (t) => {
  const clock = new FakeClock();
  const factory = slowFactory(clock, 100);
  const pool = new Pool(factory, { size: 3, maxWorkers: 3, clock, creationTimeoutMs: 1_000 });
  t.is(clock.pendingTimers, 6, 'three creation delays and three creation deadlines');
  await clock.tick(100);
  t.is(pool.size, 3);
  t.is(clock.pendingTimers, 0, 'deadlines are cleared when creations finish');
  await clock.tick(10 * 3_600_000);
  t.is(factory.ledger.started, 3);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('taking a container starts a creation for its slot', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 2, maxWorkers: 2 });
  factory.pending[0]?.resolve();
  factory.pending[0]?.resolve();
  await settle();
  t.is(pool.size, 2);
  t.is(pool.workerCount, 0);
  const container = await pool.get();
  t.truthy(container);
  t.is(pool.size, 1);
  t.is(pool.workerCount, 0, 'the caller gets its container before the refill starts');
  await settle();
  t.is(pool.workerCount, 1, 'the freed slot is refilled on the next turn of the event loop');
  await pool.cleanup();
  assertNothingLost(t, factory, [container]);
});
