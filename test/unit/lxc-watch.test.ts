import test from 'ava';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import type { MonitorProcess } from '../../lib/backends/lxc/lxc-monitor-process.js';
import { buildLxcName } from '../../lib/backends/lxc/lxc-names.js';
import { watchLxcMonitor, type LxcWatchOptions } from '../../lib/backends/lxc/lxc-watch.js';
import type { ContainerDeath } from '../../lib/container.js';

/** An lxc-monitor that prints what the test says and exits when told or killed. */
class FakeMonitor implements MonitorProcess {
  readonly pid = 4242;
  readonly exited: Promise<Error>;
  readonly #listeners: Array<(line: string) => void> = [];
  #exit!: (error: Error) => void;

  constructor(
    readonly args: readonly string[],
    readonly signal: AbortSignal,
  ) {
    this.exited = new Promise((resolve) => (this.#exit = resolve));
    signal.addEventListener('abort', () => this.exit(new Error('lxc-monitor was stopped')), { once: true });
  }

  onLine(listener: (line: string) => void): void {
    this.#listeners.push(listener);
  }

  print(line: string): void {
    for (const listener of this.#listeners) listener(line);
  }

  exit(error: Error): void {
    this.#exit(error);
  }
}

const poolId = 'lab';
const ours = buildLxcName(poolId, 1234, '0badf00d');

function setUp(overrides: Partial<LxcWatchOptions> = {}) {
  const clock = new FakeClock();
  const controller = new AbortController();
  const monitors: FakeMonitor[] = [];
  const probes: string[] = [];
  const events: Array<['died', ContainerDeath] | ['connected'] | ['disconnected', string]> = [];
  const options: LxcWatchOptions = {
    lxcpath: '/var/lib/lxc',
    poolId,
    signal: controller.signal,
    clock,
    random: () => 0,
    spawnMonitor: (args, signal) => {
      const monitor = new FakeMonitor(args, signal);
      monitors.push(monitor);
      return monitor;
    },
    sendProbe: (name) => {
      probes.push(name);
      return Promise.resolve();
    },
    handlers: {
      died: (death) => events.push(['died', death]),
      connected: () => events.push(['connected']),
      disconnected: (error) => events.push(['disconnected', (error as Error).message]),
    },
    ...overrides,
  };
  watchLxcMonitor(options);
  const current = (): FakeMonitor => {
    const monitor = monitors.at(-1);
    if (monitor === undefined) throw new Error('no lxc-monitor was spawned');
    return monitor;
  };
  /** The current monitor passes the last probe on, as lxc-monitor does once lxc-monitord has accepted it. */
  const echoProbe = (): void => current().print(`'${probes.at(-1) ?? ''}' changed state to [RUNNING]`);
  return { clock, controller, monitors, probes, events, current, echoProbe };
}

test('lxc-monitor watches the lxcpath for the pool’s names and its probe; connected once the probe is back', async (t) => {
  const { clock, current, probes, events, echoProbe } = setUp();
  await settle();
  t.deepEqual(current().args.slice(0, 3), ['-P', '/var/lib/lxc', '-n']);
  t.is(current().args[3], `(warmpool-lab-[1-9][0-9]{0,9}-[0-9a-f]{8}|${probes[0] ?? 'no probe'})`);
  t.deepEqual(events, [], 'a spawned lxc-monitor is not yet subscribed');
  await clock.tick(10);
  await clock.tick(20);
  t.true(probes.length >= 2, 'probes go on until one comes back');
  t.true(probes.every((probe) => probe === probes[0]), 'one probe name per run');
  echoProbe();
  echoProbe();
  t.deepEqual(events, [['connected']], 'connected once, however many probes come back');
  const sent = probes.length;
  await clock.tick(5_000);
  t.is(probes.length, sent, 'no probes once connected');
});

test('deaths are reported as lxc-monitor prints them, before and after connected', async (t) => {
  const { current, events, echoProbe } = setUp();
  await settle();
  current().print(`'${ours}' changed state to [STOPPING]`);
  echoProbe();
  const second = buildLxcName(poolId, 1234, 'aaaaaaaa');
  current().print(`'${second}' exited with status [42]`);
  current().print(`'${second}' changed state to [STOPPING]`);
  current().print(`'${second}' changed state to [STOPPED]`);
  t.deepEqual(events, [
    ['died', { id: ours, reason: 'died', oomKilled: false }],
    ['connected'],
    ['died', { id: second, reason: 'died', exitCode: 42, oomKilled: false }],
  ]);
});

test('when lxc-monitor exits: disconnected, then a new one after a jittered backoff that grows', async (t) => {
  const { clock, monitors, current, events, echoProbe } = setUp();
  await settle();
  echoProbe();
  current().exit(new Error('lxc-monitor exited with code 1'));
  await settle();
  t.deepEqual(events.at(-1), ['disconnected', 'lxc-monitor exited with code 1']);
  await clock.tick(124);
  t.is(monitors.length, 1, 'the first retry waits at least 125 ms (250 ms with equal jitter, lowest draw)');
  await clock.tick(1);
  t.is(monitors.length, 2);
  t.true(current().args[3]?.includes('warmpool-watch:lab:'));

  // This one fails before connecting: reported too, and the next wait is longer.
  current().exit(new Error('lxc-monitor could not be run'));
  await settle();
  t.deepEqual(events.at(-1), ['disconnected', 'lxc-monitor could not be run']);
  await clock.tick(249);
  t.is(monitors.length, 2);
  await clock.tick(1);
  t.is(monitors.length, 3);
  echoProbe();
  t.deepEqual(
    events.map(([kind]) => kind),
    ['connected', 'disconnected', 'disconnected', 'connected'],
  );
});

test('the backoff never waits more than 30 s, and starts over after a connection that held for 30 s', async (t) => {
  const { clock, monitors, current, echoProbe } = setUp();
  await settle();
  for (let failure = 0; failure < 10; failure++) {
    current().exit(new Error('crash'));
    await settle();
    await clock.tick(30_000);
    t.is(monitors.length, failure + 2, `retry ${failure + 1} came within 30 s`);
  }
  echoProbe();
  await clock.tick(30_000);
  current().exit(new Error('crash after a long connection'));
  await settle();
  const before = monitors.length;
  await clock.tick(125);
  t.is(monitors.length, before + 1, 'back to the first delay');
});

test('a probe that never comes back: lxc-monitor is killed and started again', async (t) => {
  let failing = true;
  const { clock, monitors, events } = setUp({
    subscribeTimeoutMs: 2_000,
    sendProbe: () => (failing ? Promise.reject(new Error('ENXIO: no lxc-monitord')) : Promise.resolve()),
  });
  await settle();
  for (let elapsed = 0; elapsed < 2_600 && events.length === 0; elapsed += 100) await clock.tick(100);
  t.true(monitors[0]?.signal.aborted, 'the silent lxc-monitor was killed');
  t.is(events.length, 1);
  t.regex(events[0]?.[1] as string, /did not pass on its probe within 2000 ms \(last probe: ENXIO: no lxc-monitord\)/);
  failing = false;
  await clock.tick(250);
  t.is(monitors.length, 2, 'and a new one started');
});

test('abort kills lxc-monitor, restarts nothing and reports nothing more', async (t) => {
  const { clock, controller, monitors, current, events, echoProbe } = setUp();
  await settle();
  echoProbe();
  controller.abort();
  await settle();
  t.true(current().signal.aborted);
  await clock.tick(60_000);
  t.is(monitors.length, 1);
  t.deepEqual(events, [['connected']]);
  t.is(clock.pendingTimers, 0, 'no timer left behind');
});

test('abort during the backoff wait ends the watch at once', async (t) => {
  const { clock, controller, monitors, current } = setUp();
  await settle();
  current().exit(new Error('crash'));
  await settle();
  controller.abort();
  await settle();
  await clock.tick(60_000);
  t.is(monitors.length, 1);
  t.is(clock.pendingTimers, 0);
});

test('a watch started with an aborted signal spawns nothing', async (t) => {
  const monitors: unknown[] = [];
  watchLxcMonitor({
    lxcpath: '/p',
    poolId,
    signal: AbortSignal.abort(),
    spawnMonitor: (args, signal) => {
      monitors.push(args);
      return new FakeMonitor(args, signal);
    },
    handlers: { died: () => undefined, connected: () => undefined, disconnected: () => undefined },
  });
  await settle();
  t.deepEqual(monitors, []);
});

test('a handler that throws becomes a warning; the watch goes on', async (t) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.message);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const deaths: string[] = [];
  const { current, probes } = setUp({
    handlers: {
      died: (death) => {
        deaths.push(death.id);
        throw new Error('pool bug');
      },
      connected: () => undefined,
      disconnected: () => undefined,
    },
  });
  await settle();
  current().print(`'${probes[0] ?? ''}' changed state to [RUNNING]`);
  current().print(`'${ours}' changed state to [STOPPING]`);
  const second = buildLxcName(poolId, 1234, 'aaaaaaaa');
  current().print(`'${second}' changed state to [STOPPING]`);
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(deaths, [ours, second]);
  t.is(warnings.length, 2);
  t.regex(warnings[0] ?? '', /died\(\) handler of the LXC watch of pool lab threw: pool bug/);
});
