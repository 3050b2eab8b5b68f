import test from 'ava';
import type { ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import { DockerFactory, openDockerContainer, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import { validateExecArguments } from '../../lib/backends/docker/docker-exec.js';
import { resolveDockerFactoryOptions } from '../../lib/backends/docker/docker-factory-options.js';
import { InvalidOptionError } from '../../lib/errors.js';
import { FakeClock } from '../../fixtures/fake-clock.js';

// A socket path is only connected to on the first engine call, so none of these tests needs an engine.
const valid = { docker: '/nonexistent/docker.sock', poolId: 'unit', image: 'warmpool/busybox:latest' } as const;

function assertInvalid(t: ExecutionContext, make: () => unknown, option: string): void {
  const error = t.throws(make, { instanceOf: InvalidOptionError });
  t.is(error?.option, option);
  t.is(error?.code, 'ERR_WARMPOOL_INVALID_OPTION');
  t.true(error?.message.includes(`\`${option}\``), error?.message);
}

const rejectsOption = test.macro({
  exec(t, option: string, overrides: Record<string, unknown>) {
    assertInvalid(t, () => new DockerFactory({ ...valid, ...overrides }), option);
  },
  title: (given, option: string, overrides: Record<string, unknown>) =>
    given ?? `DockerFactory rejects ${option} = ${show(Object.values(overrides)[0])}`,
});

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? 'undefined');
}

test('DockerFactory needs no poolId for a quick pool: its containers are labelled pool "default"', (t) => {
  t.is(resolveDockerFactoryOptions({ docker: valid.docker, image: valid.image }).poolId, 'default');
});
test(rejectsOption, 'poolId', { poolId: '' });
test(rejectsOption, 'poolId', { poolId: 'Upper' });
test(rejectsOption, 'poolId', { poolId: '-lead' });
test(rejectsOption, 'poolId', { poolId: 'a'.repeat(41) });
test(rejectsOption, 'poolId', { poolId: 'has space' });
test(rejectsOption, 'image', { image: undefined });
test(rejectsOption, 'image', { image: '' });
test(rejectsOption, 'image', { image: 'two words' });
test(rejectsOption, 'docker', { docker: 'relative/path.sock' });
test(rejectsOption, 'docker', { docker: 42 });
test(rejectsOption, 'docker', { docker: {} });
test(rejectsOption, 'command', { command: [] });
test(rejectsOption, 'command', { command: '/bin/sh' });
test(rejectsOption, 'command', { command: ['/bin/sh', 1] });
test(rejectsOption, 'readinessCommand', { readinessCommand: [] });
test(rejectsOption, 'env', { env: { 'A=B': 'x' } });
test(rejectsOption, 'env', { env: { A: 1 } });
test(rejectsOption, 'labels', { labels: { 'warmpool.pool': 'other' } });
test(rejectsOption, 'labels', { labels: ['a'] });
test(rejectsOption, 'memoryBytes', { memoryBytes: 1024 });
test(rejectsOption, 'memoryBytes', { memoryBytes: 1.5e7 + 0.5 });
test(rejectsOption, 'cpus', { cpus: 0 });
test(rejectsOption, 'cpus', { cpus: Number.NaN });
test(rejectsOption, 'networkMode', { networkMode: '' });
test(rejectsOption, 'networks', { networks: [] });
test(rejectsOption, 'networks', { networks: ['lab', ''] });
test(rejectsOption, 'readinessTimeoutMs', { readinessTimeoutMs: 0 });
test(rejectsOption, 'readinessIntervalMs', { readinessIntervalMs: Infinity });
test(rejectsOption, 'readinessIntervalMs', { readinessIntervalMs: -5 });
test(rejectsOption, 'imgae', { imgae: 'typo' });
test(rejectsOption, 'clock', { clock: { now: () => 0 } });

test('DockerFactory rejects networks together with networkMode', (t) => {
  assertInvalid(t, () => new DockerFactory({ ...valid, networkMode: 'none', networks: ['lab'] }), 'networks');
});

test('DockerFactory accepts a full set of valid options without calling the engine', (t) => {
  const docker = new Dockerode({ socketPath: '/nonexistent/docker.sock' });
  const factory = new DockerFactory({
    ...valid,
    docker,
    command: ['/bin/sh', '-c', 'sleep 1000'],
    env: { A: '1' },
    labels: { team: 'lab' },
    memoryBytes: 64 * 1024 * 1024,
    cpus: 0.5,
    networks: ['lab-a', 'lab-b'],
    readinessCommand: ['/bin/true'],
    readinessTimeoutMs: 5_000,
    readinessIntervalMs: 50,
    clock: new FakeClock(),
  });
  t.is(factory.poolId, 'unit');
  t.is(factory.image, valid.image);
  t.is(factory.docker, docker);
});

test('DockerFactory takes a unix:// URL as the docker option', (t) => {
  t.notThrows(() => new DockerFactory({ ...valid, docker: 'unix:///nonexistent/docker.sock' }));
});

test('DockerFactory without a docker option refuses a tcp:// DOCKER_HOST', (t) => {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = 'tcp://127.0.0.1:2375';
  try {
    assertInvalid(t, () => new DockerFactory({ poolId: 'unit', image: 'busybox' }), 'docker');
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
});

test('exec arguments are validated before any engine call', (t) => {
  assertInvalid(t, () => validateExecArguments([], {}), 'argv');
  assertInvalid(t, () => validateExecArguments(['ls', 3], {}), 'argv');
  assertInvalid(t, () => validateExecArguments(['ls'], { timeoutMs: 0 }), 'timeoutMs');
  assertInvalid(t, () => validateExecArguments(['ls'], { timeoutMs: Number.NaN }), 'timeoutMs');
  assertInvalid(t, () => validateExecArguments(['ls'], { cwd: 'relative' }), 'cwd');
  assertInvalid(t, () => validateExecArguments(['ls'], { env: { 'A=B': '' } }), 'env');
  t.notThrows(() => validateExecArguments(['ls'], { timeoutMs: Infinity, cwd: '/', env: { A: 'b' } }));
});

test('container file paths are validated before any engine call', async (t) => {
  const container = openDockerContainer({ backend: 'docker', id: 'abc', name: 'n' }, { docker: valid.docker });
  for (const path of ['relative', '/tmp/dir/', '']) {
    const error = await t.throwsAsync(container.writeFile(path, 'x'), { instanceOf: InvalidOptionError });
    t.is(error?.option, 'path');
  }
  await t.throwsAsync(container.readFile('relative'), { instanceOf: InvalidOptionError });
});

test('openDockerContainer rejects a descriptor of another backend', (t) => {
  assertInvalid(t, () => openDockerContainer({ backend: 'lxc', id: 'x', name: 'x' }, { docker: valid.docker }), 'descriptor');
  const container = openDockerContainer({ backend: 'docker', id: 'abc', name: 'warmpool-unit-1-00000000' }, { docker: valid.docker });
  t.deepEqual(container.describe(), { backend: 'docker', id: 'abc', name: 'warmpool-unit-1-00000000' });
  t.is(container.backend, 'docker');
});

test('reapDockerOrphans validates poolId and force before calling the engine', async (t) => {
  const poolError = await t.throwsAsync(reapDockerOrphans({ docker: valid.docker, poolId: 'Bad Id' }), { instanceOf: InvalidOptionError });
  t.is(poolError?.option, 'poolId');
  const forceError = await t.throwsAsync(
    reapDockerOrphans({ docker: valid.docker, poolId: 'ok', force: 'yes' as unknown as boolean }),
    { instanceOf: InvalidOptionError },
  );
  t.is(forceError?.option, 'force');
});
