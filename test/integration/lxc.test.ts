import { getEventListeners } from 'node:events';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { execa } from 'execa';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';
import { destroyLxcContainer, LxcFactory, openLxcContainer, type LxcContainer } from '../../lib/backends/lxc/index.js';
import type { LxcFactoryOptions } from '../../lib/backends/lxc/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import type { ContainerFactory, CreateContainerOptions } from '../../lib/container.js';
import { ImageUnavailableError, WorkerTimeoutError } from '../../lib/errors.js';
import { Pool } from '../../lib/index.js';

const { lxcPath, lxcBase } = loadEngineConfig();
const poolId = `it-lxc-${randomSuffix()}`;
const prefix = `warmpool-${poolId}-`;
const checkedOut: LxcContainer[] = [];
const pools: Pool<LxcContainer>[] = [];

function factoryOptions(overrides: Partial<LxcFactoryOptions> = {}): LxcFactoryOptions {
  return { lxcpath: lxcPath, base: lxcBase, poolId, ...overrides };
}

async function ourContainers(which: 'all' | 'running' = 'all'): Promise<string[]> {
  const { stdout } = await execa('lxc-ls', ['-P', lxcPath, '-1', ...(which === 'running' ? ['--running'] : [])]);
  return stdout.split('\n').filter((name) => name.startsWith(prefix));
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(50);
  }
}

/** Wraps a factory to record how many creations ran at once. */
class OverlapCountingFactory implements ContainerFactory<LxcContainer> {
  inFlight = 0;
  maxInFlight = 0;
  constructor(readonly inner: LxcFactory) {}

  async createContainer(options: CreateContainerOptions): Promise<LxcContainer> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.inner.createContainer(options);
    } finally {
      this.inFlight--;
    }
  }
}

test.before(() => assertEngine('lxc'));

test.after.always(async () => {
  await Promise.allSettled(pools.map((pool) => pool.cleanup({ timeoutMs: 60_000 })));
  await Promise.allSettled(checkedOut.map((container) => container.destroy()));
  await Promise.allSettled((await ourContainers()).map((name) => destroyLxcContainer(lxcPath, name)));
});

test.serial('a pool of 4 fills with running clones, never more than maxWorkers created at once', async (t) => {
  const factory = new OverlapCountingFactory(new LxcFactory(factoryOptions({ readinessCommand: ['/bin/true'] })));
  const pool = new Pool(factory, { size: 4, maxWorkers: 2, creationTimeoutMs: 60_000 });
  pools.push(pool);
  await waitFor('the pool to fill', () => pool.size === 4);
  const running = await ourContainers('running');
  t.is(running.length, 4, `lxc-ls --running shows ${running.join(', ')}`);
  t.true(factory.maxInFlight <= 2, `${factory.maxInFlight} creations overlapped`);
  t.is(factory.maxInFlight, 2, 'with 4 to make, the two workers should both have been busy');
  t.deepEqual(pool.errors.drain(), []);

  const container = await pool.get();
  t.truthy(container);
  if (container === null) return;
  checkedOut.push(container);
  t.is(container.backend, 'lxc');
  t.true(container.name.startsWith(prefix));
  // The agent's path (for execFinal) is where the factory started it: lxc-agent.test.ts checks it.
  const { agentPath, ...described } = container.describe();
  t.deepEqual(described, { backend: 'lxc', id: container.name, name: container.name, lxcpath: lxcPath });
  t.regex(agentPath ?? '', /^\/proc\/\d+\/root\//);
  t.true(running.includes(container.name));
  // The pool refills the slot it handed out.
  await waitFor('the pool to refill', () => pool.size === 4);

  await pool.cleanup({ timeoutMs: 60_000 });
  t.deepEqual(await ourContainers(), [container.name], 'cleanup leaves only the checked-out container');
  await container.destroy();
  t.deepEqual(await ourContainers(), []);
});

test.serial('exec, files, timeouts and aborts in a container', async (t) => {
  const factory = new LxcFactory(
    factoryOptions({ env: { FROM_FACTORY: 'yes', SHADOWED: 'factory' }, readinessCommand: ['/bin/true'] }),
  );
  const creation = new AbortController();
  const container = await factory.createContainer({ signal: creation.signal });
  checkedOut.push(container);
  t.is(getEventListeners(creation.signal, 'abort').length, 0, 'a finished creation leaves no listener behind');
  await container.exec(['true'], { signal: creation.signal, timeoutMs: 10_000 });
  t.is(getEventListeners(creation.signal, 'abort').length, 0, 'a finished exec leaves no listener behind');

  t.deepEqual(await container.exec(['echo', 'hello', 'a b']), {
    exitCode: 0,
    stdout: 'hello a b\n',
    stderr: '',
    timedOut: false,
  });
  const failing = await container.exec(['/bin/sh', '-c', 'echo out; echo err >&2; exit 42']);
  t.is(failing.exitCode, 42);
  t.is(failing.stdout, 'out\n');
  t.is(failing.stderr, 'err\n');
  // Arguments are never interpreted by a shell.
  t.is((await container.exec(['echo', '$(id)', ';', '&&', '*'])).stdout, '$(id) ; && *\n');

  const env = await container.exec(['/bin/sh', '-c', 'echo "$FROM_FACTORY $SHADOWED $MINE $HOME_LEAK"'], {
    env: { SHADOWED: 'exec', MINE: 'x=1 y' },
  });
  t.is(env.stdout, 'yes exec x=1 y \n');
  process.env['WARMPOOL_HOST_ONLY'] = 'must not leak';
  t.false((await container.exec(['env'])).stdout.includes('WARMPOOL_HOST_ONLY'), "the host's environment stays out");

  t.not((await container.exec(['pwd'], { cwd: '/tmp/work dir' })).exitCode, 0, 'cd into a missing directory fails');
  await container.exec(['mkdir', '-p', '/tmp/work dir']);
  t.is((await container.exec(['pwd'], { cwd: '/tmp/work dir' })).stdout, '/tmp/work dir\n');

  const binary = Buffer.from([0, 1, 2, 253, 254, 255, 10, 13, 0]);
  await container.writeFile('/tmp/deep/er/file.bin', binary);
  t.deepEqual(await container.readFile('/tmp/deep/er/file.bin'), binary);
  await container.writeFile('/tmp/text.txt', 'héllo\n');
  t.is((await container.readFile('/tmp/text.txt')).toString('utf8'), 'héllo\n');
  t.is((await container.exec(['cat', '/tmp/text.txt'])).stdout, 'héllo\n');
  await t.throwsAsync(container.readFile('/tmp/missing'), { code: 'ERR_WARMPOOL_BACKEND' });

  const started = Date.now();
  const timedOut = await container.exec(['/bin/sh', '-c', 'sleep 31 & sleep 32'], { timeoutMs: 300 });
  t.true(timedOut.timedOut);
  t.is(timedOut.exitCode, 124);
  t.true(Date.now() - started < 20_000, 'killed at its timeout, not after the 31 s sleep');
  const afterTimeout = await container.exec(['ps']);
  t.false(/sleep 3[12]/.test(afterTimeout.stdout), `the timed-out command and its child are gone:\n${afterTimeout.stdout}`);

  const controller = new AbortController();
  const reason = new Error('stop it');
  setTimeout(() => controller.abort(reason), 200);
  await t.throwsAsync(container.exec(['sleep', '33'], { signal: controller.signal }), { is: reason });
  t.false((await container.exec(['ps'])).stdout.includes('sleep 33'));

  // Another process (the pool service's client) reattaches from the descriptor.
  const reopened = openLxcContainer(container.describe());
  t.is((await reopened.exec(['cat', '/tmp/text.txt'])).stdout, 'héllo\n');

  await container.destroy();
  await container.destroy();
  await reopened.destroy();
  await t.throwsAsync(container.exec(['true']), { code: 'ERR_WARMPOOL_BACKEND' });
  t.deepEqual(await ourContainers(), []);
  await access(join(lxcPath, lxcBase, 'rootfs', 'bin', 'busybox'));
  t.pass('the base survives destroying its snapshot clone');
});

test.serial('a full copy (snapshot: false) works and is removed', async (t) => {
  const factory = new LxcFactory(factoryOptions({ snapshot: false }));
  const container = await factory.createContainer({ signal: new AbortController().signal });
  checkedOut.push(container);
  t.is((await container.exec(['echo', 'full'])).stdout, 'full\n');
  await container.destroy();
  t.deepEqual(await ourContainers(), []);
});

test.serial('a readiness command that never succeeds times out and leaves no clone', async (t) => {
  const factory = new LxcFactory(factoryOptions({ readinessCommand: ['/bin/false'], readinessIntervalMs: 50 }));
  // One failure throttles the pool for an hour, so no new creation muddies the count of clones afterwards.
  const pool = new Pool(factory, { size: 1, maxWorkers: 1, creationTimeoutMs: 1_500, maxErrorsPerHour: 1 });
  pools.push(pool);
  await waitFor('a creation to time out', () => pool.errors.length > 0);
  const [entry] = pool.errors.drain();
  t.true(entry?.error instanceof WorkerTimeoutError, String(entry?.error));
  t.is(pool.size, 0);
  await waitFor('the timed-out clone to be destroyed', async () => (await ourContainers()).length === 0, 15_000);
  await pool.cleanup({ timeoutMs: 30_000 });
  t.deepEqual(await ourContainers(), []);
});

test.serial('an unknown base queues ImageUnavailableError and the pool keeps running', async (t) => {
  const base = `no-such-base-${randomSuffix()}`;
  const pool = new Pool(new LxcFactory(factoryOptions({ base })), { size: 2, maxWorkers: 2, maxErrorsPerHour: 4 });
  pools.push(pool);
  await waitFor('errors to be queued', () => pool.errors.length >= 2);
  const errors = pool.errors.drain();
  for (const { error } of errors) {
    t.true(error instanceof ImageUnavailableError, String(error));
    t.is((error as ImageUnavailableError).image, base);
    t.regex(error.message, new RegExp(base));
  }
  t.false(pool.isClosed);
  t.is(await pool.get(), null);
  t.deepEqual(await ourContainers(), []);
  await pool.cleanup();
});

test.serial('aborting a creation at any step leaves nothing behind', async (t) => {
  // The readiness command keeps the later aborts inside the creation; the early ones land in copy or start.
  const factory = new LxcFactory(factoryOptions({ readinessCommand: ['/bin/false'], readinessIntervalMs: 20 }));
  let rejected = 0;
  for (const abortAfterMs of [0, 2, 5, 10, 20, 30, 45, 60, 100, 250]) {
    const controller = new AbortController();
    const reason = new Error(`aborted after ${abortAfterMs} ms`);
    const timer = setTimeout(() => controller.abort(reason), abortAfterMs);
    const outcome = await factory.createContainer({ signal: controller.signal }).then(
      (container) => container,
      (error: unknown) => error,
    );
    clearTimeout(timer);
    t.is(outcome, reason, `abort after ${abortAfterMs} ms rejects with the signal's reason`);
    if (outcome === reason) rejected++;
    t.deepEqual(await ourContainers(), [], `nothing left after an abort at ${abortAfterMs} ms`);
  }
  t.is(rejected, 10);
  const running = await execa('lxc-ls', ['-P', lxcPath, '-1']);
  t.true(running.stdout.split('\n').includes(lxcBase), 'the base is untouched');
});
