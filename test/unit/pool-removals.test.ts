import test from 'ava';
import { ContainerDestroyError, Pool, WorkerTimeoutError, type Container } from '../../lib/index.js';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { engineFactory, manualFactory, type FakeContainer } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';
import { record, turns } from '../helpers/pool-watching.js';

function destroyErrors(pool: Pool<FakeContainer>): ContainerDestroyError[] {
  return pool.errors
    .peek()
    .map((entry) => entry.error)
    .filter((error): error is ContainerDestroyError => error instanceof ContainerDestroyError);
}

test('a failed removal is retried with backoff until it succeeds, with one error for the container', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 2, clock, random: () => 1, removalRetryMaxMs: 1_000 });
  const destroys = record(pool, 'destroy');
  await turns();
  factory.failDestroys('fake-0', 4);
  factory.kill('fake-0');
  await turns();
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 1);
  t.is(pool.pendingRemovals, 1);
  t.is(pool.size, 2, 'the slot was refilled all the same');
  // Retries after 250, 500, 1000, then 1000 ms (capped): the fifth attempt succeeds.
  for (const [delay, attempts] of [
    [250, 2],
    [500, 3],
    [1_000, 4],
    [1_000, 5],
  ] as const) {
    await clock.tick(delay - 1);
    t.is(factory.ledger.destroyAttempts.get('fake-0'), attempts - 1);
    await clock.tick(1);
    t.is(factory.ledger.destroyAttempts.get('fake-0'), attempts);
  }
  t.true(factory.ledger.destroyed.has('fake-0'));
  t.is(pool.pendingRemovals, 0);
  t.is(destroyErrors(pool).length, 1, 'one error for the container, not one per attempt');
  t.regex(destroyErrors(pool)[0]?.message ?? '', /fake-0.*device or resource busy/);
  t.deepEqual(
    destroys.map(({ name, ok, attempts, reason }) => ({ name, ok, attempts, reason })),
    [
      { name: 'fake-0', ok: false, attempts: 1, reason: 'died' },
      { name: 'fake-0', ok: true, attempts: 5, reason: 'died' },
    ],
  );
  t.is(clock.pendingTimers, 0);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('the end of an engine outage retries pending removals at once', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 2, clock, random: () => 1, engineProbeMaxMs: 1_000 });
  await turns();
  factory.engine = 'down';
  factory.kill('fake-0');
  await turns();
  t.is(pool.engineState, 'unavailable', 'the refill found the engine down');
  t.is(pool.pendingRemovals, 1);
  // Removal retries at 250, 750, 1750, 3750, then 7750; probes at 250, 750, 1750, 2750, 3750, 4750.
  await clock.runFor(3_800);
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 5);
  factory.engine = 'up';
  await clock.runFor(950);
  await turns();
  t.is(pool.engineState, 'available');
  t.true(factory.ledger.destroyed.has('fake-0'), 'removed with the recovery, not 3 s later at its next retry');
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 6);
  t.is(pool.pendingRemovals, 0);
  t.is(pool.size, 2);
  await pool.cleanup();
  assertNothingLost(t, factory);
});

test('cleanup waits for failing removals up to its timeout and reports the containers it could not remove', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 3, clock, random: () => 1 });
  await turns();
  factory.failDestroys('fake-1', 3);
  factory.failDestroys('fake-2', 1_000);
  let result: { notRemoved: string[] } | undefined;
  void pool.cleanup({ timeoutMs: 5_000 }).then((value) => (result = value));
  await turns();
  t.is(pool.pendingRemovals, 2);
  t.is(result, undefined, 'cleanup waits for the retries');
  await clock.runFor(4_999);
  t.is(result, undefined);
  t.true(factory.ledger.destroyed.has('fake-1'), 'fake-1 succeeded on its fourth attempt, within the timeout');
  await clock.tick(1);
  await turns();
  t.deepEqual(result?.notRemoved, ['fake-2']);
  t.is(destroyErrors(pool).length, 2, 'one error per container');
  t.is(clock.pendingTimers, 0, 'retries stop when cleanup gives up: nothing keeps the process alive');
  const attempts = factory.ledger.destroyAttempts.get('fake-2');
  await clock.tick(60_000);
  t.is(factory.ledger.destroyAttempts.get('fake-2'), attempts);

  factory.failDestroys('fake-2', 0);
  t.deepEqual(await pool.cleanup(), { notRemoved: [] }, 'another cleanup tries again');
  assertNothingLost(t, factory);
});

test('cleanup with timeoutMs 0 makes one attempt per container', async (t) => {
  const clock = new FakeClock();
  const factory = engineFactory({ clock });
  const pool = new Pool(factory, { size: 2, clock });
  await turns();
  factory.failDestroys('fake-0', 1);
  t.deepEqual(await pool.cleanup(), { notRemoved: ['fake-0'] });
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 1);
  t.is(clock.pendingTimers, 0);
  t.deepEqual(await pool.cleanup(), { notRemoved: [] });
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 2);
  assertNothingLost(t, factory);
});

test('removals run at most maxWorkers at a time', async (t) => {
  const gates: (() => void)[] = [];
  let running = 0;
  let mostAtOnce = 0;
  let made = 0;
  const factory = {
    createContainer: (): Promise<Container> => {
      const id = `gated-${made++}`;
      return Promise.resolve({
        id,
        name: id,
        destroy: () => {
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          return new Promise<void>((resolve) =>
            gates.push(() => {
              running--;
              resolve();
            }),
          );
        },
      });
    },
  };
  const pool = new Pool(factory, { size: 6, maxWorkers: 2 });
  await turns();
  let done = false;
  const cleaning = pool.cleanup().then(() => (done = true));
  await turns();
  t.is(running, 2);
  t.is(pool.pendingRemovals, 6);
  while (gates.length > 0) {
    gates.shift()?.();
    await turns();
  }
  await cleaning;
  t.true(done);
  t.is(mostAtOnce, 2);
  t.is(made, 6);
});

test('a late container that cannot be removed is retried while cleanup waits, and reported', async (t) => {
  const clock = new FakeClock();
  const factory = manualFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, clock, random: () => 1 });
  factory.failDestroys('*', 2);
  const cleaning = pool.cleanup({ timeoutMs: 10_000 });
  await turns();
  factory.pending[0]?.resolve();
  await turns();
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 1);
  await clock.runFor(750);
  t.deepEqual(await cleaning, { notRemoved: [] });
  t.is(factory.ledger.destroyAttempts.get('fake-0'), 3);
  assertNothingLost(t, factory);
});

test('creations still running when the cleanup timeout ends still throw WorkerTimeoutError', async (t) => {
  const clock = new FakeClock();
  const factory = manualFactory({ ignoreAbort: true });
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, clock });
  const cleaning = pool.cleanup({ timeoutMs: 100 });
  await turns();
  await clock.tick(100);
  await t.throwsAsync(cleaning, { instanceOf: WorkerTimeoutError });
  t.is(clock.pendingTimers, 0);
  factory.pending[0]?.resolve();
  await turns();
  t.true(factory.ledger.destroyed.has('fake-0'), 'what it delivers later is still removed');
  assertNothingLost(t, factory);
});
