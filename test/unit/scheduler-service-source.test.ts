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

/** A service of two kinds behind the client's interface: each `get` is recorded with the kind it asked for. */
class TwoKindServiceClient implements ServiceClient {
  readonly pools = new Map<string, Pool<RunnableContainer>>();
  readonly asked: (string | undefined)[] = [];

  constructor(readonly factories: Record<'alpha' | 'beta', FakeRunnableFactory>) {
    for (const [kind, factory] of Object.entries(factories)) this.pools.set(kind, new Pool<RunnableContainer>(factory, { size: 1 }));
  }

  get(options: { timeoutMs?: number; signal?: AbortSignal; kind?: string } = {}): Promise<RunnableContainer | null> {
    this.asked.push(options.kind);
    const pool = this.pools.get(options.kind ?? 'alpha');
    if (pool === undefined) return Promise.reject(new Error(`unknown kind ${options.kind ?? ''}`));
    return pool.get(options);
  }

  status(): Promise<{ ready: number; capacity: number; kinds: { name: string }[] }> {
    return Promise.resolve({ ready: 2, capacity: 2, kinds: [{ name: 'alpha' }, { name: 'beta' }] });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.cleanup()));
  }
}

test("jobs ask the service for their kind; one naming none asks for the service's first kind", async (t) => {
  const factories = { alpha: new FakeRunnableFactory({ namePrefix: 'alpha' }), beta: new FakeRunnableFactory({ namePrefix: 'beta' }) };
  const client = new TwoKindServiceClient(factories);
  const source = await ServiceSource.open(client);
  t.deepEqual(source.kinds, ['alpha', 'beta']);
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-svc-unit-'));
  const suite = validateSuite({
    name: 's',
    jobs: [
      { name: 'b', kind: 'beta', command: ['out:b'] },
      { name: 'plain', command: ['out:p'] },
    ],
  });
  const result = await runSuite(suite, { source, concurrency: 1, outDir });
  await source.close();
  t.deepEqual(client.asked, ['beta', 'alpha']);
  t.deepEqual(result.jobs.map((job) => [job.name, job.kind, job.status]), [['b', 'beta', 'passed'], ['plain', 'alpha', 'passed']]);
  t.regex(result.jobs[0]?.history[0]?.container ?? '', /^beta-/);
});

test('a job of a kind the service does not have is refused before any job runs', async (t) => {
  const factories = { alpha: new FakeRunnableFactory(), beta: new FakeRunnableFactory() };
  const client = new TwoKindServiceClient(factories);
  const source = await ServiceSource.open(client);
  try {
    const outDir = await mkdtemp(join(tmpdir(), 'warmpool-svc-unit-'));
    const suite = validateSuite({ name: 's', jobs: [{ name: 'ok', command: ['out:x'] }, { name: 'bad', kind: 'py999', command: ['out:x'] }] });
    await t.throwsAsync(runSuite(suite, { source, concurrency: 1, outDir }), { message: /job "bad" asks for kind "py999".*the kinds are: "alpha", "beta"/ });
    t.deepEqual(client.asked, []);
  } finally {
    await source.close();
  }
});

test('a service that reports no kinds: jobs run with the kind they name, unchecked, and the service decides', async (t) => {
  const client = new FakeServiceClient(new FakeRunnableFactory(), 1);
  const source = await ServiceSource.open(client);
  try {
    t.is(source.kinds, undefined);
    const outDir = await mkdtemp(join(tmpdir(), 'warmpool-svc-unit-'));
    const result = await runSuite(validateSuite({ name: 's', jobs: [{ name: 'named', kind: 'any', command: ['out:x'] }, { name: 'plain', command: ['out:x'] }] }), {
      source,
      concurrency: 1,
      outDir,
    });
    t.deepEqual(result.jobs.map((job) => [job.kind, job.status]), [['any', 'passed'], [undefined, 'passed']]);
  } finally {
    await source.close();
  }
});
