import test from 'ava';
import { Pool, type ContainerFactory, type CreateContainerOptions } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { instantFactory, slowFactory, type FakeContainer } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

test('resize: growing creates at once, shrinking removes the oldest ready containers as surplus', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 2 });
  await settle();
  const reasons: string[] = [];
  pool.on('destroy', ({ reason, ok }) => ok && reasons.push(reason));
  pool.resize(5);
  t.is(pool.capacity, 5);
  await settle();
  t.is(pool.size, 5);
  const oldestTwo = factory.ledger.created.slice(0, 2).map((container) => container.id);
  pool.resize(3);
  await settle();
  t.is(pool.size, 3);
  t.deepEqual(reasons, ['surplus', 'surplus']);
  t.deepEqual(
    oldestTwo.map((id) => factory.ledger.destroyed.has(id)),
    [true, true],
    'the oldest went first',
  );
  t.is(factory.ledger.started, 5, 'shrinking starts no creation');
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('size 0 keeps nothing ready, and a waiting get is served once the pool is resized', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 0 });
  await settle();
  t.is(factory.ledger.started, 0);
  t.is(await pool.get(), null);
  const waiting = pool.get({ timeoutMs: Infinity });
  await settle();
  t.is(pool.waiting, 1);
  pool.resize(1);
  const container = await waiting;
  t.truthy(container);
  await pool.cleanup();
  assertNothingLost(t, factory, container ? [container] : []);
});

test('creations that finish after a shrink are removed as surplus, not kept', async (t) => {
  const clock = new FakeClock();
  const factory = slowFactory(clock, 100);
  const pool = new Pool(factory, { size: 4, maxWorkers: 4, clock });
  t.is(pool.workerCount, 4);
  pool.resize(1);
  await clock.tick(100);
  t.is(pool.size, 1);
  t.is(factory.ledger.destroyed.size, 3);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('maxAgeMs: an old ready container is replaced first and removed after, a few at a time, never emptying the pool', async (t) => {
  const clock = new FakeClock();
  const factory = slowFactory(clock, 100);
  const pool = new Pool(factory, { size: 4, maxWorkers: 4, maxAgeMs: 10_000, clock });
  await clock.tick(100);
  t.is(pool.size, 4);
  const first = new Set(factory.ledger.created.map((container) => container.id));
  const expired: string[] = [];
  pool.on('destroy', ({ name, reason }) => reason === 'expired' && expired.push(name));
  let lowest = pool.size;
  let mostCreating = 0;
  await clock.tick(10_000 - 100);
  // From now on every 100 ms one replacement (4 / 4 = 1 at a time) lands and one old container goes.
  for (let step = 0; step < 10; step++) {
    mostCreating = Math.max(mostCreating, pool.workerCount);
    await clock.tick(100);
    lowest = Math.min(lowest, pool.size);
  }
  t.is(lowest, 4, 'the pool never dropped below its size');
  t.is(mostCreating, 1, 'one replacement at a time for a pool of 4');
  t.is(expired.length, 4);
  t.true(
    factory.ledger.created.filter((container) => first.has(container.id)).every((container) => factory.ledger.destroyed.has(container.id)),
    'every first-generation container was removed',
  );
  t.is(factory.ledger.created.length, 8, 'four replacements, no more');
  t.true(pool.oldestReadyAgeMs < 10_000);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('maxAgeMs: a checkout takes an old container rather than waiting, and then nothing needs replacing', async (t) => {
  const clock = new FakeClock();
  const factory = slowFactory(clock, 100);
  const pool = new Pool(factory, { size: 1, maxAgeMs: 1_000, clock });
  await clock.tick(100);
  await clock.tick(1_000);
  t.is(pool.workerCount, 1, 'a replacement is being created');
  const container = await pool.get();
  t.truthy(container, 'the old container is still handed out');
  await clock.tick(100);
  t.is(pool.size, 1);
  t.is(factory.ledger.destroyed.size, 0, 'nothing was expired: the old one was used');
  await pool.cleanup();
  assertNothingLost(t, factory, container ? [container] : []);
});

/** A fake factory whose containers record pause and resume, and can be told to fail resuming. */
function pausableFactory(): { factory: ContainerFactory<FakeContainer>; log: string[]; failResume: Set<string>; inner: ReturnType<typeof instantFactory> } {
  const inner = instantFactory();
  const log: string[] = [];
  const failResume = new Set<string>();
  const factory: ContainerFactory<FakeContainer> = {
    async createContainer(options: CreateContainerOptions) {
      const container = await inner.createContainer(options);
      return Object.assign(container, {
        pause: () => {
          log.push(`pause ${container.id}`);
          return Promise.resolve();
        },
        resume: () => {
          log.push(`resume ${container.id}`);
          return failResume.has(container.id) ? Promise.reject(new Error('will not thaw')) : Promise.resolve();
        },
      });
    },
  };
  return { factory, log, failResume, inner };
}

test('pauseIdle: ready containers are paused, and resumed before they are handed out', async (t) => {
  const { factory, log, inner } = pausableFactory();
  const pool = new Pool(factory, { size: 2, pauseIdle: true });
  await settle();
  t.is(pool.paused, 2);
  const [a, b] = inner.ledger.created;
  t.deepEqual(log, [`pause ${a?.id}`, `pause ${b?.id}`]);
  const container = await pool.get();
  t.is(container?.id, a?.id);
  t.is(log.at(-1), `resume ${a?.id}`, 'resumed before the caller got it');
  await settle();
  t.is(pool.paused, 2, 'its replacement was paused too');
  await pool.cleanup();
  assertNothingLost(t, inner, container ? [container] : []);
});

test('pauseIdle: a container that will not resume is removed and the caller gets the next one', async (t) => {
  const { factory, failResume, inner } = pausableFactory();
  const pool = new Pool(factory, { size: 2, pauseIdle: true });
  await settle();
  const [a, b] = inner.ledger.created;
  failResume.add(a?.id ?? '');
  const container = await pool.get();
  t.is(container?.id, b?.id);
  await settle();
  t.true(inner.ledger.destroyed.has(a?.id ?? ''));
  t.is(pool.errors.drain()[0]?.error.name, 'ContainerDiedError');
  await pool.cleanup();
  assertNothingLost(t, inner, container ? [container] : []);
});

test('discard: a container handed out is removed through the pool, retried until it is gone', async (t) => {
  const clock = new FakeClock();
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 1, clock });
  await settle();
  const container = await pool.get();
  if (!container) throw new Error('no container');
  factory.failDestroys(container.id, 2);
  const reasons: string[] = [];
  pool.on('destroy', ({ reason, ok }) => reasons.push(`${reason} ${ok}`));
  await pool.discard(container);
  t.false(factory.ledger.destroyed.has(container.id));
  await clock.runFor(5_000);
  t.true(factory.ledger.destroyed.has(container.id));
  t.deepEqual(reasons, ['returned false', 'returned true']);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('expectCheckouts: no creation beyond the checkouts to come, a caller beyond them is served, Infinity refills to the size', async (t) => {
  const factory = instantFactory();
  // A pool fills at construction: told before it grows, it makes only what the two checkouts to come can use.
  const pool = new Pool(factory, { size: 0 });
  pool.expectCheckouts(2);
  pool.resize(5);
  await settle();
  t.is(pool.size, 2, 'two checkouts to come: two containers, not five');
  const taken = [await pool.get(), await pool.get()];
  pool.expectCheckouts(0);
  await settle();
  t.is(factory.ledger.started, 2, 'no refill once no checkout is to come');
  // A caller the count did not include (a retry) waits, and the pool makes its container.
  const extra = await pool.get({ timeoutMs: 1_000 });
  t.truthy(extra);
  t.is(factory.ledger.started, 3);
  pool.expectCheckouts(Infinity);
  await settle();
  t.is(pool.size, 5);
  const error = t.throws(() => pool.expectCheckouts(-1));
  t.is((error as { code?: string }).code, 'ERR_WARMPOOL_INVALID_OPTION');
  t.regex(error.message, /-1/);
  await pool.cleanup();
  const out = [...taken, extra].filter((container): container is FakeContainer => container !== null);
  assertNothingLost(t, factory, out);
});

test('expectCheckouts keeps the ready containers it finds: a smaller count removes nothing', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 4 });
  await settle();
  pool.expectCheckouts(1);
  await settle();
  t.is(pool.size, 4);
  t.is(factory.ledger.destroyed.size, 0);
  await pool.cleanup();
  assertNothingLost(t, factory);
});
