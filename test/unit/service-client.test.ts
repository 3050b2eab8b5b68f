import test from 'ava';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { instantFactory, manualFactory, failingFactory } from '../../fixtures/fake-factory.js';
import { eventually } from '../../fixtures/service/raw-client.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { PoolClient, ServiceContainer } from '../../harness/client/pool-client.js';
import { ServiceRequestError, ServiceUnavailableError } from '../../harness/service/service-errors.js';
import { assertNothingLost } from '../helpers/ledger.js';

test.after.always(disposeInProcessServices);

// Descriptors say "docker", so handles are Docker handles; none of these tests makes them call an engine.
const dockerSocket = '/nonexistent/docker.sock';

test('get returns a ServiceContainer whose destroy releases it through the service', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 2 });
  await eventually(() => running.pool.size === 2);
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const container = await client.get();
  t.true(container instanceof ServiceContainer);
  t.deepEqual(container?.describe(), { backend: 'docker', id: container?.id, name: container?.name });
  t.like(await client.status(), { held: 1, connections: 1, backend: 'docker', poolId: 'unit' });
  await container?.destroy();
  await container?.destroy();
  t.true(running.factory.ledger.destroyed.has(container?.id ?? ''));
  t.is(running.factory.ledger.destroyCalls.get(container?.id ?? ''), 1);
  t.like(await client.status(), { held: 0 });
  await client.close();
  await running.dispose();
  assertNothingLost(t, running.factory);
});

test('get with timeoutMs 0 answers null at once when nothing is ready; Infinity waits', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 });
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  t.is(await client.get(), null);
  t.is(await client.get({ timeoutMs: 20 }), null);
  const waiting = client.get({ timeoutMs: Infinity });
  await eventually(() => running.pool.waiting === 1);
  factory.pending[0]?.resolve();
  t.truthy(await waiting);
  await client.close();
  await eventually(() => running.service.status().held === 0);
  await running.dispose();
  assertNothingLost(t, factory);
});

test('aborting a waiting get withdraws it from the queue and leaves no listener behind', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 });
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const controller = new AbortController();
  const waiting = client.get({ timeoutMs: Infinity, signal: controller.signal });
  await eventually(() => running.pool.waiting === 1);
  controller.abort(new Error('changed my mind'));
  await t.throwsAsync(waiting, { message: 'changed my mind' });
  await eventually(() => running.pool.waiting === 0);
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
  // The connection is still usable.
  factory.pending[0]?.resolve();
  await eventually(() => running.pool.size === 1);
  t.truthy(await client.get());
  await client.close();
  await running.dispose();
});

test('a get aborted after its container was handed over releases that container', async (t) => {
  const factory = instantFactory();
  const running = await startInProcessService(factory, { size: 1 });
  await eventually(() => running.pool.size === 1);
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const controller = new AbortController();
  const getting = client.get({ timeoutMs: 1000, signal: controller.signal });
  // Aborted before the answer is read: the service may already have handed a container over.
  controller.abort(new Error('stop'));
  await t.throwsAsync(getting, { message: 'stop' });
  await eventually(() => running.service.status().held === 0);
  t.true(factory.ledger.created.length >= 1);
  await client.close();
  await running.dispose();
  assertNothingLost(t, factory);
});

test('release takes a descriptor; an unknown one is refused with ERR_WARMPOOL_NOT_HELD', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 1 });
  await eventually(() => running.pool.size === 1);
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const container = await client.get();
  if (!container) throw new Error('no container');
  await client.release(container.describe());
  t.true(running.factory.ledger.destroyed.has(container.id));
  const error = await t.throwsAsync(client.release({ backend: 'docker', id: 'nope', name: 'nope' }), { instanceOf: ServiceRequestError });
  t.is(error?.code, 'ERR_WARMPOOL_NOT_HELD');
  t.is(error?.requestType, 'release');
  await client.close();
  await running.dispose();
});

test('errors drains the queue', async (t) => {
  const running = await startInProcessService(failingFactory(), { size: 1, maxWorkers: 1, maxErrorsPerHour: 2 });
  await eventually(() => running.service.status().throttled);
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const errors = await client.errors();
  t.is(errors.length, 2);
  t.is(errors[0]?.code, 'ERR_WARMPOOL_CREATION_FAILED');
  t.deepEqual(await client.errors(), []);
  await client.close();
  await running.dispose();
});

test('connecting where nothing listens rejects with ServiceUnavailableError', async (t) => {
  const error = await t.throwsAsync(PoolClient.connect({ socketPath: join('/tmp', 'wp-nothing-here.sock') }), { instanceOf: ServiceUnavailableError });
  t.is(error?.code, 'ERR_WARMPOOL_SERVICE_UNAVAILABLE');
  t.regex(error?.message ?? '', /no service is listening/);
});

test('shutdown through the client; pending and later requests fail with ServiceUnavailableError', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 });
  const waiter = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const waiting = waiter.get({ timeoutMs: Infinity });
  await eventually(() => running.pool.waiting === 1);
  const admin = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  t.deepEqual(await admin.shutdown(), { destroyed: 0, kept: 0, notRemoved: [] });
  const refused = await t.throwsAsync(waiting, { instanceOf: ServiceRequestError });
  t.is(refused?.code, 'ERR_WARMPOOL_POOL_CLOSED');
  await eventually(() => waiter.isClosed && admin.isClosed);
  await t.throwsAsync(waiter.status(), { instanceOf: ServiceUnavailableError });
  await waiter.close();
  await admin.close();
  await running.dispose();
});

test('closing the client makes the service destroy what it held, except kept containers', async (t) => {
  const factory = instantFactory();
  const running = await startInProcessService(factory, { size: 2 });
  await eventually(() => running.pool.size === 2);
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  const plain = await client.get();
  const kept = await client.get({ keep: true });
  await client.close();
  await eventually(() => factory.ledger.destroyed.has(plain?.id ?? ''));
  t.false(factory.ledger.destroyed.has(kept?.id ?? ''));
  t.like(running.service.status(), { held: 1, kept: 1 });
  await running.dispose();
});

test('get validates its options', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 1 });
  const client = await PoolClient.connect({ socketPath: running.socketPath, dockerSocket });
  await t.throwsAsync(client.get({ timeoutMs: -1 }), { code: 'ERR_WARMPOOL_INVALID_OPTION' });
  await t.throwsAsync(client.get({ keep: 'yes' as unknown as boolean }), { code: 'ERR_WARMPOOL_INVALID_OPTION' });
  await client.close();
  await running.dispose();
});
