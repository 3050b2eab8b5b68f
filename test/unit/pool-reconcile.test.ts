import test from 'ava';
import { ContainerDiedError, EngineUnavailableError, Pool, type PoolLogger } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { engineFactory, FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';
import { record, takeAll, turns } from '../helpers/pool-watching.js';

/**
 * Makes the factory's listings wait for the test: each call is counted and made at once (so its answer is what
 * ran when it was asked), but answered only by `answerNext()`.
 */
function gateListings(factory: FakeFactory): { answerNext(): void; readonly waiting: number } {
  const realList = factory.listRunning?.bind(factory);
  if (realList === undefined) throw new Error('the factory has no listRunning()');
  const answers: (() => void)[] = [];
  Object.assign(factory, {
    listRunning: async (signal?: AbortSignal) => {
      const running = await realList(signal);
      await new Promise<void>((resolve) => answers.push(resolve));
      return running;
    },
  });
  return {
    answerNext: () => answers.shift()?.(),
    get waiting() {
      return answers.length;
    },
  };
}

/** Tracks whether a promise has settled yet. */
function tracked(promise: Promise<void>): { readonly done: boolean } {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

/** A full pool of `size` whose factory lists but does not watch: deaths go unheard until a reconcile. */
async function unwatchedPool(size: number, logger?: PoolLogger) {
  const clock = new FakeClock();
  const factory = engineFactory({ clock, watch: false });
  const pool = new Pool(factory, { size, clock, random: () => 1, ...(logger ? { logger } : {}) });
  await turns();
  return { clock, factory, pool };
}

test('reconcile() drops the ready containers the engine no longer runs, in one listing; they are removed and replaced', async (t) => {
  const { factory, pool } = await unwatchedPool(4);
  const deaths = record(pool, 'death');
  factory.kill('fake-0');
  factory.kill('fake-2');
  t.is(pool.size, 4, 'unheard deaths');
  const calls = factory.ledger.listCalls;

  await pool.reconcile();
  t.is(factory.ledger.listCalls, calls + 1, 'one engine call for the whole ready set');
  t.is(pool.size, 2, 'both dead ones left the ready set by the time reconcile() resolved');
  t.deepEqual(deaths.map(({ id, reason }) => `${id}:${reason}`), ['fake-0:not-running', 'fake-2:not-running']);
  const died = pool.errors.drain().map((entry) => entry.error);
  t.is(died.length, 2);
  t.true(died.every((error) => error instanceof ContainerDiedError));

  await turns();
  t.true(factory.ledger.destroyed.has('fake-0') && factory.ledger.destroyed.has('fake-2'), 'removed from the engine');
  t.is(pool.size, 4, 'and replaced');
  const taken = await takeAll(pool);
  t.deepEqual(taken.map((container) => container.id).sort(), ['fake-1', 'fake-3', 'fake-4', 'fake-5']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('reconcile() with every ready container alive changes nothing', async (t) => {
  const { factory, pool } = await unwatchedPool(2);
  await pool.reconcile();
  t.is(pool.size, 2);
  t.is(pool.errors.length, 0);
  t.is(factory.ledger.started, 2);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('concurrent reconcile() calls share one listing; calls made while it is out share the next', async (t) => {
  const { factory, pool } = await unwatchedPool(3);
  const gate = gateListings(factory);
  const calls = factory.ledger.listCalls;

  const first = [pool.reconcile(), pool.reconcile(), pool.reconcile()].map(tracked);
  await turns();
  t.is(factory.ledger.listCalls, calls + 1, 'three calls, one listing');
  t.is(gate.waiting, 1);

  // The listing is out: what dies now is not in its answer's past, so later calls need a later listing.
  factory.kill('fake-1');
  const second = [pool.reconcile(), pool.reconcile()].map(tracked);
  await turns();
  t.is(factory.ledger.listCalls, calls + 1, 'no second listing while the first is out');

  gate.answerNext();
  await turns();
  t.true(first.every((call) => call.done), 'the first three resolved with the first listing');
  t.false(second.some((call) => call.done), 'the later two wait for a listing asked after them');
  t.is(pool.errors.length, 0, 'the first listing was made before fake-1 died');
  t.is(factory.ledger.listCalls, calls + 2, 'one more listing for both later calls');

  gate.answerNext();
  await turns();
  t.true(second.every((call) => call.done));
  t.like(pool.errors.drain()[0]?.error, { containerName: 'fake-1', reason: 'not-running' });
  t.is(factory.ledger.listCalls, calls + 2, 'two listings for five calls');
  await turns();
  t.is(pool.size, 3);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('reconcile() and the reconcile of a reconnected watch share one listing', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 2, clock });
  await turns();
  const calls = factory.ledger.listCalls;
  factory.connect();
  await pool.reconcile();
  t.is(factory.ledger.listCalls, calls + 1);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('reconcile() resolves at once, asking nothing, when the factory cannot list its containers', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'instant' }) });
  const pool = new Pool(factory, { size: 2, clock });
  await turns();
  const call = tracked(pool.reconcile());
  await settle();
  t.true(call.done);
  t.is(pool.size, 2);
  t.is(pool.errors.length, 0);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('reconcile() after cleanup resolves without a listing', async (t) => {
  const { factory, pool } = await unwatchedPool(1);
  await pool.cleanup();
  const calls = factory.ledger.listCalls;
  await pool.reconcile();
  t.is(factory.ledger.listCalls, calls);
  assertNothingLost(t, factory);
});

test('reconcile() that cannot reach the engine starts the outage: ready containers set aside, then back', async (t) => {
  const { clock, factory, pool } = await unwatchedPool(2);
  const engine = record(pool, 'engine');
  factory.engine = 'down';
  await pool.reconcile();
  t.is(pool.engineState, 'unavailable');
  t.is(pool.size, 0);
  t.is(pool.setAside, 2);
  t.is(await pool.get(), null, 'nothing is handed out during the outage');
  const errors = pool.errors.drain().map((entry) => entry.error);
  t.is(errors.length, 1);
  t.true(errors[0] instanceof EngineUnavailableError);

  const calls = factory.ledger.listCalls;
  await pool.reconcile();
  t.is(factory.ledger.listCalls, calls, 'while the outage probes, reconcile() leaves the checking to the probe');

  factory.engine = 'up';
  await clock.tick(250);
  await turns();
  t.is(pool.engineState, 'available');
  t.is(pool.size, 2);
  t.deepEqual(engine.map((event) => event.state), ['unavailable', 'available']);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('reconcile() whose listing fails otherwise logs a warning and keeps the ready set', async (t) => {
  const warnings: string[] = [];
  const logger: PoolLogger = { debug() {}, info() {}, error() {}, warn: (message: unknown) => warnings.push(String(message)) };
  const { factory, pool } = await unwatchedPool(2, logger);
  Object.assign(factory, { listRunning: () => Promise.reject(new Error('permission denied')) });
  await pool.reconcile();
  t.is(pool.engineState, 'available');
  t.is(pool.size, 2);
  t.is(pool.errors.length, 0);
  t.is(warnings.length, 1);
  t.regex(warnings[0] ?? '', /permission denied/);
  await pool.cleanup();
  assertNothingLost(t, factory);
});
