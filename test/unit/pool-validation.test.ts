import test from 'ava';
import { InvalidOptionError, Pool, type PoolOptions } from '../../lib/index.js';
import { instantFactory } from '../../fixtures/fake-factory.js';
import { settle } from '../../fixtures/fake-clock.js';

const rejectsOption = test.macro({
  exec(t, options: Record<string, unknown>, option: string, shown: string) {
    const factory = instantFactory();
    const error = t.throws(() => new Pool(factory, options as unknown as PoolOptions), { instanceOf: InvalidOptionError });
    t.is(error?.code, 'ERR_WARMPOOL_INVALID_OPTION');
    t.is(error?.option, option);
    t.true(error?.message.includes(`\`${option}\``), `the message names the option: ${error?.message}`);
    t.true(error?.message.includes(shown), `the message shows the value: ${error?.message}`);
    t.is(factory.ledger.started, 0, 'nothing was started');
  },
  title: (_provided, options: Record<string, unknown>, option: string, shown: string) => `rejects ${option} = ${shown} (${JSON.stringify(Object.keys(options))})`,
});

test(rejectsOption, { size: -1 }, 'size', '`-1` (number)');
test(rejectsOption, { size: 1.5 }, 'size', '`1.5` (number)');
test(rejectsOption, { size: Number.NaN }, 'size', '`NaN` (number)');
test(rejectsOption, { size: '3' }, 'size', '`"3"` (string)');
test(rejectsOption, {}, 'size', '`undefined` (undefined)');
test(rejectsOption, { size: 1, maxAgeMs: 0 }, 'maxAgeMs', '`0` (number)');
test(rejectsOption, { size: 1, pauseIdle: 'yes' }, 'pauseIdle', '`"yes"` (string)');
test(rejectsOption, { size: 1, budget: { maxCreations: 1 } }, 'budget', '(object)');
test(rejectsOption, { size: 1, maxWorkers: 0 }, 'maxWorkers', '`0` (number)');
test(rejectsOption, { size: 1, maxWorkers: Infinity }, 'maxWorkers', '`Infinity` (number)');
test(rejectsOption, { size: 1, creationTimeoutMs: -5 }, 'creationTimeoutMs', '`-5` (number)');
test(rejectsOption, { size: 1, creationTimeoutMs: 0 }, 'creationTimeoutMs', '`0` (number)');
test(rejectsOption, { size: 1, creationTimeoutMs: Number.NaN }, 'creationTimeoutMs', '`NaN` (number)');
test(rejectsOption, { size: 1, maxErrorsPerHour: 0 }, 'maxErrorsPerHour', '`0` (number)');
test(rejectsOption, { size: 1, errorQueueCapacity: 0.5 }, 'errorQueueCapacity', '`0.5` (number)');
test(rejectsOption, { size: 1, clock: { now: () => 0 } }, 'clock', '(object)');
test(rejectsOption, { size: 1, logger: 'loud' }, 'logger', '`"loud"` (string)');
test(rejectsOption, { size: 1, maxWorker: 3 }, 'maxWorker', 'typo');
test(rejectsOption, { size: 1, engineProbeMaxMs: 0 }, 'engineProbeMaxMs', '`0` (number)');
test(rejectsOption, { size: 1, engineProbeMaxMs: Infinity }, 'engineProbeMaxMs', '`Infinity` (number)');
test(rejectsOption, { size: 1, creationBackoffBaseMs: -1 }, 'creationBackoffBaseMs', '`-1` (number)');
test(rejectsOption, { size: 1, creationBackoffBaseMs: '250' }, 'creationBackoffBaseMs', '`"250"` (string)');
test(rejectsOption, { size: 1, creationBackoffBaseMs: 500, creationBackoffMaxMs: 400 }, 'creationBackoffMaxMs', 'at least creationBackoffBaseMs (500)');
test(rejectsOption, { size: 1, creationBackoffMaxMs: Number.NaN }, 'creationBackoffMaxMs', '`NaN` (number)');
test(rejectsOption, { size: 1, removalRetryMaxMs: 0 }, 'removalRetryMaxMs', '`0` (number)');
test(rejectsOption, { size: 1, random: 0.5 }, 'random', '`0.5` (number)');

test('a factory without createContainer is refused, naming the value', (t) => {
  for (const factory of [undefined, null, 42, () => undefined, { createContainer: 'no' }]) {
    const error = t.throws(() => new Pool(factory as never, { size: 1 }), { instanceOf: InvalidOptionError });
    t.is(error?.option, 'factory');
    t.regex(error?.message ?? '', /`factory`.*createContainer/);
  }
});

test('a creationBackoffBaseMs above the default cap raises the cap with it', async (t) => {
  const pool = new Pool(instantFactory(), { size: 1, creationBackoffBaseMs: 60_000 });
  t.false(pool.isClosed);
  await pool.cleanup();
});

test('options must be an object', (t) => {
  const error = t.throws(() => new Pool(instantFactory(), null as never), { instanceOf: InvalidOptionError });
  t.is(error?.option, 'options');
});

test('bad get() arguments reject with a clear error and the pool keeps working', async (t) => {
  const factory = instantFactory();
  const pool = new Pool(factory, { size: 1 });
  await settle();
  for (const [options, option] of [
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs'],
    [{ timeoutMs: '10' }, 'timeoutMs'],
    [{ signal: 'stop' }, 'signal'],
    ['now', 'options'],
  ] as const) {
    const error = await t.throwsAsync(pool.get(options as never), { instanceOf: InvalidOptionError });
    t.is(error?.option, option);
  }
  t.is(pool.size, 1, 'nothing was taken or lost');
  t.truthy(await pool.get());
  await pool.cleanup();
});

test('bad cleanup() timeout is refused and the pool stays open', async (t) => {
  const pool = new Pool(instantFactory(), { size: 1 });
  const error = await t.throwsAsync(pool.cleanup({ timeoutMs: -1 }), { instanceOf: InvalidOptionError });
  t.is(error?.option, 'timeoutMs');
  t.false(pool.isClosed);
  await pool.cleanup();
  t.true(pool.isClosed);
});
