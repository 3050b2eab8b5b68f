import test from 'ava';
import { FakeRunnableFactory } from '../../fixtures/fake-runnable.js';
import { CheckoutTimeoutError } from '../../lib/errors.js';
import { usePool } from '../../harness/testing/ava-pool.js';

const factory = new FakeRunnableFactory();
const pool = usePool(test, { factory, size: 2 });
const starved = usePool(test, { factory: new FakeRunnableFactory({ createDelayMs: 60_000 }), size: 1 });

test('get() forwards to a pool started in test.before', async (t) => {
  t.is(pool.pool.capacity, 2);
  const container = await pool.get({ timeoutMs: 5_000 });
  t.truthy(container);
  t.is((await container?.exec(['out:hi']))?.stdout, 'hi');
  await container?.destroy();
});

test('a container the test forgets is destroyed in after.always', async (t) => {
  const container = await pool.take({ timeoutMs: 5_000 });
  t.false(container.destroyed);
});

test('take() says why no container came instead of returning null', async (t) => {
  t.is(await starved.get({ timeoutMs: 10 }), null);
  await t.throwsAsync(starved.take({ timeoutMs: 10 }), { instanceOf: CheckoutTimeoutError, message: /No container was ready within 10 ms/ });
});

// Serial and registered after usePool's hooks, so it runs once they are done.
test.serial.after.always('nothing of the pool is left', (t) => {
  t.true(pool.pool.isClosed);
  t.deepEqual(factory.ledger.live(), []);
  t.true(factory.ledger.created.length >= 2);
});
