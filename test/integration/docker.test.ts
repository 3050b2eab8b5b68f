import test from 'ava';
import Dockerode from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerFactory, poolLabel, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import type { DockerContainer, DockerFactoryOptions } from '../../lib/backends/docker/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { ImageUnavailableError, Pool, WorkerTimeoutError } from '../../lib/index.js';
import type { ContainerFactory } from '../../lib/index.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';

// The pool on a real engine. Serial: the tests count this pool's containers on the engine.
const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const poolId = `it-docker-${randomSuffix()}`;
const pools: Pool<DockerContainer>[] = [];

test.before(() => assertEngine('docker'));

test.after.always(async () => {
  await Promise.allSettled(pools.map((pool) => pool.cleanup({ timeoutMs: 30_000 })));
  await reapDockerOrphans({ docker, poolId, force: true });
});

function factoryOptions(overrides: Partial<DockerFactoryOptions> = {}): DockerFactoryOptions {
  return { docker, poolId, image: engine.dockerImage, ...overrides };
}

function track(pool: Pool<DockerContainer>): Pool<DockerContainer> {
  pools.push(pool);
  return pool;
}

async function ourContainers(filter: { running?: boolean } = {}): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({
    all: filter.running !== true,
    filters: { label: [`${poolLabel}=${poolId}`], ...(filter.running === true ? { status: ['running'] } : {}) },
  });
}

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

test.serial('a pool of 4 fills with running containers, never more than maxWorkers created at once', async (t) => {
  const factory = new DockerFactory(factoryOptions({ readinessCommand: ['/bin/true'] }));
  let inFlight = 0;
  let maxInFlight = 0;
  const counting: ContainerFactory<DockerContainer> = {
    async createContainer(options) {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await factory.createContainer(options);
      } finally {
        inFlight--;
      }
    },
  };
  const pool = track(new Pool(counting, { size: 4, maxWorkers: 2, creationTimeoutMs: 60_000 }));
  await waitFor('4 ready containers', () => pool.size === 4);
  t.is(maxInFlight, 2, 'two creations ran at once, never three');
  t.deepEqual(pool.errors.drain(), []);

  const running = await ourContainers({ running: true });
  t.is(running.length, 4);
  for (const info of running) {
    t.regex(info.Names[0] ?? '', new RegExp(`^/warmpool-${poolId}-${process.pid}-[0-9a-f]{8}$`));
    t.is(info.Labels['warmpool.pid'], String(process.pid));
    t.is(info.HostConfig.NetworkMode, 'none');
  }

  const container = await pool.get();
  t.truthy(container);
  if (container === null) return;
  t.true(running.some((info) => info.Id === container.id), 'get() hands out one of the running containers');
  const result = await container.exec(['/bin/sh', '-c', 'echo "$0 ready"', 'pool']);
  t.deepEqual(result, { exitCode: 0, stdout: 'pool ready\n', stderr: '', timedOut: false });
  await container.destroy();

  await pool.cleanup({ timeoutMs: 30_000 });
  t.deepEqual(await ourContainers(), [], 'cleanup removed every container of the pool');
});

test.serial('a readiness command that never succeeds times creations out and leaves nothing behind', async (t) => {
  const factory = new DockerFactory(factoryOptions({ readinessCommand: ['/bin/false'], readinessIntervalMs: 50 }));

  // Straight from the factory: the creation's own signal fires, the container is gone when it rejects.
  const reason = new Error('deadline');
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 1_000);
  const started = Date.now();
  await t.throwsAsync(factory.createContainer({ signal: controller.signal }), { is: reason });
  t.true(Date.now() - started < 20_000, 'the abort ends the readiness loop, not its 30 s deadline');
  t.deepEqual(await ourContainers(), []);

  // With a readiness deadline of its own, the factory gives up by itself.
  const limited = new DockerFactory(factoryOptions({ readinessCommand: ['/bin/false'], readinessTimeoutMs: 500 }));
  const notReady = await t.throwsAsync(limited.createContainer({ signal: new AbortController().signal }));
  t.is((notReady as { code?: string } | undefined)?.code, 'ERR_WARMPOOL_READINESS_FAILED');
  t.regex(notReady?.message ?? '', /did not succeed after \d+ ms \(last exit code 1\)/);
  t.deepEqual(await ourContainers(), []);

  // Through a pool: the timeout lands in the error queue as a WorkerTimeoutError.
  const pool = track(new Pool(factory, { size: 1, maxWorkers: 1, creationTimeoutMs: 1_000 }));
  await waitFor('a creation timeout', () => pool.errors.length >= 1);
  const [first] = pool.errors.drain();
  t.true(first?.error instanceof WorkerTimeoutError, first?.error.message);
  t.is(pool.size, 0);
  await pool.cleanup({ timeoutMs: 30_000 });
  t.deepEqual(await ourContainers(), [], 'no container outlives a timed-out creation');
});

test.serial('an image that cannot be had queues ImageUnavailableError, pulls once, and the pool carries on', async (t) => {
  // A registry on loopback that refuses connections: the pull fails fast and no packet leaves the machine.
  const image = '127.0.0.1:9/warmpool-missing:latest';
  const counted = new Dockerode({ socketPath: engine.dockerSocket });
  let pulls = 0;
  const pull = counted.pull.bind(counted);
  counted.pull = ((...args: Parameters<typeof pull>) => {
    pulls++;
    return pull(...args);
  }) as typeof counted.pull;

  const factory = new DockerFactory(factoryOptions({ docker: counted, image }));
  const pool = track(new Pool(factory, { size: 3, maxWorkers: 3, maxErrorsPerHour: 6 }));
  await waitFor('6 failed creations', () => pool.errors.length >= 6);
  const errors = pool.errors.drain();
  for (const { error } of errors) {
    t.true(error instanceof ImageUnavailableError, error.message);
    t.is((error as ImageUnavailableError).image, image);
    t.true(error.message.includes(image));
  }
  t.is(pulls, 1, 'concurrent creations shared one pull, and later ones reused its failure');
  t.false(pool.isClosed);
  t.is(await pool.get(), null);
  t.is(await pool.get({ timeoutMs: 100 }), null);
  await pool.cleanup();
  t.deepEqual(await ourContainers(), []);
});

test.serial('a creation aborted at any point leaves no container', async (t) => {
  const factory = new DockerFactory(factoryOptions({ readinessCommand: ['/bin/true'] }));
  // Warm the image check so the aborts land in create, start and readiness rather than all in the image check.
  const warm = await factory.createContainer({ signal: new AbortController().signal });
  await warm.destroy();
  for (const delayMs of [0, 5, 30, 80, 150, 250, 400]) {
    const controller = new AbortController();
    const reason = new Error(`abort after ${delayMs} ms`);
    const timer = setTimeout(() => controller.abort(reason), delayMs);
    try {
      const container = await factory.createContainer({ signal: controller.signal });
      // Finished before the abort: fine, but then it is ours to remove.
      t.log(`creation finished before the ${delayMs} ms abort`);
      await container.destroy();
    } catch (error) {
      t.is(error, reason, `rejects with the signal's reason (abort after ${delayMs} ms)`);
    } finally {
      clearTimeout(timer);
    }
    t.deepEqual(await ourContainers(), [], `nothing left after an abort at ${delayMs} ms`);
  }
});

test.serial('an already aborted signal creates nothing', async (t) => {
  const factory = new DockerFactory(factoryOptions());
  const reason = new Error('already');
  await t.throwsAsync(factory.createContainer({ signal: AbortSignal.abort(reason) }), { is: reason });
  t.deepEqual(await ourContainers(), []);
});

test.serial('a container that stops while it is being readied is not ready and is removed', async (t) => {
  // The readiness command never succeeds, so the factory is still polling when the container stops.
  const factory = new DockerFactory(
    factoryOptions({ command: ['/bin/sh', '-c', 'sleep 0.3; exit 3'], readinessCommand: ['/bin/false'] }),
  );
  const error = await t.throwsAsync(factory.createContainer({ signal: AbortSignal.timeout(20_000) }));
  t.is((error as { code?: string } | undefined)?.code, 'ERR_WARMPOOL_READINESS_FAILED');
  t.regex(error?.message ?? '', /is not running \(status exited, exit code 3\)/);
  t.deepEqual(await ourContainers(), []);
});

test.serial('extra labels, env, memory and cpu limits reach the engine', async (t) => {
  const factory = new DockerFactory(
    factoryOptions({ labels: { team: 'lab' }, env: { GREETING: 'hi' }, memoryBytes: 64 * 1024 * 1024, cpus: 0.5 }),
  );
  await using container = await factory.createContainer({ signal: new AbortController().signal });
  const info = await docker.getContainer(container.id).inspect();
  t.is(info.Config.Labels.team, 'lab');
  t.is(info.Config.Labels[poolLabel], poolId);
  t.is(info.HostConfig.Memory, 64 * 1024 * 1024);
  t.is(info.HostConfig.NanoCpus, 500_000_000);
  t.is(info.HostConfig.LogConfig?.Type, 'none');
  t.is((await container.exec(['/bin/sh', '-c', 'echo $GREETING'])).stdout, 'hi\n');
});
