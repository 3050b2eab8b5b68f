import test from 'ava';
import { register } from 'prom-client';
import { flakyFactory, instantFactory, manualFactory } from '../../fixtures/fake-factory.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { createServiceMetrics, startMetricsServer, type ServiceMetrics } from '../../harness/service/metrics.js';
import { PoolService } from '../../harness/service/pool-service.js';
import { HostPools } from '../../lib/host-pools.js';
import { createLogger } from '../../lib/logger.js';

test.after.always(disposeInProcessServices);

/** The value of one sample line, e.g. `warmpool_ready_containers{pool="unit",backend="docker"} 2`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

test('serves the pool and service figures on 127.0.0.1, fed by events', async (t) => {
  // Creation 1, 3, 5… fail: the pool keeps retrying until full.
  let metrics: ServiceMetrics | undefined;
  const running = await startInProcessService(flakyFactory(), { size: 2, maxWorkers: 1 }, {}, (pool, service) => {
    metrics = createServiceMetrics(service, { pool: 'unit', backend: 'docker' });
  });
  if (!metrics) throw new Error('no metrics');
  const server = await startMetricsServer(metrics.registry, 0);
  t.teardown(() => server.close());
  t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  await eventually(() => running.pool.size === 2);

  const client = await RawClient.connect(running.socketPath);
  client.send({ id: 1, type: 'get' });
  t.like(await client.response(1), { ok: true });
  client.destroy();
  await eventually(() => running.service.status().held === 0);
  await eventually(() => running.pool.size === 2);

  const response = await fetch(server.url);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /text\/plain/);
  const text = await response.text();
  const labels = { pool: 'unit', backend: 'docker' };
  t.is(sample(text, 'warmpool_ready_containers', labels), 2);
  t.is(sample(text, 'warmpool_ready_containers', { ...labels, kind: 'default' }), 2, 'a one-pool service is the one kind `default`');
  t.is(sample(text, 'warmpool_checkouts_total', { kind: 'default', outcome: 'ready' }), 1);
  t.is(sample(text, 'warmpool_capacity', labels), 2);
  t.is(sample(text, 'warmpool_creation_workers', labels), 0);
  t.is(sample(text, 'warmpool_waiting_checkouts', labels), 0);
  t.is(sample(text, 'warmpool_throttled', labels), 0);
  t.is(sample(text, 'warmpool_held_containers', labels), 0);
  t.is(sample(text, 'warmpool_creations_total', { result: 'created' }), 3);
  t.is(sample(text, 'warmpool_creations_total', { result: 'failed' }), 2);
  t.is(sample(text, 'warmpool_errors_total'), 2);
  t.is(sample(text, 'warmpool_destroyed_total', { reason: 'disconnected', result: 'ok' }), 1);
  t.is(sample(text, 'warmpool_checkouts_total', { outcome: 'ready' }), 1);
  t.is(sample(text, 'warmpool_creation_duration_seconds_count', { result: 'created' }), 3);
  t.is(sample(text, 'warmpool_checkout_wait_seconds_count', { outcome: 'ready' }), 1);
  t.true(text.includes('warmpool_process_'), 'process metrics are there too');

  t.is((await fetch(server.url.replace('/metrics', '/other'))).status, 404);
  t.is(register.getSingleMetric('warmpool_ready_containers'), undefined, 'the global registry is untouched');

  metrics.dispose();
  await running.dispose();
});

test('two services in one process keep separate registries', async (t) => {
  const first = await startInProcessService(instantFactory(), { size: 1 });
  const second = await startInProcessService(instantFactory(), { size: 3 });
  const a = createServiceMetrics(first.service, { pool: 'a', backend: 'docker' });
  const b = createServiceMetrics(second.service, { pool: 'b', backend: 'docker' });
  t.is(sample(await a.registry.metrics(), 'warmpool_capacity'), 1);
  t.is(sample(await b.registry.metrics(), 'warmpool_capacity'), 3);
  a.dispose();
  b.dispose();
  await first.dispose();
  await second.dispose();
});

test('refusals by code, the connection limit and pending removals are in the metrics', async (t) => {
  let metrics: ServiceMetrics | undefined;
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 }, { limits: { maxConnections: 1, maxWaitingGets: 1 } }, (pool, service) => {
    metrics = createServiceMetrics(service, { pool: 'unit', backend: 'docker' });
  });
  if (!metrics) throw new Error('no metrics');
  await eventually(() => factory.pending.length === 1);
  factory.pending[0]?.resolve();
  await eventually(() => running.pool.size === 1);
  const held = await RawClient.connect(running.socketPath);
  // The first takes the ready container, the second waits, the third is one waiting get too many.
  held.send({ id: 1, type: 'get', timeoutMs: null });
  await held.response(1);
  held.send({ id: 2, type: 'get', timeoutMs: null });
  await eventually(() => running.service.status().waiting === 1);
  held.send({ id: 3, type: 'get', timeoutMs: null });
  await held.response(3);
  const refused = await RawClient.connect(running.socketPath);
  await refused.response(null);
  const text = await metrics.registry.metrics();
  t.is(sample(text, 'warmpool_refusals_total', { code: 'ERR_WARMPOOL_TOO_MANY_CONNECTIONS' }), 1);
  t.is(sample(text, 'warmpool_refusals_total', { code: 'ERR_WARMPOOL_TOO_MANY_WAITING' }), 1);
  t.is(sample(text, 'warmpool_max_connections'), 1);
  t.is(sample(text, 'warmpool_pending_removals'), 0);
  t.is(sample(text, 'warmpool_waiting_checkouts'), 1);
  held.destroy();
  metrics.dispose();
  await running.dispose();
});

test('a service of kinds labels every pool figure with its kind', async (t) => {
  const logger = createLogger({ level: 'silent' });
  const alpha = instantFactory();
  const kinds = new HostPools({ alpha: { factory: alpha, min: 2, max: 4 }, beta: { factory: instantFactory(), min: 1, max: 3 } }, { logger });
  const service = new PoolService({ kinds, backend: 'docker', poolId: 'unit', socketPath: '/nonexistent/unused.sock', logger, describe: (c) => ({ backend: 'docker', id: c.id, name: c.name }) });
  const metrics = createServiceMetrics(service, { pool: 'unit', backend: 'docker' });
  await eventually(() => service.status().ready === 3);
  await kinds.get('beta');
  const text = await metrics.registry.metrics();
  t.is(sample(text, 'warmpool_ready_containers', { kind: 'alpha' }), 2);
  t.is(sample(text, 'warmpool_kind_max', { kind: 'beta' }), 3);
  t.is(sample(text, 'warmpool_creations_total', { kind: 'alpha', result: 'created' }), 2);
  t.is(sample(text, 'warmpool_checkouts_total', { kind: 'beta', outcome: 'ready' }), 1);
  t.is(sample(text, 'warmpool_checkouts_total', { kind: 'alpha', outcome: 'ready' }), undefined);
  metrics.dispose();
  await kinds.cleanup();
});
