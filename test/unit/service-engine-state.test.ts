import test from 'ava';
import { engineFactory } from '../../fixtures/fake-factory.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import { formatStatus } from '../../harness/cli/commands/status.js';
import { createServiceMetrics, type ServiceMetrics } from '../../harness/service/metrics.js';
import type { ServiceErrorEntry } from '../../harness/service/protocol.js';

test.after.always(disposeInProcessServices);

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

async function drainErrors(socketPath: string): Promise<ServiceErrorEntry[]> {
  const client = await RawClient.connect(socketPath);
  client.send({ id: 1, type: 'errors' });
  const response = (await client.response(1)) as { errors?: ServiceErrorEntry[] };
  client.destroy();
  return response.errors ?? [];
}

test('status, metrics and errors show deaths, the engine state and removals still pending', async (t) => {
  const factory = engineFactory();
  let metrics: ServiceMetrics | undefined;
  // Quick probes and retries on the system clock, so an outage ends within a second of the engine's return.
  const poolOptions = { size: 2, maxWorkers: 2, engineProbeMaxMs: 100, removalRetryMaxMs: 100 };
  const running = await startInProcessService(factory, poolOptions, {}, (pool, service) => {
    metrics = createServiceMetrics(service, { pool: 'unit', backend: 'docker' });
  });
  if (!metrics) throw new Error('no metrics');
  const { service, pool, socketPath } = running;
  await eventually(() => pool.size === 2);
  t.like(service.status(), { engine: 'available', deaths: 0, pendingRemovals: 0, setAside: 0 });

  // A ready container dies behind the pool's back, and the engine will not let it be removed for now.
  factory.failDestroys('fake-0', Infinity);
  factory.kill('fake-0', { exitCode: 137, oomKilled: true });
  await eventually(() => service.status().deaths === 1);
  await eventually(() => service.status().pendingRemovals === 1 && (factory.ledger.destroyAttempts.get('fake-0') ?? 0) >= 3, 5000, 'retries');
  t.regex(formatStatus(service.status()), /^removing\s+1 \(a failed removal is retried until it succeeds\)$/m);
  t.is(sample(await metrics.registry.metrics(), 'warmpool_pending_removals'), 1);
  factory.failDestroys('fake-0', 0);
  await eventually(() => service.status().pendingRemovals === 0 && factory.ledger.destroyed.has('fake-0'), 5000, 'the dead one to be removed at last');
  await eventually(() => pool.size === 2, 5000, 'its replacement');
  let text = await metrics.registry.metrics();
  t.is(sample(text, 'warmpool_container_deaths_total', { reason: 'died', oom: 'yes' }), 1);
  t.regex(formatStatus(service.status()), /^deaths\s+1 ready container\(s\) found dead and replaced$/m);
  const errors = await drainErrors(socketPath);
  t.true(errors.some((entry) => entry.code === 'ERR_WARMPOOL_CONTAINER_DIED' && /fake-0/.test(entry.message)), JSON.stringify(errors));

  // The engine goes away: the refill after a checkout finds it down.
  const client = await RawClient.connect(socketPath);
  factory.engine = 'down';
  client.send({ id: 1, type: 'get' });
  t.like(await client.response(1), { ok: true });
  await eventually(() => service.status().engine === 'unavailable', 5000, 'the outage');
  text = await metrics.registry.metrics();
  t.is(sample(text, 'warmpool_engine_available'), 0);
  t.is(sample(text, 'warmpool_engine_outages_total'), 1);
  t.regex(formatStatus(service.status()), /^engine\s+unavailable: creation paused, probing/m);

  factory.engine = 'up';
  await eventually(() => service.status().engine === 'available', 10_000, 'the engine to be found again');
  await eventually(() => pool.size === 2, 5000, 'a full pool again');
  t.is(sample(await metrics.registry.metrics(), 'warmpool_engine_available'), 1);
  const codes = (await drainErrors(socketPath)).map((entry) => entry.code);
  t.deepEqual(
    codes.filter((code) => code.startsWith('ERR_WARMPOOL_ENGINE')),
    ['ERR_WARMPOOL_ENGINE_UNAVAILABLE', 'ERR_WARMPOOL_ENGINE_RECOVERED'],
    'one entry for the outage, one for the recovery',
  );
  client.destroy();
  metrics.dispose();
  await running.dispose();
});
