import test from 'ava';
import { register } from 'prom-client';
import { flakyFactory, instantFactory } from '../../fixtures/fake-factory.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { createServiceMetrics, startMetricsServer, type ServiceMetrics } from '../../harness/service/metrics.js';

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
    metrics = createServiceMetrics(pool, service, { pool: 'unit', backend: 'docker' });
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
  const a = createServiceMetrics(first.pool, first.service, { pool: 'a', backend: 'docker' });
  const b = createServiceMetrics(second.pool, second.service, { pool: 'b', backend: 'docker' });
  t.is(sample(await a.registry.metrics(), 'warmpool_capacity'), 1);
  t.is(sample(await b.registry.metrics(), 'warmpool_capacity'), 3);
  a.dispose();
  b.dispose();
  await first.dispose();
  await second.dispose();
});
