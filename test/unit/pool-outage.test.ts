import test from 'ava';
import {
  BackendError,
  ContainerDiedError,
  EngineRecoveredNotice,
  EngineUnavailableError,
  Pool,
  type PoolLogger,
} from '../../lib/index.js';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { engineFactory, FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';
import { record, turns } from '../helpers/pool-watching.js';

/** A logger that counts warnings, so a test can show one line per outage rather than one per failure. */
function countingLogger(): PoolLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (message: unknown) => warnings.push(String(message)) };
}

/** With `random: () => 1` every delay is its ceiling: probes at 250, 500, 1000, 2000, 4000, then 5000 ms. */
const probeGaps = [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000];

/** A full pool of `size`, one container taken, and the engine down: the refill's creation starts the outage. */
async function outage(options: { size?: number; maxErrorsPerHour?: number; listRunning?: boolean } = {}) {
  const clock = new FakeClock();
  const factory = options.listRunning === false ? new FakeFactory({ clock, plan: () => ({ kind: 'instant' }) }) : engineFactory({ clock, watch: false });
  const logger = countingLogger();
  const pool = new Pool(factory, { size: options.size ?? 2, clock, random: () => 1, logger, maxErrorsPerHour: options.maxErrorsPerHour ?? 3 });
  const engine = record(pool, 'engine');
  await turns();
  const taken = await pool.get();
  factory.engine = 'down';
  await turns();
  return { clock, factory, logger, pool, engine, taken };
}

test('an unreachable engine is one outage: not throttled, one error, one warning, ready containers set aside', async (t) => {
  const { clock, factory, logger, pool, engine, taken } = await outage({ size: 3, maxErrorsPerHour: 2 });
  t.is(pool.engineState, 'unavailable');
  t.false(pool.isThrottled, 'the outage did not spend the hourly error budget');
  t.is(pool.size, 0);
  t.is(pool.setAside, 2);
  t.is(await pool.get(), null, 'set-aside containers are not handed out');
  t.is(pool.workerCount, 0, 'no creation runs during the outage');
  const started = factory.ledger.started;
  await clock.tick(60_000);
  t.is(factory.ledger.started, started, 'and none starts: the engine is probed instead');
  t.false(pool.isThrottled);
  const errors = pool.errors.peek().map((entry) => entry.error);
  t.is(errors.length, 1);
  t.true(errors[0] instanceof EngineUnavailableError);
  t.is((errors[0] as EngineUnavailableError).code, 'ERR_WARMPOOL_ENGINE_UNAVAILABLE');
  t.is(logger.warnings.length, 1);
  t.regex(logger.warnings[0] ?? '', /cannot be reached/);
  t.deepEqual(engine.map((event) => event.state), ['unavailable']);
  await pool.cleanup();
  factory.engine = 'up';
  await pool.cleanup();
  assertNothingLost(t, factory, [taken]);
});

test('probes back off with jitter up to engineProbeMaxMs, and the pool resumes by itself', async (t) => {
  const { clock, factory, pool, engine, taken } = await outage();
  const start = clock.now();
  const probeTimes: number[] = [];
  let calls = factory.ledger.listCalls;
  for (let elapsed = 0; elapsed < 17_750; elapsed += 50) {
    await clock.tick(50);
    if (factory.ledger.listCalls > calls) probeTimes.push(clock.now() - start);
    calls = factory.ledger.listCalls;
  }
  const gaps = probeTimes.map((at, i) => at - (probeTimes[i - 1] ?? 0));
  t.deepEqual(gaps, probeGaps, 'doubling from 250 ms, capped at 5 s');
  t.is(pool.engineState, 'unavailable');

  factory.engine = 'up';
  await clock.tick(5_000);
  await turns();
  t.is(pool.engineState, 'available');
  t.is(pool.size, 2, 'the set-aside container is back and the taken one was replaced');
  t.deepEqual(engine.map((event) => event.state), ['unavailable', 'available']);
  const last = engine[1];
  t.is(last?.state === 'available' ? last.outageMs : undefined, clock.now() - start);
  const errors = pool.errors.drain().map((entry) => entry.error);
  t.is(errors.length, 2);
  t.true(errors[1] instanceof EngineRecoveredNotice);
  t.is((errors[1] as EngineRecoveredNotice).outageMs, clock.now() - start);
  await pool.cleanup();
  assertNothingLost(t, factory, [taken]);
});

test('a get() waiting through an outage is served after it; one that asked for less time gets null', async (t) => {
  const { clock, factory, pool, taken } = await outage({ size: 1 });
  let short: unknown = 'pending';
  void pool.get({ timeoutMs: 200 }).then((container) => (short = container));
  const long = pool.get({ timeoutMs: Infinity });
  t.is(pool.waiting, 2);
  await clock.tick(200);
  t.is(short, null, 'the short wait ended as it asked');
  t.is(pool.waiting, 1);
  factory.engine = 'up';
  await clock.tick(50);
  await turns();
  const served = await long;
  t.is(served?.id, 'fake-1');
  t.is(pool.engineState, 'available');
  await pool.cleanup();
  assertNothingLost(t, factory, [taken, served]);
});

test('a set-aside container the engine no longer runs is dropped when the engine answers', async (t) => {
  const { clock, factory, pool, engine, taken } = await outage({ size: 3 });
  factory.kill('fake-2');
  factory.engine = 'up';
  await clock.tick(250);
  await turns();
  t.is(pool.engineState, 'available');
  const died = pool.errors.drain().filter((entry) => entry.error instanceof ContainerDiedError);
  t.is(died.length, 1);
  t.like(died[0]?.error, { containerName: 'fake-2', reason: 'not-running' });
  t.true(factory.ledger.destroyed.has('fake-2'));
  t.is(pool.size, 3);
  const ids = [];
  for (let container = await pool.get(); container; container = await pool.get()) ids.push(container);
  t.false(ids.some((container) => container.id === 'fake-2'));
  t.is(engine.length, 2);
  await pool.cleanup();
  assertNothingLost(t, factory, [taken, ...ids]);
});

test('a half-up engine (it lists, it cannot create) keeps the outage, with growing probe delays, instead of flapping', async (t) => {
  const { clock, factory, pool, engine, logger, taken } = await outage();
  factory.engine = 'half-up';
  const start = clock.now();
  const probeTimes: number[] = [];
  let calls = factory.ledger.listCalls;
  for (let elapsed = 0; elapsed < 7_750; elapsed += 50) {
    await clock.tick(50);
    if (factory.ledger.listCalls > calls) probeTimes.push(clock.now() - start);
    calls = factory.ledger.listCalls;
    t.is(pool.engineState, 'unavailable');
  }
  t.deepEqual(
    probeTimes.map((at, i) => at - (probeTimes[i - 1] ?? 0)),
    probeGaps.slice(0, 5),
    'each answered probe was followed by a refused creation and a longer wait',
  );
  t.is(factory.ledger.engineRefusals, 1 + 5, 'one creation per answered probe');
  t.false(pool.isThrottled);
  t.is(pool.errors.length, 1, 'still one error for the whole outage');
  t.is(logger.warnings.length, 1);
  t.is(engine.length, 1, 'no flapping');

  factory.engine = 'up';
  await clock.tick(5_000);
  await turns();
  t.is(pool.engineState, 'available');
  t.deepEqual(engine.map((event) => event.state), ['unavailable', 'available']);
  t.is(logger.warnings.length, 2, 'one line for the outage, one for the recovery');
  t.is(pool.size, 2);
  await pool.cleanup();
  assertNothingLost(t, factory, [taken]);
});

test('without listRunning, one creation at a time probes the engine', async (t) => {
  const { clock, factory, pool, engine, taken } = await outage({ size: 3, listRunning: false });
  const refusals = factory.ledger.engineRefusals;
  await clock.tick(249);
  t.is(factory.ledger.engineRefusals, refusals);
  await clock.tick(1);
  t.is(factory.ledger.engineRefusals, refusals + 1, 'one probe creation');
  await clock.tick(499);
  t.is(factory.ledger.engineRefusals, refusals + 1);
  await clock.tick(1);
  t.is(factory.ledger.engineRefusals, refusals + 2);
  t.is(pool.engineState, 'unavailable');
  factory.engine = 'up';
  await clock.tick(1_000);
  await turns();
  t.is(pool.engineState, 'available');
  t.is(pool.size, 3);
  t.deepEqual(engine.map((event) => event.state), ['unavailable', 'available']);
  t.false(pool.isThrottled);
  await pool.cleanup();
  assertNothingLost(t, factory, [taken]);
});

test('an EngineUnavailableError is recognised as the cause of a rejection, or by its code', async (t) => {
  for (const error of [
    new BackendError('create failed', { cause: new EngineUnavailableError('connect ECONNREFUSED') }),
    Object.assign(new Error('from another copy of warmpool'), { code: 'ERR_WARMPOOL_ENGINE_UNAVAILABLE' }),
  ]) {
    const clock = new FakeClock();
    let fail = true;
    const factory = new FakeFactory({ clock, plan: () => (fail ? { kind: 'fail', error } : { kind: 'instant' }) });
    const pool = new Pool(factory, { size: 2, clock, maxErrorsPerHour: 1, random: () => 1 });
    await turns();
    t.is(pool.engineState, 'unavailable');
    t.false(pool.isThrottled);
    const [entry] = pool.errors.drain();
    t.is((entry?.error as { code?: string }).code, 'ERR_WARMPOOL_ENGINE_UNAVAILABLE');
    fail = false;
    await clock.tick(250);
    await turns();
    t.is(pool.engineState, 'available');
    t.is(pool.size, 2);
    await pool.cleanup();
    assertNothingLost(t, factory);
  }
});

test('failures of the container or image still count toward the throttle', async (t) => {
  const clock = new FakeClock();
  const factory = new FakeFactory({ clock, plan: () => ({ kind: 'fail' }) });
  const pool = new Pool(factory, { size: 1, clock, maxErrorsPerHour: 2 });
  await turns();
  t.true(pool.isThrottled);
  t.is(pool.engineState, 'available');
  await pool.cleanup();
});

test('cleanup during an outage stops the probes and leaves no timers', async (t) => {
  const { clock, factory, pool, taken } = await outage();
  await clock.tick(1_000);
  const result = await pool.cleanup();
  t.deepEqual(result.notRemoved, ['fake-1'], 'the engine is down: the set-aside container could not be removed');
  t.is(clock.pendingTimers, 0);
  const calls = factory.ledger.listCalls;
  await clock.tick(60_000);
  t.is(factory.ledger.listCalls, calls);
  factory.engine = 'up';
  t.deepEqual((await pool.cleanup()).notRemoved, [], 'a second cleanup tries again');
  assertNothingLost(t, factory, [taken]);
});

test('a creation that started before the outage and succeeds during it ends the outage once the engine lists', async (t) => {
  const factory = new FakeFactory({ plan: () => ({ kind: 'manual' }), listRunning: true });
  const pool = new Pool(factory, { size: 3, maxWorkers: 3, random: () => 1 });
  const engine = record(pool, 'engine');
  factory.pending[0]?.resolve();
  await turns();
  factory.pending[0]?.reject(new EngineUnavailableError('connect ECONNREFUSED'));
  await turns();
  t.is(pool.engineState, 'unavailable');
  t.is(pool.setAside, 1);
  factory.pending[0]?.resolve();
  await turns();
  t.is(pool.engineState, 'available', 'no need to wait for the probe timer');
  t.is(pool.size, 2, 'the new container, and the set-aside one the engine listed');
  t.deepEqual(engine.map((event) => event.state), ['unavailable', 'available']);
  factory.pending[0]?.resolve();
  await turns();
  t.is(pool.size, 3);
  await pool.cleanup();
  assertNothingLost(t, factory);
});
