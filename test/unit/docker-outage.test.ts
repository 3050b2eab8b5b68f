import test from 'ava';
import { PassThrough, type Writable } from 'node:stream';
import { agentReadyLine } from '../../lib/backends/docker/docker-agent.js';
import { DockerFactory, openDockerContainer } from '../../lib/backends/docker/index.js';
import { BackendError, EngineUnavailableError, ImageUnavailableError } from '../../lib/errors.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';

// The Docker backend against a fake dockerode that can be "down": what an outage turns into (EngineUnavailableError,
// never a failure of the container), and what stays a failure of the container or image. The real engine is in
// the integration tests; stopping the shared one is not allowed, so the outage is played here.

const refused = (): Error =>
  Object.assign(new Error('connect ENOENT /x/docker.sock'), { code: 'ENOENT', errno: -2, syscall: 'connect' });
const answer = (statusCode: number, message: string): Error =>
  Object.assign(new Error(`(HTTP code ${statusCode}) - ${message} `), { statusCode, json: { message } });

type Call = () => Promise<unknown>;

/** A dockerode look-alike. `down` makes every call (ping too) fail as a missing socket does; `on` overrides one call. */
class FakeDocker {
  down = false;
  /** No multiplexing in the fake: a container's attach stream is its stdout. */
  readonly modem = { demuxStream: (stream: PassThrough, stdout: Writable) => stream.pipe(stdout) };
  /** Each container's attach stream: its loopback agent says it is ready there once started. */
  readonly #output = new Map<string, PassThrough>();
  readonly calls: string[] = [];
  readonly removed: string[] = [];
  readonly on: Partial<Record<string, (...args: unknown[]) => Promise<unknown>>> = {};

  #call(name: string, fallback: Call, ...args: unknown[]): Promise<unknown> {
    this.calls.push(name);
    if (this.down) return Promise.reject(refused());
    const override = this.on[name];
    return override === undefined ? fallback() : override(...args);
  }

  ping(): Promise<unknown> {
    return this.#call('ping', () => Promise.resolve('OK'));
  }

  getImage() {
    return { inspect: () => this.#call('image.inspect', () => Promise.resolve({})) };
  }

  pull(): Promise<unknown> {
    return this.#call('pull', () => Promise.reject(new Error('no pulls in this test')));
  }

  createContainer(options: { name: string }): Promise<unknown> {
    return this.#call('create', () => Promise.resolve({ id: `id-of-${options.name}` }), options);
  }

  getContainer(id: string) {
    return {
      attach: () =>
        this.#call('attach', () => {
          const stream = new PassThrough();
          this.#output.set(id, stream);
          return Promise.resolve(stream);
        }),
      start: () =>
        this.#call('start', () => {
          this.#output.get(id)?.write(`${agentReadyLine}\n`);
          return Promise.resolve();
        }),
      inspect: () => this.#call('inspect', () => Promise.resolve({ State: { Running: true, Paused: false } }), id),
      remove: () =>
        this.#call('remove', () => {
          this.removed.push(id);
          return Promise.resolve();
        }, id),
    };
  }

  listContainers(options: unknown): Promise<unknown> {
    return this.#call('list', () => Promise.resolve([]), options);
  }
}

function factoryOn(docker: FakeDocker, clock = new FakeClock()): DockerFactory {
  return new DockerFactory({ docker: docker as never, poolId: 'unit-outage', image: 'warmpool/busybox:latest', clock });
}

const noAbort = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

test('a creation on an engine that cannot be reached rejects with EngineUnavailableError, and the next one asks again', async (t) => {
  const docker = new FakeDocker();
  docker.down = true;
  const factory = factoryOn(docker);
  await t.throwsAsync(factory.createContainer(noAbort()), { instanceOf: EngineUnavailableError });
  await t.throwsAsync(factory.createContainer(noAbort()), { instanceOf: EngineUnavailableError });
  t.is(docker.calls.filter((call) => call === 'image.inspect').length, 2, 'the outage was not kept as the image failing');
  docker.down = false;
  const container = await factory.createContainer(noAbort());
  t.regex(container.name, /^warmpool-unit-outage-/);
});

test('an engine that goes away during a pull does not make the image unavailable for good', async (t) => {
  const docker = new FakeDocker();
  docker.on['image.inspect'] = () => Promise.reject(answer(404, 'No such image'));
  docker.on.pull = () => Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }));
  const factory = factoryOn(docker);
  await t.throwsAsync(factory.createContainer(noAbort()), { instanceOf: EngineUnavailableError });
  delete docker.on['image.inspect'];
  await t.notThrowsAsync(factory.createContainer(noAbort()));
});

test('a 500 to a create from an engine that then stops answering is an outage; the half-made container is removed once it is back', async (t) => {
  const docker = new FakeDocker();
  const clock = new FakeClock();
  const factory = factoryOn(docker, clock);
  // dockerd shutting down: the container is made, the answer is a 500, and the socket is gone a moment later.
  docker.on.create = () => {
    docker.down = true;
    return Promise.reject(answer(500, 'failed to update store for object type *libnetwork.endpoint: open : no such file or directory'));
  };
  await t.throwsAsync(factory.createContainer(noAbort()), { instanceOf: EngineUnavailableError });
  t.is(factory.pendingRemovals.length, 1, 'the removal by name failed and waits for the engine');
  const [name] = factory.pendingRemovals;
  t.regex(name ?? '', /^warmpool-unit-outage-/);

  await clock.tick(60_000);
  t.is(factory.pendingRemovals.length, 1, 'still down: still pending');
  docker.down = false;
  delete docker.on.create;
  await clock.tick(30_000);
  await settle();
  t.deepEqual(factory.pendingRemovals, []);
  t.true(docker.removed.includes(name ?? ''), 'removed by name once the engine answered');
});

test('a failure of the container on an engine that answers stays a failure of the container', async (t) => {
  const docker = new FakeDocker();
  const factory = factoryOn(docker);
  docker.on.start = () => Promise.reject(answer(500, 'OCI runtime create failed: exec: "nope": executable file not found'));
  const error = await t.throwsAsync(factory.createContainer(noAbort()), { instanceOf: BackendError });
  t.regex(error?.message ?? '', /Starting container .* failed: .*executable file not found/);
  t.is(docker.removed.length, 1, 'the half-made container was removed at once');
  t.deepEqual(factory.pendingRemovals, []);

  delete docker.on.start;
  docker.on['image.inspect'] = () => Promise.reject(answer(404, 'No such image'));
  docker.on.pull = () => Promise.reject(answer(500, 'Get "https://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused'));
  await t.throwsAsync(factoryOn(docker).createContainer(noAbort()), { instanceOf: ImageUnavailableError });
});

test("the engine's answer to a readiness exec that it no longer serves is an outage", async (t) => {
  const docker = new FakeDocker();
  const factory = new DockerFactory({
    docker: docker as never,
    poolId: 'unit-outage',
    image: 'warmpool/busybox:latest',
    readinessCommand: ['/bin/true'],
  });
  // The engine stops after the start (its agent said it was ready): the readiness exec cannot connect.
  const output = new PassThrough();
  docker.on.start = () => {
    docker.down = true;
    output.write(`${agentReadyLine}\n`);
    return Promise.resolve();
  };
  (docker as unknown as Record<string, unknown>).getContainer = (id: string) => ({
    attach: () => Promise.resolve(output),
    start: () => docker.on.start?.(),
    exec: () => Promise.reject(refused()),
    inspect: () => Promise.reject(refused()),
    remove: () => Promise.reject(refused()),
    id,
  });
  await t.throwsAsync(factory.createContainer(noAbort()), { instanceOf: EngineUnavailableError });
});

test('listRunning: one call filtered on the pool label and running; an outage is EngineUnavailableError', async (t) => {
  const docker = new FakeDocker();
  const factory = factoryOn(docker);
  let asked: unknown;
  docker.on.list = (options) => {
    asked = options;
    return Promise.resolve([
      { Id: 'full-id-1', Labels: { 'warmpool.pool': 'unit-outage' } },
      { Id: 'full-id-2', Labels: { 'warmpool.pool': 'unit-outage' } },
      { Id: 'stray', Labels: { 'warmpool.pool': 'another' } },
    ]);
  };
  t.deepEqual([...(await factory.listRunning())], ['full-id-1', 'full-id-2']);
  t.deepEqual((asked as { filters: unknown }).filters, { label: ['warmpool.pool=unit-outage'], status: ['running', 'paused'] });
  t.is(docker.calls.filter((call) => call === 'list').length, 1);

  docker.down = true;
  await t.throwsAsync(factory.listRunning(), { instanceOf: EngineUnavailableError });
  docker.down = false;
  docker.on.list = () => Promise.reject(answer(400, 'invalid filter'));
  await t.throwsAsync(factory.listRunning(), { instanceOf: BackendError });
  const reason = new Error('stop');
  await t.throwsAsync(factory.listRunning(AbortSignal.abort(reason)), { is: reason });
});

test('state(): running, stopped, paused (as running), gone, and EngineUnavailableError, never a guess', async (t) => {
  const docker = new FakeDocker();
  const container = openDockerContainer({ backend: 'docker', id: 'abc', name: 'warmpool-x' }, { docker: docker as never });
  t.is(await container.state(), 'running');
  docker.on.inspect = () => Promise.resolve({ State: { Running: false, Paused: false, Status: 'exited' } });
  t.is(await container.state(), 'stopped');
  docker.on.inspect = () => Promise.resolve({ State: { Running: true, Paused: true, Status: 'paused' } });
  t.is(await container.state(), 'running');
  docker.on.inspect = () => Promise.reject(answer(404, 'No such container: abc'));
  t.is(await container.state(), 'gone');
  docker.on.inspect = () => Promise.reject(answer(500, 'the daemon is shutting down'));
  await t.throwsAsync(container.state(), { instanceOf: EngineUnavailableError });
  docker.on.inspect = () => Promise.reject(answer(500, 'something odd'));
  await t.throwsAsync(container.state(), { instanceOf: BackendError }, 'a 500 from an engine that answers pings');
  docker.down = true;
  await t.throwsAsync(container.state(), { instanceOf: EngineUnavailableError });
});

test('destroy(): idempotent; during an outage it rejects with EngineUnavailableError and works when called again', async (t) => {
  const docker = new FakeDocker();
  const container = openDockerContainer({ backend: 'docker', id: 'abc', name: 'warmpool-x' }, { docker: docker as never });
  docker.down = true;
  await t.throwsAsync(container.destroy(), { instanceOf: EngineUnavailableError });
  docker.down = false;
  docker.on.remove = () => Promise.reject(answer(404, 'No such container: abc'));
  await t.notThrowsAsync(container.destroy(), 'gone already counts as destroyed');
  await t.notThrowsAsync(container.destroy());
  t.is(docker.calls.filter((call) => call === 'remove').length, 2, 'a finished destroy is not repeated');

  // Being removed by another call is not gone yet: destroy waits (see docker-remove.test.ts) until the engine says 404.
  const busy = openDockerContainer({ backend: 'docker', id: 'def', name: 'warmpool-y' }, { docker: docker as never });
  let busyRemoves = 0;
  docker.on.remove = () =>
    Promise.reject(busyRemoves++ === 0 ? answer(409, 'removal of container def is already in progress') : answer(404, 'No such container: def'));
  await t.notThrowsAsync(busy.destroy());
  t.is(busyRemoves, 2);
  const failing = openDockerContainer({ backend: 'docker', id: 'ghi', name: 'warmpool-z' }, { docker: docker as never });
  docker.on.remove = () => Promise.reject(answer(500, 'device or resource busy'));
  await t.throwsAsync(failing.destroy(), { instanceOf: BackendError });
});
