import test from 'ava';
import { cpuUsageFileOf, parseCpuUsageMs } from '../../harness/bench/pause-cgroup.js';
import { PauseTrackingFactory } from '../../harness/bench/pause-tracking-factory.js';
import type { Container, ContainerFactory } from '../../lib/index.js';

// The pause part's pure pieces (cgroup files, counting pauses); its test file shares the demand part's name prefix.

const dockerV1 = `9:name=systemd:/docker/abc
4:memory:/docker/abc
2:cpuacct:/docker/abc
1:cpu:/docker/abc
0::/docker/abc
`;

test('cgroup v1 with cpuacct mounted alone: its cpuacct.usage', (t) => {
  t.deepEqual(cpuUsageFileOf(dockerV1), { path: '/sys/fs/cgroup/cpuacct/docker/abc/cpuacct.usage', format: 'cpuacct.usage' });
});

test('cgroup v1 with cpu and cpuacct mounted together: the directory is named as the line lists them', (t) => {
  const lxc = '5:cpu,cpuacct:/lxc.payload.web-1\n0::/lxc.payload.web-1\n';
  t.deepEqual(cpuUsageFileOf(lxc, '/cg'), { path: '/cg/cpu,cpuacct/lxc.payload.web-1/cpuacct.usage', format: 'cpuacct.usage' });
});

test('cgroup v2 only: the unified cpu.stat', (t) => {
  t.deepEqual(cpuUsageFileOf('0::/system.slice/docker-abc.scope\n'), { path: '/sys/fs/cgroup/system.slice/docker-abc.scope/cpu.stat', format: 'cpu.stat' });
});

test('a process in the root cgroup reads the root files; a text with no cgroup is refused', (t) => {
  t.is(cpuUsageFileOf('2:cpuacct:/\n').path, '/sys/fs/cgroup/cpuacct/cpuacct.usage');
  t.throws(() => cpuUsageFileOf('4:memory:/docker/abc\n'), { message: /No cpuacct or unified cgroup/ });
});

test('usage in ms from cpuacct.usage (ns) and from cpu.stat (usage_usec)', (t) => {
  t.is(parseCpuUsageMs('2013847697\n', 'cpuacct.usage'), 2013.847697);
  t.is(parseCpuUsageMs('usage_usec 1500250\nuser_usec 1000000\nsystem_usec 500250\n', 'cpu.stat'), 1500.25);
  t.throws(() => parseCpuUsageMs('', 'cpuacct.usage'), { message: /nanoseconds/ });
  t.throws(() => parseCpuUsageMs('user_usec 3\n', 'cpu.stat'), { message: /usage_usec/ });
});

class SlowPauseContainer implements Container {
  pauses = 0;
  release: (() => void)[] = [];
  constructor(readonly id: string) {}
  get name(): string {
    return this.id;
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
  pause(): Promise<void> {
    this.pauses++;
    return new Promise((resolve) => this.release.push(resolve));
  }
}

test('the tracking factory keeps what it made and waits for the pauses still running', async (t) => {
  let made = 0;
  const inner: ContainerFactory<SlowPauseContainer> = { createContainer: () => Promise.resolve(new SlowPauseContainer(`c${++made}`)) };
  const tracking = new PauseTrackingFactory(inner);
  t.is(tracking.watch, undefined, 'no watch when the inner factory has none');
  const signal = new AbortController().signal;
  const first = await tracking.createContainer({ signal });
  const second = await tracking.createContainer({ signal });
  t.deepEqual(tracking.created, [first, second]);
  const pausing = [first.pause(), second.pause()];
  t.is(tracking.pausesInFlight, 2);
  t.is(first.pauses + second.pauses, 2, 'the container’s own pause() ran');
  let settled = false;
  const waiting = tracking.whenPausesSettled().then(() => (settled = true));
  first.release.shift()?.();
  await pausing[0];
  t.is(tracking.pausesInFlight, 1);
  t.false(settled);
  second.release.shift()?.();
  await waiting;
  t.true(settled);
  t.is(tracking.pausesInFlight, 0);
  await tracking.whenPausesSettled();
});
