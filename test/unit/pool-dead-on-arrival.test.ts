import test from 'ava';
import { ContainerDiedError, Pool } from '../../lib/index.js';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';
import { record, takeAll, turns } from '../helpers/pool-watching.js';

/**
 * A container can die while its creation is still running (stopped right after its readiness check passed),
 * so the engine's death event comes before the pool knows the id. The creation then delivers a dead container:
 * the pool must not hand it out nor make it ready, since no event about it will ever come again.
 */

/** A pool of two over a factory whose creations the test settles, with a watch and a listing. */
function manualEngine() {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'manual' }), watch: true, listRunning: true });
  const pool = new Pool(factory, { size: 2, maxWorkers: 2, clock });
  return { clock, factory, pool, deaths: record(pool, 'death'), destroys: record(pool, 'destroy') };
}

function resolvePending(factory: FakeFactory, id: string): void {
  const entry = factory.pending.find((pending) => pending.id === id);
  if (entry === undefined) throw new Error(`no pending creation of ${id}`);
  entry.resolve();
}

test('a container whose death was reported before its creation resolved is never handed out, and is removed and replaced', async (t) => {
  const { factory, pool, deaths, destroys } = manualEngine();
  t.deepEqual(factory.pending.map((entry) => entry.id), ['fake-0', 'fake-1']);
  const waiting = pool.get({ timeoutMs: Infinity });

  factory.kill('fake-0', { exitCode: 137 });
  t.is(pool.errors.length, 0, 'the pool does not know fake-0 yet');
  resolvePending(factory, 'fake-0');
  await turns();

  t.is(pool.waiting, 1, 'the waiting get() was not given the dead container');
  t.is(pool.size, 0, 'nor was it made ready');
  t.deepEqual(deaths, [{ id: 'fake-0', name: 'fake-0', reason: 'died', exitCode: 137, oomKilled: false }]);
  const entries = pool.errors.drain();
  t.is(entries.length, 1, 'one error');
  t.true(entries[0]?.error instanceof ContainerDiedError);
  t.like(entries[0]?.error, { code: 'ERR_WARMPOOL_CONTAINER_DIED', containerName: 'fake-0', reason: 'died', exitCode: 137 });
  t.true(factory.ledger.destroyed.has('fake-0'), 'it was removed');
  t.like(destroys, [{ name: 'fake-0', reason: 'died', ok: true, attempts: 1 }]);
  t.deepEqual(factory.pending.map((entry) => entry.id), ['fake-1', 'fake-2'], 'its slot is being refilled');

  resolvePending(factory, 'fake-1');
  resolvePending(factory, 'fake-2');
  await turns();
  const served = await waiting;
  t.is(served?.id, 'fake-1', 'the waiter got the next live container');
  t.is(pool.size, 1);
  t.deepEqual(factory.pending.map((entry) => entry.id), ['fake-3'], 'replacing the container checked out, and nothing else');
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id), ['fake-2']);
  t.is(pool.errors.length, 0);
  await pool.cleanup();
  assertNothingLost(t, factory, [served, ...taken]);
});

test('a die and a destroy event before the creation resolved are one death: one error, one removal', async (t) => {
  const { factory, pool, deaths } = manualEngine();
  factory.kill('fake-1', { exitCode: 143, twice: true });
  resolvePending(factory, 'fake-0');
  resolvePending(factory, 'fake-1');
  await turns();
  t.is(deaths.length, 1);
  t.is(pool.errors.length, 1);
  t.is(factory.ledger.destroyAttempts.get('fake-1'), 1);
  t.is(pool.size, 1, 'only fake-0 is ready');
  t.deepEqual(factory.pending.map((entry) => entry.id), ['fake-2']);
  resolvePending(factory, 'fake-2');
  await turns();
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id), ['fake-0', 'fake-2']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('every container stopped at once while creations run: none of them is handed out, and the pool fills again', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'manual' }), watch: true, listRunning: true });
  const pool = new Pool(factory, { size: 4, maxWorkers: 2, clock });
  resolvePending(factory, 'fake-0');
  resolvePending(factory, 'fake-1');
  await turns();
  t.is(pool.size, 2);
  t.deepEqual(factory.pending.map((entry) => entry.id), ['fake-2', 'fake-3']);

  // The engine stops the two ready ones and the two being created, then the creations resolve.
  for (const id of ['fake-0', 'fake-1', 'fake-2', 'fake-3']) factory.kill(id);
  resolvePending(factory, 'fake-2');
  resolvePending(factory, 'fake-3');
  await turns();
  t.is(pool.size, 0, 'no dead container is ready');
  t.is(await pool.get(), null);
  t.is(pool.errors.drain().filter((entry) => entry.error instanceof ContainerDiedError).length, 4, 'one error per container');
  for (let round = 0; round < 3 && factory.pending.length > 0; round++) {
    for (const entry of [...factory.pending]) entry.resolve();
    await turns();
  }
  t.is(pool.size, 4);
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id), ['fake-4', 'fake-5', 'fake-6', 'fake-7']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('a death heard more than a minute before its creation resolved is forgotten (the memory is bounded)', async (t) => {
  const { clock, factory, pool } = manualEngine();
  factory.kill('fake-0');
  await clock.tick(60_001);
  resolvePending(factory, 'fake-0');
  await turns();
  t.is(pool.errors.length, 0, 'no longer remembered: the engine reported it too long ago');
  // What remains to catch it: a reconcile, which the caller that finds it dead asks for.
  await pool.reconcile();
  t.like(pool.errors.drain()[0]?.error, { containerName: 'fake-0', reason: 'not-running' });
  t.is(pool.size, 0);
  resolvePending(factory, 'fake-1');
  await turns();
  resolvePending(factory, 'fake-2');
  await turns();
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id), ['fake-1', 'fake-2']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('a death reported while the creation runs and the creation then fails leaves nothing behind', async (t) => {
  const { factory, pool } = manualEngine();
  factory.kill('fake-0');
  factory.pending[0]?.reject(new Error('readiness check failed: the container stopped'));
  resolvePending(factory, 'fake-1');
  await turns();
  t.is(pool.size, 1);
  t.deepEqual(pool.errors.drain().map((entry) => entry.error.constructor.name), ['ContainerCreationError']);
  resolvePending(factory, 'fake-2');
  await turns();
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id), ['fake-1', 'fake-2']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});
