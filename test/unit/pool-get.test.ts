import test from 'ava';
import { Pool, PoolClosedError } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { manualFactory, instantFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';
import { getEventListeners } from 'node:events';

test('get() with timeoutMs 0 returns null at once when nothing is ready', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 1 });
  t.is(await pool.get(), null);
  t.is(await pool.get({ timeoutMs: 0 }), null);
  t.is(pool.waiting, 0);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('get() returns a ready container at once', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 2 });
  await settle();
  const container = await pool.get();
  t.truthy(container);
  t.is(container?.id, 'fake-0', 'the oldest ready container goes first');
  await pool.cleanup();
  assertNothingLost(t, factory, [container]);
});

test('get() with timeoutMs n waits at most n ms, then returns null', async (t) => {
  const clock = new FakeClock();
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 1, clock, creationTimeoutMs: Infinity });
  let result: unknown = 'pending';
  void pool.get({ timeoutMs: 500 }).then((value) => (result = value));
  await clock.tick(499);
  t.is(result, 'pending');
  t.is(pool.waiting, 1);
  await clock.tick(1);
  t.is(result, null);
  t.is(pool.waiting, 0);
  t.is(clock.pendingTimers, 0);
  factory.pending[0]?.resolve();
  await settle();
  t.is(pool.size, 1, 'a container made after the waiter gave up is pooled');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('get() with timeoutMs Infinity waits until a container is ready', async (t) => {
  const clock = new FakeClock();
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 1, clock, creationTimeoutMs: Infinity });
  const waiting = pool.get({ timeoutMs: Infinity });
  await clock.tick(100 * 3_600_000);
  t.is(pool.waiting, 1);
  factory.pending[0]?.resolve();
  const container = await waiting;
  t.is(container?.id, 'fake-0');
  t.is(pool.size, 0, 'the container went to the waiter, not the pool');
  await pool.cleanup();
  assertNothingLost(t, factory, [container]);
});

test('waiters are served first come, first served', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 3, maxWorkers: 3 });
  const order: string[] = [];
  const gets = ['a', 'b', 'c'].map((who) =>
    pool.get({ timeoutMs: Infinity }).then((container) => {
      order.push(`${who}:${container?.id}`);
      return container;
    }),
  );
  factory.pending[2]?.resolve();
  await settle();
  factory.pending[0]?.resolve();
  await settle();
  factory.pending[0]?.resolve();
  const taken = await Promise.all(gets);
  t.deepEqual(order, ['a:fake-2', 'b:fake-0', 'c:fake-1']);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('an aborted signal rejects with its reason and leaves no waiter or listener behind', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 1, creationTimeoutMs: Infinity });
  const controller = new AbortController();
  const waiting = pool.get({ timeoutMs: Infinity, signal: controller.signal });
  t.is(pool.waiting, 1);
  t.is(getEventListeners(controller.signal, 'abort').length, 1);
  const reason = new Error('test gave up');
  controller.abort(reason);
  t.is(await t.throwsAsync(waiting), reason);
  t.is(pool.waiting, 0);
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
  factory.pending[0]?.resolve();
  await settle();
  t.is(pool.size, 1, 'the container goes to the pool, not to the aborted caller');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a signal aborted before the call rejects at once', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 1 });
  await settle();
  const reason = new Error('already');
  t.is(await t.throwsAsync(pool.get({ signal: AbortSignal.abort(reason) })), reason);
  t.is(pool.size, 1, 'nothing was taken');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('a served waiter leaves no listener on its signal', async (t) => {
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 1 });
  const controller = new AbortController();
  const waiting = pool.get({ timeoutMs: Infinity, signal: controller.signal });
  factory.pending[0]?.resolve();
  const container = await waiting;
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
  await pool.cleanup();
  assertNothingLost(t, factory, [container]);
});

test('no container is handed out twice, under many concurrent gets', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 4, maxWorkers: 2 });
  const taken = await Promise.all(Array.from({ length: 50 }, () => pool.get({ timeoutMs: Infinity })));
  t.is(new Set(taken.map((container) => container?.id)).size, 50);
  await pool.cleanup();
  assertNothingLost(t, factory, taken);
});

test('a waiter that timed out is not served later', async (t) => {
  const clock = new FakeClock();
  const factory = manualFactory();
  const pool = new Pool(factory, { size: 1, clock, creationTimeoutMs: Infinity });
  const first = pool.get({ timeoutMs: 10 });
  const second = pool.get({ timeoutMs: Infinity });
  await clock.tick(10);
  t.is(await first, null);
  factory.pending[0]?.resolve();
  const container = await second;
  t.is(container?.id, 'fake-0');
  await pool.cleanup();
  assertNothingLost(t, factory, [container]);
});

test('get() after cleanup rejects with PoolClosedError', async (t) => {
  const pool = new Pool(instantFactory(), { size: 1 });
  await pool.cleanup();
  const error = await t.throwsAsync(pool.get(), { instanceOf: PoolClosedError });
  t.is(error?.code, 'ERR_WARMPOOL_POOL_CLOSED');
});
