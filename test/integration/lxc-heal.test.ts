import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { execa } from 'execa';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';
import {
  buildLxcName,
  destroyLxcContainer,
  LxcFactory,
  openLxcContainer,
  type LxcContainer,
  type LxcFactoryOptions,
} from '../../lib/backends/lxc/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import type { ContainerDeath } from '../../lib/container.js';
import { EngineUnavailableError, ReadinessFailedError } from '../../lib/errors.js';

const { lxcPath, lxcBase } = loadEngineConfig();
/** Every pool id a test used: whatever is left of them is removed at the end, and nothing else. */
const poolIds: string[] = [];
/** Generous: CI is a loaded 2-core machine. Waits end as soon as their condition holds. */
const deadlineMs = 30_000;

function newPoolId(): string {
  const poolId = `it-heal-${randomSuffix()}`;
  poolIds.push(poolId);
  return poolId;
}

function factoryFor(poolId: string, overrides: Partial<LxcFactoryOptions> = {}): LxcFactory {
  return new LxcFactory({ lxcpath: lxcPath, base: lxcBase, poolId, ...overrides });
}

function create(factory: LxcFactory): Promise<LxcContainer> {
  return factory.createContainer({ signal: AbortSignal.timeout(60_000) });
}

/** Every container directory of a pool (and of pools whose id starts with its id plus '-'), stopped ones too. */
async function containersOf(poolId: string): Promise<string[]> {
  return (await readdir(lxcPath)).filter((name) => name.startsWith(`warmpool-${poolId}-`));
}

async function lxc(command: string, ...args: string[]): Promise<string> {
  return (await execa(command, ['-P', lxcPath, ...args])).stdout;
}

async function initPid(name: string): Promise<number> {
  return Number((await lxc('lxc-info', '-n', name, '-p', '-H')).trim());
}

/** Polls a condition that has no event (the state of a container) every 50 ms until it holds or the deadline passes. */
async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = deadlineMs): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(50);
  }
}

/** What a watch reported, with waits that end on the event itself. */
class WatchLog {
  readonly deaths: ContainerDeath[] = [];
  connections = 0;
  readonly disconnections: unknown[] = [];
  readonly controller = new AbortController();
  readonly #waiters = new Set<() => void>();

  constructor(factory: LxcFactory) {
    factory.watch(
      {
        died: (death) => this.#record(() => this.deaths.push(death)),
        connected: () => this.#record(() => this.connections++),
        disconnected: (error) => this.#record(() => this.disconnections.push(error)),
      },
      this.controller.signal,
    );
  }

  deathsOf(name: string): ContainerDeath[] {
    return this.deaths.filter((death) => death.id === name);
  }

  /** Resolves once `condition` holds, checked after every event; rejects after the deadline. */
  waitFor(what: string, condition: () => boolean, timeoutMs = deadlineMs): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; deaths: ${JSON.stringify(this.deaths)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  stop(): void {
    this.controller.abort();
  }

  #record(change: () => void): void {
    change();
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Pids of live processes whose parent pid and command line pass the tests. */
async function processes(test: (ppid: number, argv: string[]) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(join('/proc', entry, 'stat'), 'utf8');
      const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      if (test(Number(ppid), (await readFile(join('/proc', entry, 'cmdline'), 'utf8')).split('\0'))) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** This process's lxc-monitor children watching `poolId` (their -n pattern names the pool). */
function monitorsOf(poolId: string): Promise<number[]> {
  return processes(
    (ppid, argv) =>
      ppid === process.pid && argv[0]?.endsWith('lxc-monitor') === true && argv.some((word) => word.includes(poolId)),
  );
}

test.before(() => assertEngine('lxc'));

test.after.always(async () => {
  const left = (await Promise.all(poolIds.map((poolId) => containersOf(poolId)))).flat();
  await Promise.allSettled([...new Set(left)].map((name) => destroyLxcContainer(lxcPath, name)));
});

test('watch reports lxc-stop -k, a killed init and lxc-destroy of running containers; not another pool’s', async (t) => {
  const poolId = newPoolId();
  const factory = factoryFor(poolId);
  // Its id extends ours, so its names start with our prefix: the watch must still not report them.
  const otherFactory = factoryFor(`${poolId}-x`);
  const log = new WatchLog(factory);
  t.teardown(() => log.stop());
  await log.waitFor('the watch to connect', () => log.connections > 0);

  const [stopped, killed, destroyed, foreign] = await Promise.all([
    create(factory),
    create(factory),
    create(factory),
    create(otherFactory),
  ]);
  if (!stopped || !killed || !destroyed || !foreign) throw new Error('a creation gave nothing');
  t.deepEqual(log.deaths, [], 'starting containers is not a death');

  await lxc('lxc-stop', '-n', foreign.name, '-k');
  await lxc('lxc-stop', '-n', stopped.name, '-k');
  process.kill(await initPid(killed.name), 'SIGKILL');
  await lxc('lxc-destroy', '-n', destroyed.name, '-f');

  await log.waitFor('all three deaths', () => [stopped, killed, destroyed].every((c) => log.deathsOf(c.name).length > 0));
  for (const container of [stopped, killed, destroyed]) {
    // Each was killed by a signal, which lxc-monitor prints as status 0: no exit code, and never a false 0.
    // (Once per death as a rule; a watch that reconnected mid-stop may say it twice, which the contract allows.)
    for (const death of log.deathsOf(container.name)) {
      t.deepEqual(death, { id: container.name, reason: 'died', oomKilled: false }, container.name);
    }
  }
  t.deepEqual(log.deathsOf(foreign.name), [], 'the other pool’s container is not reported');
  await Promise.all([stopped, killed, destroyed, foreign].map((container) => container.destroy()));
});

test('a container whose init exits with a code is reported with that code', async (t) => {
  const poolId = newPoolId();
  const factory = factoryFor(poolId);
  const log = new WatchLog(factory);
  t.teardown(() => log.stop());
  await log.waitFor('the watch to connect', () => log.connections > 0);
  // A clone started with its own init command, which exits 3 once it is told to (the file appears).
  const name = buildLxcName(poolId, process.pid, randomSuffix());
  await lxc('lxc-copy', '-n', lxcBase, '-N', name, '-s', '-B', 'overlayfs');
  await lxc('lxc-start', '-n', name, '-d', '--', '/bin/sh', '-c', 'while [ ! -e /exit-now ]; do sleep 0.05; done; exit 3');
  await lxc('lxc-wait', '-n', name, '-s', 'RUNNING', '-t', '30');
  // The init exits within 50 ms of the file appearing, and lxc-attach may still be in the container then: the end
  // of the pid namespace kills it (exit 137). The death below is what shows the file was made.
  await execa('lxc-attach', ['-P', lxcPath, '-n', name, '--', '/bin/touch', '/exit-now'], { reject: false });
  await log.waitFor('the death', () => log.deathsOf(name).length > 0);
  t.deepEqual(log.deathsOf(name)[0], { id: name, reason: 'died', exitCode: 3, oomKilled: false });
  await destroyLxcContainer(lxcPath, name);
});

test('after its lxc-monitor is killed the watch reports it, comes back and sees the next death', async (t) => {
  const poolId = newPoolId();
  const factory = factoryFor(poolId);
  const log = new WatchLog(factory);
  t.teardown(() => log.stop());
  await log.waitFor('the watch to connect', () => log.connections > 0);
  const container = await create(factory);

  const [monitor] = await monitorsOf(poolId);
  if (monitor === undefined) throw new Error('no lxc-monitor child for this pool');
  const connections = log.connections;
  const disconnections = log.disconnections.length;
  process.kill(monitor, 'SIGKILL');
  await log.waitFor('the watch to reconnect', () => log.connections > connections);
  t.regex(String(log.disconnections[disconnections]), /lxc-monitor .* was killed by SIGKILL/);
  const [replacement] = await monitorsOf(poolId);
  t.truthy(replacement);
  t.not(replacement, monitor, 'a new lxc-monitor');

  // A death right after connected() is not missed: the probe proved the new lxc-monitor is subscribed.
  await lxc('lxc-stop', '-n', container.name, '-k');
  await log.waitFor('the death after the reconnect', () => log.deathsOf(container.name).length > 0);
  t.like(log.deathsOf(container.name)[0], { id: container.name, reason: 'died' });
  await container.destroy();
});

test('a stopped watch leaves no lxc-monitor behind', async (t) => {
  const poolId = newPoolId();
  const log = new WatchLog(factoryFor(poolId));
  await log.waitFor('the watch to connect', () => log.connections > 0);
  await until('one lxc-monitor while watching', async () => (await monitorsOf(poolId)).length === 1);
  const disconnections = log.disconnections.length;
  log.stop();
  await until('lxc-monitor to exit', async () => (await monitorsOf(poolId)).length === 0);
  t.is(log.disconnections.length, disconnections, 'stopping is not a disconnection');
});

test('listRunning returns exactly this pool’s running containers, whoever made them', async (t) => {
  const poolId = newPoolId();
  const factory = factoryFor(poolId);
  const listed = async (): Promise<string[]> => [...(await factory.listRunning())].sort();
  t.deepEqual(await listed(), []);
  const [running, toStop, foreign] = await Promise.all([
    create(factory),
    create(factory),
    create(factoryFor(`${poolId}-x`)),
  ]);
  if (!running || !toStop || !foreign) throw new Error('a creation gave nothing');
  // One made by another process of the same pool (pid 1 in its name): listed too.
  const byOther = buildLxcName(poolId, 1, randomSuffix());
  await lxc('lxc-copy', '-n', lxcBase, '-N', byOther, '-s', '-B', 'overlayfs');
  await lxc('lxc-start', '-n', byOther, '-d');
  await lxc('lxc-wait', '-n', byOther, '-s', 'RUNNING', '-t', '30');
  t.deepEqual(await listed(), [running.name, toStop.name, byOther].sort());

  await lxc('lxc-stop', '-n', toStop.name, '-k');
  t.deepEqual(await listed(), [running.name, byOther].sort(), 'a stopped one is not listed');
  await Promise.all([running, toStop, foreign].map((container) => container.destroy()));
  await destroyLxcContainer(lxcPath, byOther);
  t.deepEqual(await listed(), []);

  const aborted = new Error('stop listing');
  await t.throwsAsync(factory.listRunning(AbortSignal.abort(aborted)), { is: aborted });
});

test('listRunning and state() reject with EngineUnavailableError when the lxcpath is not there', async (t) => {
  const missing = join(lxcPath, `..`, `no-such-lxcpath-${randomSuffix()}`);
  const factory = new LxcFactory({ lxcpath: missing, base: lxcBase, poolId: newPoolId() });
  await t.throwsAsync(factory.listRunning(), { instanceOf: EngineUnavailableError, message: /no-such-lxcpath/ });
  const container = openLxcContainer({ backend: 'lxc', id: 'c1', name: 'c1', lxcpath: missing });
  await t.throwsAsync(container.state(), { instanceOf: EngineUnavailableError });
});

test('state(): running, then stopped (lxc-stop -k), running again, stopped (init killed), then gone', async (t) => {
  const container = await create(factoryFor(newPoolId()));
  t.is(await container.state(), 'running');
  await lxc('lxc-stop', '-n', container.name, '-k');
  t.is(await container.state(), 'stopped');
  await lxc('lxc-start', '-n', container.name, '-d');
  await lxc('lxc-wait', '-n', container.name, '-s', 'RUNNING', '-t', '30');
  t.is(await container.state(), 'running');
  process.kill(await initPid(container.name), 'SIGKILL');
  // No event to wait on here; the kill lands within moments.
  await until('state() to say stopped', async () => (await container.state()) === 'stopped');
  await lxc('lxc-destroy', '-n', container.name, '-f');
  t.is(await container.state(), 'gone');
  t.is(await openLxcContainer(container.describe()).state(), 'gone');
});

test('a readiness command that hangs ends in ReadinessFailedError at its own deadline and leaves nothing', async (t) => {
  const poolId = newPoolId();
  const command = ['/bin/sh', '-c', 'echo waiting for the service; sleep 600'];
  const factory = factoryFor(poolId, { readinessCommand: command, readinessTimeoutMs: 1_500 });
  // The creation's own signal would allow a minute: the readiness deadline is what ends it.
  const error = await t.throwsAsync(create(factory), { instanceOf: ReadinessFailedError });
  t.is(error?.code, 'ERR_WARMPOOL_READINESS_FAILED');
  t.true(error?.timedOut);
  t.deepEqual(error?.command, command);
  t.regex(error?.message ?? '', /sleep 600/);
  t.deepEqual(await containersOf(poolId), [], 'the clone was removed');
});

test('a readiness command that keeps failing reports its last exit code and output', async (t) => {
  const poolId = newPoolId();
  const factory = factoryFor(poolId, {
    readinessCommand: ['/bin/sh', '-c', 'echo not ready yet; exit 3'],
    readinessTimeoutMs: 1_000,
    readinessIntervalMs: 50,
  });
  const error = await t.throwsAsync(create(factory), { instanceOf: ReadinessFailedError });
  t.true(error?.timedOut);
  t.is(error?.lastExitCode, 3);
  t.is(error?.lastOutput, 'not ready yet');
  t.deepEqual(await containersOf(poolId), []);
});

test('a container that stops during its readiness command fails readiness at once, saying it stopped', async (t) => {
  const poolId = newPoolId();
  const factory = factoryFor(poolId, {
    readinessCommand: ['/bin/sh', '-c', 'touch /readiness-started; sleep 600'],
    readinessTimeoutMs: 120_000,
  });
  const creation = create(factory);
  const started = async (): Promise<string | undefined> => {
    for (const name of await containersOf(poolId)) {
      const marker = join(lxcPath, name, 'overlay', 'delta', 'readiness-started');
      if (await readFile(marker).then(() => true, () => false)) return name;
    }
    return undefined;
  };
  let name: string | undefined;
  await until('the readiness command to start', async () => (name = await started()) !== undefined);
  await lxc('lxc-stop', '-n', name ?? '', '-k');
  const error = await t.throwsAsync(creation, { instanceOf: ReadinessFailedError });
  t.false(error?.timedOut, 'not the deadline: the container stopped');
  t.regex(String((error?.cause as Error | undefined)?.message), /is (stopped|gone)/);
  t.deepEqual(await containersOf(poolId), []);
});

test('when lxc-monitord dies, the watch reconnects through a new one', async (t) => {
  // A private lxcpath, so the lxc-monitord killed here is one only this test uses.
  const privatePath = await mkdtemp(join(tmpdir(), 'warmpool-lxcpath-'));
  const monitordOf = (): Promise<number[]> =>
    processes((_, argv) => argv[0]?.endsWith('lxc-monitord') === true && argv[1] === privatePath);
  const log = new WatchLog(new LxcFactory({ lxcpath: privatePath, base: lxcBase, poolId: newPoolId() }));
  t.teardown(async () => {
    log.stop();
    // Ask it to quit as soon as it has no client, rather than 30 s later.
    await execa('lxc-monitor', ['-P', privatePath, '-Q'], { reject: false });
    await rm(privatePath, { recursive: true, force: true });
    // LXC made a directory for the FIFO of that lxcpath under its rundir and never removes it.
    await rm(join('/run/lxc', privatePath), { recursive: true, force: true });
  });
  await log.waitFor('the watch to connect', () => log.connections > 0);
  const [monitord] = await monitordOf();
  if (monitord === undefined) throw new Error(`no lxc-monitord for ${privatePath}`);
  const connections = log.connections;
  process.kill(monitord, 'SIGKILL');
  await log.waitFor('the watch to reconnect', () => log.connections > connections);
  t.true(log.disconnections.length > 0);
  const [replacement] = await monitordOf();
  t.truthy(replacement, 'a new lxc-monitord');
  t.not(replacement, monitord);
});
