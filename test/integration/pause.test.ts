import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import Dockerode from 'dockerode';
import { execa } from 'execa';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';
import { DockerFactory, openDockerContainer, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import { destroyLxcContainer, LxcFactory, openLxcContainer } from '../../lib/backends/lxc/index.js';
import type { ContainerDeath, ContainerDescriptor, RunnableContainer, WatchHandlers } from '../../lib/container.js';
import { BackendError, EngineUnavailableError } from '../../lib/errors.js';

// pause() and resume() on the real engines: the engine freezes the container and thaws it, a frozen container
// stays alive to state(), listRunning() and the watch (a pool that pauses its idle containers must not take them
// for dead), both calls are idempotent, and a container that is gone or an engine that is not there gives the
// typed errors. Each test has its own pool id; whatever a test leaves is removed at the end.

const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
/** Generous: CI is a loaded 2-core machine. Every wait ends as soon as its condition holds. */
const deadlineMs = 30_000;

type PausableContainer = RunnableContainer & { pause(): Promise<void>; resume(): Promise<void> };

interface PausableFactory {
  createContainer(options: { signal: AbortSignal }): Promise<PausableContainer>;
  watch(handlers: WatchHandlers, signal: AbortSignal): void;
  listRunning(): Promise<ReadonlySet<string>>;
}

/** What a test needs of one backend, besides the factory: the engine's own view and a few engine-side actions. */
interface Backend {
  readonly name: 'docker' | 'lxc';
  factory(poolId: string): PausableFactory;
  open(descriptor: ContainerDescriptor): PausableContainer;
  /** The same container, through an engine that is not there (a socket or an lxcpath that does not exist). */
  openUnreachable(descriptor: ContainerDescriptor): PausableContainer;
  /** What the engine says, not the backend: Docker's `State.Paused`; LXC's state FROZEN. */
  isFrozen(container: PausableContainer): Promise<boolean>;
  /** The host pid of a process in the container, to look at its files from the host (`/proc/<pid>/root`). */
  hostPid(container: PausableContainer): Promise<number>;
  /** Kills the container's main process and waits until the engine has it stopped; the container stays. */
  stop(container: PausableContainer): Promise<void>;
  removeAll(poolId: string): Promise<void>;
}

async function lxc(command: string, ...args: string[]): Promise<string> {
  return (await execa(command, ['-P', engine.lxcPath, ...args], { env: { LC_ALL: 'C' } })).stdout;
}

const dockerBackend: Backend = {
  name: 'docker',
  factory: (poolId) => new DockerFactory({ docker, poolId, image: engine.dockerImage }),
  open: (descriptor) => openDockerContainer(descriptor, { docker }),
  openUnreachable: (descriptor) => openDockerContainer(descriptor, { docker: join(tmpdir(), `no-such-docker-${process.pid}.sock`) }),
  isFrozen: async (container) => (await docker.getContainer(container.id).inspect()).State.Paused,
  hostPid: async (container) => (await docker.getContainer(container.id).inspect()).State.Pid,
  async stop(container) {
    await docker.getContainer(container.id).kill();
    await docker.getContainer(container.id).wait();
  },
  async removeAll(poolId) {
    await reapDockerOrphans({ docker, poolId, force: true });
  },
};

const lxcBackend: Backend = {
  name: 'lxc',
  factory: (poolId) => new LxcFactory({ lxcpath: engine.lxcPath, base: engine.lxcBase, poolId }),
  open: (descriptor) => openLxcContainer(descriptor),
  openUnreachable: (descriptor) => openLxcContainer({ ...descriptor, lxcpath: join(engine.lxcPath, 'no-such-lxcpath') }),
  isFrozen: async (container) => (await lxc('lxc-info', '-n', container.name, '-s', '-H')).trim() === 'FROZEN',
  hostPid: async (container) => Number((await lxc('lxc-info', '-n', container.name, '-p', '-H')).trim()),
  async stop(container) {
    await lxc('lxc-stop', '-n', container.name, '-k');
  },
  async removeAll(poolId) {
    const names = (await readdir(engine.lxcPath)).filter((name) => name.startsWith(`warmpool-${poolId}-`));
    await Promise.allSettled(names.map((name) => destroyLxcContainer(engine.lxcPath, name)));
  },
};

const poolIds: { backend: Backend; poolId: string }[] = [];
let poolCount = 0;

function newPool(backend: Backend): PausableFactory {
  const poolId = `pause-test-${process.pid}-${poolCount++}`;
  poolIds.push({ backend, poolId });
  return backend.factory(poolId);
}

function create(factory: PausableFactory): Promise<PausableContainer> {
  return factory.createContainer({ signal: AbortSignal.timeout(60_000) });
}

/** Polls a condition that has no event (a file growing, a death arriving) every 20 ms until it holds. */
async function until(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** Runs `factory.watch` until `stop()`, recording deaths; resolves once it is connected. */
async function watchDeaths(factory: PausableFactory): Promise<{ deaths: ContainerDeath[]; stop(): void }> {
  const controller = new AbortController();
  const deaths: ContainerDeath[] = [];
  let connected = false;
  factory.watch(
    { died: (death) => deaths.push(death), connected: () => (connected = true), disconnected: () => undefined },
    controller.signal,
  );
  await until('the watch to connect', () => connected);
  return { deaths, stop: () => controller.abort() };
}

test.before(async () => {
  await assertEngine('docker');
  await assertEngine('lxc');
});

test.after.always(async () => {
  await Promise.allSettled(poolIds.map(({ backend, poolId }) => backend.removeAll(poolId)));
});

for (const backend of [dockerBackend, lxcBackend]) {
  test(`${backend.name}: a paused container stays alive to state(), listRunning() and the watch; resumed, it runs commands`, async (t) => {
    const factory = newPool(backend);
    const [container, marker] = await Promise.all([create(factory), create(factory)]);
    const watch = await watchDeaths(factory);
    t.teardown(() => watch.stop());

    await container.pause();
    t.true(await backend.isFrozen(container), 'the engine says it is paused');
    t.is(await container.state(), 'running');
    t.true((await factory.listRunning()).has(container.id), 'listRunning() lists the paused container');

    // Idempotent, also through a handle found again from the descriptor (another process's view).
    const reopened = backend.open(container.describe());
    await reopened.pause();
    t.true(await backend.isFrozen(container));
    await reopened.resume();
    t.false(await backend.isFrozen(container), 'the engine says it is no longer paused');
    await container.resume();
    t.false(await backend.isFrozen(container));

    t.like(await container.exec(['true']), { exitCode: 0, timedOut: false });
    t.is(await container.state(), 'running');
    t.true((await factory.listRunning()).has(container.id));

    // The engine reports deaths in order: once the marker's is in, one the pause or resume had caused would be too.
    await backend.stop(marker);
    await until('the marker’s death', () => watch.deaths.some((death) => death.id === marker.id));
    t.deepEqual(
      watch.deaths.filter((death) => death.id === container.id),
      [],
      'pausing and resuming is no death',
    );
    await Promise.all([container.destroy(), marker.destroy()]);
  });

  test(`${backend.name}: nothing in a paused container runs: a busy loop's output stands still until resume()`, async (t) => {
    const container = await create(newPool(backend));
    // Appends to a file as fast as it can, in the background: the file's size, seen from the host, is its progress.
    const started = await container.exec(['sh', '-c', '(while :; do echo x; done >> /tmp/busy) >/dev/null 2>&1 &']);
    t.is(started.exitCode, 0, started.stderr);
    const file = join('/proc', String(await backend.hostPid(container)), 'root', 'tmp', 'busy');
    const size = async (): Promise<number> => (await stat(file)).size;
    await until('the loop to write', async () => (await size()) > 0);

    await container.pause();
    const frozenAt = await size();
    // Long enough for the loop to write thousands of lines, were it running.
    await delay(300);
    t.is(await size(), frozenAt, 'nothing was written while the container was paused');

    await container.resume();
    await until('the loop to write again', async () => (await size()) > frozenAt);
    await container.destroy();
  });

  test(`${backend.name}: destroy() removes a paused container, and the watch reports it`, async (t) => {
    const factory = newPool(backend);
    const container = await create(factory);
    const watch = await watchDeaths(factory);
    t.teardown(() => watch.stop());
    await container.pause();
    await container.destroy();
    t.is(await container.state(), 'gone');
    t.false((await factory.listRunning()).has(container.id));
    await until('its death', () => watch.deaths.some((death) => death.id === container.id));
  });

  test(`${backend.name}: a stopped container resumes (it is not paused) but does not pause; a gone one does neither`, async (t) => {
    const container = await create(newPool(backend));
    await backend.stop(container);
    t.is(await container.state(), 'stopped');
    await container.resume();
    const notRunning = await t.throwsAsync(container.pause(), { instanceOf: BackendError });
    t.regex(notRunning.message, new RegExp(container.name));

    await container.destroy();
    await t.throwsAsync(container.pause(), { instanceOf: BackendError });
    await t.throwsAsync(container.resume(), { instanceOf: BackendError });
  });

  test(`${backend.name}: pause() and resume() reject with EngineUnavailableError when the engine is not there`, async (t) => {
    const container = await create(newPool(backend));
    const unreachable = backend.openUnreachable(container.describe());
    await t.throwsAsync(unreachable.pause(), { instanceOf: EngineUnavailableError });
    await t.throwsAsync(unreachable.resume(), { instanceOf: EngineUnavailableError });
    t.false(await backend.isFrozen(container));
    await container.destroy();
  });
}

test('docker: a paused container refuses commands; after resume() its agent still runs the final command', async (t) => {
  const container = await create(newPool(dockerBackend));
  await container.pause();
  const refused = await t.throwsAsync(container.exec(['true']), { instanceOf: BackendError });
  t.regex(refused.message, /paused/);
  await container.resume();
  // The factory's containers run the agent, so they have execFinal (a missing one fails the t.like).
  t.like(await container.execFinal?.(['sh', '-c', 'echo done']), { exitCode: 0, stdout: 'done\n' });
  await container.destroy();
});
