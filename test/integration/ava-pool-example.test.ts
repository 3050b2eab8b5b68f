/**
 * How to give an ava test file warm containers: `usePool(test, options)` at the top of the file starts a pool in
 * `test.before` and cleans it up in `test.after.always` (destroying any container a test forgot). Tests then
 * check a fresh container out in milliseconds instead of creating one. This file runs on the real Docker engine
 * set up by `fixtures/engines/ensure-docker.sh`.
 */
import test from 'ava';
import { randomSuffix } from '../../lib/backends/owner.js';
import { usePool } from '../../harness/testing/ava-pool.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';

const poolId = `it-ava-${randomSuffix()}`;

test.before('the Docker engine answers', async () => {
  await assertEngine('docker');
});

// Two containers kept warm; each test takes one, uses it, destroys it, and the pool makes another.
const pool = usePool(test, { backend: 'docker', size: 2, poolId });

test('a test gets a ready container and runs commands in it', async (t) => {
  const c = await pool.get({ timeoutMs: 30_000 });
  if (c === null) return t.fail('no container within 30 s');
  try {
    const result = await c.exec(['/bin/sh', '-c', 'echo "hello from $(hostname)"']);
    t.is(result.exitCode, 0);
    t.regex(result.stdout, /^hello from \w+\n$/);
  } finally {
    await c.destroy();
  }
});

test('files go in and come out', async (t) => {
  // take() is get() that throws, saying why, instead of returning null.
  const c = await pool.take({ timeoutMs: 30_000 });
  try {
    await c.writeFile('/tmp/config.ini', 'mode=test\n');
    const result = await c.exec(['/bin/sh', '-c', 'sed s/test/checked/ /tmp/config.ini > /tmp/out.ini']);
    t.is(result.exitCode, 0, result.stderr);
    t.is((await c.readFile('/tmp/out.ini')).toString(), 'mode=checked\n');
  } finally {
    await c.destroy();
  }
});

test('every container is fresh: nothing one test leaves is seen by the next', async (t) => {
  const first = await pool.take({ timeoutMs: 30_000 });
  await first.writeFile('/tmp/left-behind', 'x');
  await first.destroy();
  const second = await pool.take({ timeoutMs: 30_000 });
  // Not destroyed here on purpose: usePool's after.always destroys what a test forgot.
  t.not(second.name, first.name);
  t.is((await second.exec(['test', '-e', '/tmp/left-behind'])).exitCode, 1);
});

test.serial.after.always('no container of the pool is left on the engine', async (t) => {
  t.deepEqual(await containersOfPool('docker', poolId), []);
});
