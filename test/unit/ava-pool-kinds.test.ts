import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeFactory } from '../../fixtures/fake-factory.js';
import { eventually } from '../../fixtures/service/raw-client.js';
import { startKindsService } from '../../fixtures/service/kinds-service.js';
import { InvalidOptionError, UnknownKindError } from '../../lib/errors.js';
import { usePool } from '../../harness/testing/ava-pool.js';

// usePool with `socket` and `kind`: a test file's containers of one kind, from a service of two kinds.

const dir = mkdtempSync(join(tmpdir(), 'wp-ava-kinds-'));
const socketPath = join(dir, 'pool.sock');
const alpha = new FakeFactory({ plan: () => ({ kind: 'instant' }), namePrefix: 'alpha' });
const beta = new FakeFactory({ plan: () => ({ kind: 'instant' }), namePrefix: 'beta' });
// Listening before the file's hooks run (ava runs before hooks concurrently, usePool's connects in one).
const { service } = await startKindsService({ alpha: { factory: alpha, min: 1 }, beta: { factory: beta, min: 1 } }, socketPath);

const betas = usePool(test, { socket: socketPath, kind: 'beta' });
const defaults = usePool(test, { socket: socketPath });

test('get() checks out the kind it was given, from the service', async (t) => {
  const container = await betas.take({ timeoutMs: 5_000 });
  t.regex(container.name, /^beta-\d+$/);
  t.true(beta.ledger.created.some((made) => made.id === container.id));
  await container.destroy();
  // Destroying a service's container releases it: the service removes it.
  await eventually(() => beta.ledger.destroyed.has(container.id));
  t.pass();
});

let forgotten: string | undefined;

test("without a kind, the service's first kind; a container the test forgets is released in after.always", async (t) => {
  const container = await defaults.take({ timeoutMs: 5_000 });
  t.regex(container.name, /^alpha-\d+$/);
  forgotten = container.id;
});

test('with a socket there is no pool in this process to show', (t) => {
  t.throws(() => betas.pool, { message: /with `socket` the containers come from the service/ });
});

test('a kind is refused as the file loads when it cannot be had: empty, or not "default" for a pool of its own', (t) => {
  t.throws(() => usePool(test, { kind: '' }), { instanceOf: InvalidOptionError });
  t.throws(() => usePool(test, { kind: 'beta' }), { instanceOf: UnknownKindError, message: /Unknown kind "beta"; the kinds are: "default"/ });
});

// Serial and registered after usePool's hooks, so it runs once they are done.
test.serial.after.always('the forgotten container was released to the service, which removed it', async (t) => {
  // Released by usePool's after.always before the service shuts down: the service removed it, not its shutdown.
  await eventually(() => forgotten !== undefined && alpha.ledger.destroyed.has(forgotten));
  t.is(service.status().kinds.find((kind) => kind.name === 'alpha')?.held, 0);
  await service.shutdown();
  await rm(dir, { recursive: true, force: true });
  t.deepEqual([...alpha.ledger.live(), ...beta.ledger.live()], [], 'nothing is left once the service shut down');
});
