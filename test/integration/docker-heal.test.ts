import test from 'ava';
import type { ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import { DockerFactory, poolLabel, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import type { DockerContainer, DockerFactoryOptions } from '../../lib/backends/docker/index.js';
import { ownerLabels } from '../../lib/backends/docker/docker-labels.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import type { ContainerDeath } from '../../lib/container.js';
import { ContainerDiedError, ReadinessFailedError } from '../../lib/errors.js';
import { Pool } from '../../lib/pool.js';
import type { PoolEventName, PoolEvents } from '../../lib/pool-events.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';

// What the Docker backend tells a pool about its containers on the real engine: the event watch (deaths, OOM,
// other pools kept out), listRunning, state() and readiness's own deadline. Only outcomes the engine guarantees
// are asserted: a `docker rm -f` may show up as a die, a destroy or both, and a kill's exit code may be missing.
// Each test has its own pool id, so the tests run concurrently and alongside other files.

const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
/** Generous: CI runs this on a loaded 2-core machine. Every wait is on an event, so it only matters on failure. */
const eventDeadlineMs = 30_000;

test.before(() => assertEngine('docker'));

/** A fresh pool id for one test, whose containers (and the watch) are cleaned up when the test ends. */
function newPool(t: ExecutionContext, overrides: Partial<DockerFactoryOptions> = {}) {
  const poolId = `it-heal-${randomSuffix()}`;
  const factory = new DockerFactory({ docker, poolId, image: engine.dockerImage, ...overrides });
  t.teardown(async () => {
    await reapDockerOrphans({ docker, poolId, force: true });
  });
  return { poolId, factory };
}

async function create(factory: DockerFactory): Promise<DockerContainer> {
  return factory.createContainer({ signal: AbortSignal.timeout(60_000) });
}

/** Runs `factory.watch` for the rest of the test, recording deaths; resolves once it is connected. */
async function watch(t: ExecutionContext, factory: DockerFactory) {
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const deaths: ContainerDeath[] = [];
  const waiters: { id: string; resolve: (death: ContainerDeath) => void }[] = [];
  let disconnects = 0;
  let onConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  factory.watch(
    {
      died(death) {
        deaths.push(death);
        for (const waiter of waiters.filter((candidate) => candidate.id === death.id)) waiter.resolve(death);
      },
      connected: () => onConnected(),
      disconnected: () => void disconnects++,
    },
    controller.signal,
  );
  await withDeadline(connected, 'the watch to connect');
  return {
    deaths,
    disconnects: () => disconnects,
    /** The first death reported for `id` (also one reported before the call). */
    deathOf(id: string): Promise<ContainerDeath> {
      const known = deaths.find((death) => death.id === id);
      if (known !== undefined) return Promise.resolve(known);
      return withDeadline(new Promise((resolve) => waiters.push({ id, resolve })), `a death of ${id.slice(0, 12)}`);
    },
  };
}

async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${eventDeadlineMs} ms`)), eventDeadlineMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills a container's main process with SIGKILL and waits until the engine has it stopped. */
async function kill(id: string): Promise<void> {
  const container = docker.getContainer(id);
  await container.kill();
  await container.wait();
}

test('a killed container is reported dead, a removed one dead or removed, a live one not at all', async (t) => {
  const { factory } = newPool(t);
  const [killed, removed, alive] = await Promise.all([create(factory), create(factory), create(factory)]);
  const watcher = await watch(t, factory);
  t.is(await killed.state(), 'running');

  await kill(killed.id);
  const killedDeath = await watcher.deathOf(killed.id);
  t.is(killedDeath.reason, 'died');
  t.true(killedDeath.exitCode === 137 || killedDeath.exitCode === undefined, `exit code ${killedDeath.exitCode}`);
  t.false(killedDeath.oomKilled);
  t.is(await killed.state(), 'stopped');

  await docker.getContainer(removed.id).remove({ force: true });
  const removedDeath = await watcher.deathOf(removed.id);
  t.true(['died', 'removed'].includes(removedDeath.reason), removedDeath.reason);
  t.is(await removed.state(), 'gone');

  t.is(await alive.state(), 'running');
  t.false(watcher.deaths.some((death) => death.id === alive.id), 'the container that runs was never reported');
  t.is(watcher.disconnects(), 0);
});

test("another pool's deaths are never reported", async (t) => {
  const ours = newPool(t);
  const theirs = newPool(t);
  const [mine, other] = await Promise.all([create(ours.factory), create(theirs.factory)]);
  const watcher = await watch(t, ours.factory);
  // The other pool's container dies first: the engine sends events in order, so had the filter let it through,
  // it would be in our stream before our own container's death.
  await kill(other.id);
  await kill(mine.id);
  await watcher.deathOf(mine.id);
  t.deepEqual(
    watcher.deaths.map((death) => death.id),
    [mine.id],
  );
});

test('an OOM kill of the main process is reported as such, as the engine sees it', async (t) => {
  const { poolId, factory } = newPool(t);
  const watcher = await watch(t, factory);
  // Made directly: the factory's containers keep running, this one must exhaust 8 MiB at once. Same pool label.
  const hog = await docker.createContainer({
    name: `warmpool-${poolId}-${process.pid}-${randomSuffix()}`,
    Image: engine.dockerImage,
    Cmd: ['tail', '/dev/zero'],
    Labels: ownerLabels({ poolId }),
    HostConfig: {
      NetworkMode: 'none',
      Memory: 8 * 1024 * 1024,
      MemorySwap: 8 * 1024 * 1024,
      LogConfig: { Type: 'none', Config: {} },
    },
  });
  await hog.start();
  const death = await watcher.deathOf(hog.id);
  const { State: state } = await hog.inspect();
  t.is(death.reason, 'died');
  t.is(state.ExitCode, 137);
  t.true(death.exitCode === 137 || death.exitCode === undefined, `exit code ${death.exitCode}`);
  // The watch must agree with the engine's own verdict (on this machine's kernel the engine reports the OOM kill;
  // an engine that cannot see OOM kills reports neither).
  t.is(death.oomKilled, state.OOMKilled);
  if (!state.OOMKilled) t.log('this engine does not report OOM kills; oomKilled checked for agreement only');
});

test('listRunning returns exactly the running containers of this pool', async (t) => {
  const ours = newPool(t);
  const theirs = newPool(t);
  const [first, second, stopped, foreign] = await Promise.all([
    create(ours.factory),
    create(ours.factory),
    create(ours.factory),
    create(theirs.factory),
  ]);
  await kill(stopped.id);
  const running = await ours.factory.listRunning(AbortSignal.timeout(eventDeadlineMs));
  t.deepEqual([...running].sort(), [first.id, second.id].sort());
  t.false(running.has(foreign.id));
  for (const id of running) t.regex(id, /^[0-9a-f]{64}$/, 'full ids, as Container.id');

  await first.destroy();
  t.deepEqual([...(await ours.factory.listRunning())], [second.id]);
  const empty = newPool(t);
  t.deepEqual([...(await empty.factory.listRunning())], []);
});

test('a readiness command that hangs ends in ReadinessFailedError at readinessTimeoutMs, and nothing is left', async (t) => {
  const { poolId, factory } = newPool(t, { readinessCommand: ['sleep', '1000'], readinessTimeoutMs: 1_500 });
  const creation = factory.createContainer({ signal: AbortSignal.timeout(120_000) });
  const error = await t.throwsAsync(creation, { instanceOf: ReadinessFailedError });
  t.is(error?.code, 'ERR_WARMPOOL_READINESS_FAILED');
  t.true(error?.timedOut);
  t.deepEqual(error?.command, ['sleep', '1000']);
  // Not a speed check: giving up before the deadline would be the bug. (A timer may fire a millisecond early.)
  t.true((error?.durationMs ?? 0) >= 1_490, `gave up after ${error?.durationMs} ms, before the deadline`);
  t.is(error?.lastExitCode, undefined, 'no attempt finished');
  t.regex(error?.containerName ?? '', new RegExp(`^warmpool-${poolId}-`));
  const left = await docker.listContainers({ all: true, filters: { label: [`${poolLabel}=${poolId}`] } });
  t.deepEqual(left, [], 'the container was removed before the creation rejected');
});

test('a readiness command that keeps failing reports its last exit code and output', async (t) => {
  const { factory } = newPool(t, {
    readinessCommand: ['/bin/sh', '-c', 'echo "waiting for /ready"; exit 3'],
    // Long enough that attempts finish even on a loaded machine: the error reports the last one that did.
    readinessTimeoutMs: 4_000,
    readinessIntervalMs: 50,
  });
  const error = await t.throwsAsync(create(factory), { instanceOf: ReadinessFailedError });
  t.true(error?.timedOut);
  t.is(error?.lastExitCode, 3);
  t.is(error?.lastOutput, 'waiting for /ready');
  t.regex(error?.message ?? '', /last exit code 3.*waiting for \/ready/);
});

/** The next `name` event of `pool` that `matches`, within the deadline. */
function nextPoolEvent<E extends PoolEventName>(
  pool: Pool<DockerContainer>,
  name: E,
  matches: (event: PoolEvents[E]) => boolean = () => true,
): Promise<PoolEvents[E]> {
  let unsubscribe: () => void = () => undefined;
  const seen = new Promise<PoolEvents[E]>((resolve) => {
    unsubscribe = pool.on(name, (event) => {
      if (matches(event)) resolve(event);
    });
  });
  return withDeadline(seen, `a ${name} event`).finally(unsubscribe);
}

/** Resolves once `condition()` holds, checked now and after every creation the pool finishes. */
async function poolReaches(pool: Pool<DockerContainer>, what: string, condition: () => boolean): Promise<void> {
  while (!condition()) await nextPoolEvent(pool, 'creation').catch(() => {
    throw new Error(`the pool did not reach ${what} within ${eventDeadlineMs} ms`);
  });
}

// The watch as a pool uses it, end to end; the pool's own behaviour is unit-tested on the fake clock.
test('in a pool, a ready container killed behind its back is reported, removed and replaced', async (t) => {
  const { poolId, factory } = newPool(t);
  const pool = new Pool(factory, { size: 2, maxWorkers: 2, creationTimeoutMs: 60_000 });
  t.teardown(() => pool.cleanup({ timeoutMs: 30_000 }));
  await poolReaches(pool, '2 ready containers', () => pool.size === 2);
  const [victim] = await docker.listContainers({ filters: { label: [`${poolLabel}=${poolId}`] } });
  if (victim === undefined) throw new Error('no running container of the pool');
  const victimName = (victim.Names[0] ?? '').replace(/^\//, '');

  const death = nextPoolEvent(pool, 'death', (event) => event.id === victim.Id);
  const removal = nextPoolEvent(pool, 'destroy', (event) => event.name === victimName && event.ok);
  const killedAt = Date.now();
  await docker.getContainer(victim.Id).kill();
  const killCallMs = Date.now() - killedAt;
  // 'died' from the watch; 'not-running' if the watch connected only after the kill and a reconcile found it.
  t.true(['died', 'not-running'].includes((await death).reason));
  t.log(`death noticed by the pool ${Date.now() - killedAt} ms after the kill call (which took ${killCallMs} ms)`);
  await removal;
  await poolReaches(pool, 'a replacement', () => pool.size === 2);

  const queued = pool.errors.drain().map((entry) => entry.error);
  t.true(
    queued.some((error) => error instanceof ContainerDiedError && error.containerName === victimName),
    queued.map((error) => error.message).join('; '),
  );
  const left = await docker.listContainers({ all: true, filters: { label: [`${poolLabel}=${poolId}`] } });
  t.false(left.some((info) => info.Id === victim.Id), 'the dead container was removed from the engine');
  for (let taken = 0; taken < 2; taken++) {
    const container = await pool.get();
    if (container === null) throw new Error('the full pool handed out nothing');
    t.not(container.id, victim.Id);
    t.is((await container.exec(['true'])).exitCode, 0, 'what the pool hands out runs');
    await container.destroy();
  }
});
