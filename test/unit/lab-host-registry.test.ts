import test from 'ava';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { FakeRegistryRedis } from '../../fixtures/lab/fake-registry-redis.js';
import { HostIdTakenError, HostRegistry, hostView, readHosts, type HostRegistryOptions } from '../../harness/lab/host-registry.js';
import { labTiming } from '../../harness/lab/lab-timing.js';

const kinds = [
  { name: 'alpha', backend: 'docker', concurrency: 2 },
  { name: 'beta', backend: 'lxc', concurrency: 1 },
];

function registry(clock: FakeClock, redis: FakeRegistryRedis, overrides: Partial<HostRegistryOptions> = {}): { registry: HostRegistry; trouble: string[] } {
  const trouble: string[] = [];
  const made = new HostRegistry({
    redis,
    prefix: 'lab',
    id: 'h1',
    kinds,
    load: () => ({ running: 1, ready: 3 }),
    clock,
    hostname: 'machine-a',
    pid: 1234,
    pidAlive: () => true,
    onTrouble: (line) => trouble.push(line),
    ...overrides,
  });
  return { registry: made, trouble };
}

test('a registered host is alive with its kinds, capacity and load while it beats; stopped, it is not', async (t) => {
  const clock = new FakeClock();
  const redis = new FakeRegistryRedis(clock);
  const { registry: host } = registry(clock, redis);
  await host.register();
  await clock.runFor(labTiming.aliveTtlMs * 3);
  const [view] = await readHosts(redis, 'lab');
  t.like(view, { id: 'h1', hostname: 'machine-a', pid: 1234, capacity: 3, running: 1, ready: 3, state: 'running', alive: true });
  t.deepEqual(view?.kinds, kinds);
  t.is(view?.heartbeatAt, new Date(clock.now()).toISOString(), 'a heartbeat every second, the last one just now');

  await host.stop();
  const [stopped] = await readHosts(redis, 'lab');
  t.like(stopped, { id: 'h1', state: 'stopped', alive: false });
  t.is(clock.pendingTimers, 0, 'no heartbeat is left scheduled');
});

test('a host whose heartbeats stop (Redis unreachable from it) is dead once the TTL passes, and alive again when they resume', async (t) => {
  const clock = new FakeClock();
  const redis = new FakeRegistryRedis(clock);
  const { registry: host, trouble } = registry(clock, redis);
  await host.register();
  // Its own connection fails; the lab (reading through its own) sees the heartbeat key expire.
  redis.down = true;
  await clock.runFor(labTiming.aliveTtlMs - 1);
  redis.down = false;
  t.true((await readHosts(redis, 'lab'))[0]?.alive, 'not yet: the last heartbeat is younger than the TTL');
  redis.down = true;
  await clock.runFor(2);
  redis.down = false;
  const [dead] = await readHosts(redis, 'lab');
  t.like(dead, { id: 'h1', state: 'running', alive: false }, 'dead: its entry stays, its heartbeat key expired');
  t.is(trouble.length, 1, 'the failing heartbeat is reported once, not at every beat');
  t.regex(trouble[0] ?? '', /heartbeat of host h1 failed/);

  await clock.runFor(labTiming.heartbeatMs);
  t.true((await readHosts(redis, 'lab'))[0]?.alive, 'the next heartbeat makes it alive again');
  t.regex(trouble[1] ?? '', /written again/);
  await host.stop();
});

test('a live worker keeps its host id; a killed one of the same machine gives it up at once', async (t) => {
  const clock = new FakeClock();
  const redis = new FakeRegistryRedis(clock);
  const { registry: first } = registry(clock, redis);
  await first.register();

  const elsewhere = registry(clock, redis, { hostname: 'machine-b', pid: 99, pidAlive: () => false }).registry;
  const refused = await t.throwsAsync(elsewhere.register(), { instanceOf: HostIdTakenError });
  t.regex(refused?.message ?? '', /host id "h1" is alive in the lab \(pid 1234 on machine-a\)/);

  const sameMachineLive = registry(clock, redis, { pid: 5678, pidAlive: (pid) => pid === 1234 }).registry;
  await t.throwsAsync(sameMachineLive.register(), { instanceOf: HostIdTakenError });

  // The first worker was SIGKILLed: its heartbeat key is still there, its process is not.
  const restarted = registry(clock, redis, { pid: 5678, pidAlive: () => false }).registry;
  await t.notThrowsAsync(restarted.register());
  t.like((await readHosts(redis, 'lab'))[0], { pid: 5678, alive: true });
  await restarted.stop();
  await first.stop();
});

test('an entry a broken or newer writer left shows neutral values, never throws', (t) => {
  const view = hostView({ id: 'x', kinds: 'not json', state: 'weird' }, true);
  t.like(view, { id: 'x', kinds: [], capacity: 0, running: 0, state: 'running', alive: true });
  t.false(hostView({ id: 'y', state: 'stopped' }, true).alive, 'a stopped host is not alive even if its key has not expired yet');
});
