import test from 'ava';
import { ContainerDiedError, EngineRecoveredNotice, EngineUnavailableError, Pool } from '../../lib/index.js';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { engineFactory, FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';
import { record, takeAll, turns } from '../helpers/pool-watching.js';

test('the pool subscribes to the watch at construction and ends it at cleanup', async (t) => {
  const factory = engineFactory();
  const pool = new Pool(factory, { size: 1 });
  t.is(factory.watchers, 1);
  await pool.cleanup();
  t.is(factory.watchers, 0);
  assertNothingLost(t, factory);
});

test('a ready container that dies leaves the ready set at once, is reported, removed and replaced', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 3, clock });
  const deaths = record(pool, 'death');
  const destroys = record(pool, 'destroy');
  await turns();
  t.is(pool.size, 3);

  factory.kill('fake-1', { exitCode: 137, oomKilled: true });
  t.is(pool.size, 2, 'it left the ready set in the same tick');
  t.deepEqual(deaths, [{ id: 'fake-1', name: 'fake-1', reason: 'died', exitCode: 137, oomKilled: true }]);
  const entries = pool.errors.drain();
  t.is(entries.length, 1);
  const error = entries[0]?.error as ContainerDiedError;
  t.true(error instanceof ContainerDiedError);
  t.is(error.code, 'ERR_WARMPOOL_CONTAINER_DIED');
  t.like(error, { containerName: 'fake-1', reason: 'died', exitCode: 137, oomKilled: true });
  t.regex(error.message, /fake-1 died \(exit code 137\), killed by the OOM killer/);

  await turns();
  t.true(factory.ledger.destroyed.has('fake-1'), 'the dead container was removed from the engine');
  t.like(destroys[0], { name: 'fake-1', reason: 'died', ok: true, attempts: 1 });
  t.is(pool.size, 3, 'its slot was refilled');
  t.is(factory.ledger.started, 4);

  const taken = await takeAll(pool);
  t.false(taken.some((container) => container.id === 'fake-1'), 'the dead container was never handed out');
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('the death of a checked-out container is ignored: it is its caller\'s', async (t) => {
  const factory = engineFactory();
  const pool = new Pool(factory, { size: 2 });
  await turns();
  const mine = await pool.get();
  await turns();
  factory.kill(mine?.id ?? '', { exitCode: 1 });
  await turns();
  t.is(pool.errors.length, 0);
  t.false(factory.ledger.destroyAttempts.has(mine?.id ?? ''), 'the pool did not touch it');
  t.is(pool.size, 2);
  await pool.cleanup();
  assertNothingLost(t, factory, [mine]);
});

test('a die followed by a destroy event for the same container is one death: one error, one removal', async (t) => {
  const factory = engineFactory();
  const pool = new Pool(factory, { size: 2 });
  const deaths = record(pool, 'death');
  await turns();
  factory.kill('fake-0', { exitCode: 137, twice: true });
  factory.emitDeath({ id: 'fake-0', reason: 'died', oomKilled: false });
  await turns();
  t.is(deaths.length, 1);
  t.is(pool.errors.length, 1);
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 1);
  t.is(factory.ledger.started, 3, 'one replacement');
  t.is(pool.size, 2);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a death of a container the pool never had is ignored', async (t) => {
  const factory = engineFactory();
  const pool = new Pool(factory, { size: 1 });
  await turns();
  factory.emitDeath({ id: 'someone-else-3', reason: 'removed', oomKilled: false });
  await turns();
  t.is(pool.errors.length, 0);
  t.is(pool.size, 1);
  t.is(factory.ledger.started, 1);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('on reconnect the pool reconciles: ready containers the engine no longer runs are dropped, removed and replaced', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 3, clock });
  const deaths = record(pool, 'death');
  await turns();
  factory.disconnect();
  await turns();
  // Deaths while the event stream is down are missed.
  factory.kill('fake-0', { exitCode: 137 });
  factory.kill('fake-2', { reason: 'removed' });
  t.is(pool.size, 3, 'the pool has not heard of them yet');
  t.is(deaths.length, 0);

  factory.connect();
  await turns();
  t.deepEqual(
    deaths.map(({ id, reason }) => `${id}:${reason}`),
    ['fake-0:not-running', 'fake-2:not-running'],
  );
  t.is(pool.errors.drain().filter((entry) => entry.error instanceof ContainerDiedError).length, 2);
  t.true(factory.ledger.destroyed.has('fake-0') && factory.ledger.destroyed.has('fake-2'));
  t.is(pool.size, 3, 'both slots were refilled');
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id).sort(), ['fake-1', 'fake-3', 'fake-4']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('a container that becomes ready while a reconcile waits for the listing is not dropped', async (t) => {
  const factory = new FakeFactory({ plan: () => ({ kind: 'manual' }), watch: true, listRunning: true });
  const pool = new Pool(factory, { size: 2, maxWorkers: 2 });
  factory.pending[0]?.resolve();
  await turns();
  t.is(pool.size, 1);
  let answer: (() => void) | undefined;
  const realList = factory.listRunning?.bind(factory);
  // The engine answers the listing only when the test says so; its answer is what ran when it was asked.
  Object.assign(factory, {
    listRunning: async () => {
      const running = await realList?.();
      await new Promise<void>((resolve) => (answer = resolve));
      return running;
    },
  });
  factory.connect();
  await turns();
  factory.pending[0]?.resolve();
  await turns();
  t.is(pool.size, 2, 'fake-1 arrived after the listing was made');
  answer?.();
  await turns();
  t.is(pool.size, 2, 'fake-1 was not in the listing, and was kept all the same');
  t.is(pool.errors.length, 0);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('while the watch is disconnected, a full pool checks the engine with backoff and notices an outage', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 2, clock, random: () => 1 });
  const engine = record(pool, 'engine');
  await turns();
  const before = factory.ledger.listCalls;
  factory.disconnect();
  await turns();
  t.is(factory.ledger.listCalls, before + 1, 'checked at once');
  await clock.tick(249);
  t.is(factory.ledger.listCalls, before + 1);
  await clock.tick(1);
  t.is(factory.ledger.listCalls, before + 2, 'then after the first probe delay');
  t.is(pool.engineState, 'available');

  factory.engine = 'down';
  await clock.tick(500);
  t.is(pool.engineState, 'unavailable', 'the next check found no engine');
  t.is(pool.size, 0, 'ready containers are set aside');
  t.is(pool.setAside, 2);
  t.is(await pool.get(), null, 'and not handed out');
  t.deepEqual(engine.map((event) => event.state), ['unavailable']);

  factory.engine = 'up';
  factory.connect();
  await turns();
  t.is(pool.engineState, 'available', 'the watch coming back made the pool probe at once');
  t.is(pool.size, 2);
  t.deepEqual(engine.map((event) => event.state), ['unavailable', 'available']);
  const errors = pool.errors.drain().map((entry) => entry.error);
  t.is(errors.length, 2);
  t.true(errors[0] instanceof EngineUnavailableError);
  t.true(errors[1] instanceof EngineRecoveredNotice);
  await clock.tick(60_000);
  t.is(factory.ledger.listCalls, before + 4, 'a connected watch means no more checks');
  await pool.cleanup();
  t.is(clock.pendingTimers, 0);
  assertNothingLost(t, factory);
});

test('a death listener that throws breaks neither the watch nor the healing', async (t) => {
  const factory = engineFactory();
  const pool = new Pool(factory, { size: 1, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  await turns();
  pool.on('death', () => {
    throw new Error('listener bug');
  });
  t.notThrows(() => factory.kill('fake-0'));
  t.is(pool.errors.length, 1);
  await turns();
  t.is(pool.size, 1);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('deaths after cleanup are ignored', async (t) => {
  const factory = engineFactory();
  const pool = new Pool(factory, { size: 1 });
  await turns();
  await pool.cleanup();
  factory.emitDeath({ id: 'fake-0', reason: 'died', oomKilled: false });
  factory.connect();
  await turns();
  t.is(pool.errors.length, 0);
  assertNothingLost(t, factory);
});
