import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory } from '../../fixtures/fake-runnable.js';
import type { RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError } from '../../lib/errors.js';
import { Pool } from '../../lib/pool.js';
import { runSuite } from '../../harness/scheduler/scheduler.js';
import { ServiceSource, type ServiceClient } from '../../harness/scheduler/service-source.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

/** A stand-in for PoolClient: a pool in this process behind the client's interface. */
class FakeServiceClient implements ServiceClient {
  readonly pool: Pool<RunnableContainer>;
  statusCalls = 0;
  closed = false;

  constructor(factory: FakeRunnableFactory, size: number) {
    this.pool = new Pool<RunnableContainer>(factory, { size });
  }

  get(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<RunnableContainer | null> {
    return this.pool.get(options);
  }

  status(): Promise<{ ready: number; capacity: number }> {
    this.statusCalls++;
    return Promise.resolve({ ready: this.pool.size, capacity: this.pool.capacity });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.cleanup();
  }
}

test('jobs run on containers checked out of the service and released by destroying them', async (t) => {
  const factory = new FakeRunnableFactory();
  const client = new FakeServiceClient(factory, 2);
  const source = await ServiceSource.open(client);
  t.is(source.capacity, 2);
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-svc-unit-'));
  const suite = validateSuite({ name: 's', jobs: [{ name: 'a', command: ['out:a'] }, { name: 'b', command: ['exit:2'] }] });
  const result = await runSuite(suite, { source, concurrency: 2, outDir });
  await source.close();
  await source.close();
  t.deepEqual(result.jobs.map((job) => job.status), ['passed', 'failed']);
  t.true(client.closed);
  t.deepEqual(factory.ledger.live(), []);
});

test('no container from the service within the timeout is CheckoutTimeoutError', async (t) => {
  const client = new FakeServiceClient(new FakeRunnableFactory({ createDelayMs: 10_000 }), 1);
  const source = await ServiceSource.open(client);
  try {
    t.is(source.ready(), 0);
    await t.throwsAsync(source.checkout({ timeoutMs: 20 }), { instanceOf: CheckoutTimeoutError, message: /had no container ready within 20 ms/ });
  } finally {
    await source.close();
  }
});

test('the ready count follows the service', async (t) => {
  const client = new FakeServiceClient(new FakeRunnableFactory(), 3);
  const source = await ServiceSource.open(client);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    t.true(client.statusCalls >= 2, 'asked again in the background');
    t.is(source.ready(), 3);
  } finally {
    await source.close();
  }
});
