import test from 'ava';
import type Dockerode from 'dockerode';
import { PassThrough } from 'node:stream';
import { watchDockerDeaths, watchConnectTimeoutMs } from '../../lib/backends/docker/docker-watch.js';
import type { ContainerDeath } from '../../lib/container.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';

// The Docker watch against a fake engine whose event streams the test writes to and ends, on the fake clock:
// parsing, reconnects with backoff, and a clean stop. The real engine's events are in docker-heal.test.ts.

const poolId = 'unit-watch';

interface Connection {
  readonly options: { filters?: unknown; abortSignal?: AbortSignal };
  /** Answers the request with a stream (the HTTP response arrived). */
  open(): PassThrough;
  /** Fails the request, as a refused connect does. */
  refuse(): void;
  readonly settled: boolean;
}

/**
 * A dockerode with `getEvents`, whose requests wait until the test answers them, and `getContainer().inspect()`,
 * whose answer says the OOM killer ended the containers whose id starts with `oom-`.
 */
function fakeEngine() {
  const connections: Connection[] = [];
  const docker = {
    getEvents(options: Connection['options']): Promise<unknown> {
      return new Promise((resolve, reject) => {
        let settled = false;
        options.abortSignal?.addEventListener('abort', () => {
          if (settled) return;
          settled = true;
          reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
        });
        connections.push({
          options,
          open() {
            const stream = new PassThrough();
            settled = true;
            resolve(stream);
            return stream;
          },
          refuse() {
            settled = true;
            reject(Object.assign(new Error('connect ENOENT /x/docker.sock'), { code: 'ENOENT', syscall: 'connect' }));
          },
          get settled() {
            return settled;
          },
        });
      });
    },
    getContainer(id: string) {
      return { inspect: () => Promise.resolve({ State: { OOMKilled: id.startsWith('oom-') } }) };
    },
  } as unknown as Pick<Dockerode, 'getEvents' | 'getContainer'>;
  return { docker, connections };
}

function recorder() {
  const calls: (['died', ContainerDeath] | ['connected'] | ['disconnected', unknown])[] = [];
  return {
    calls,
    deaths: () => calls.filter((call) => call[0] === 'died').map((call) => call[1]),
    handlers: {
      died: (death: ContainerDeath) => calls.push(['died', death]),
      connected: () => calls.push(['connected']),
      disconnected: (error: unknown) => calls.push(['disconnected', error]),
    },
  };
}

function event(action: string, id: string, attributes: Record<string, string> = {}, pool = poolId): string {
  return `${JSON.stringify({
    status: action,
    id,
    from: 'warmpool/busybox:latest',
    Type: 'container',
    Action: action,
    Actor: { ID: id, Attributes: { 'warmpool.pool': pool, name: `warmpool-${pool}-1-abcd`, ...attributes } },
    scope: 'local',
    time: 1_700_000_000,
    timeNano: 1_700_000_000_000_000_000,
  })}\n`;
}

/** Starts a watch; random 0 makes each backoff delay exactly half its ceiling (125 ms, 250 ms, ...). */
function start() {
  const clock = new FakeClock();
  const engine = fakeEngine();
  const record = recorder();
  const controller = new AbortController();
  watchDockerDeaths({ docker: engine.docker, poolId, clock, random: () => 0 }, record.handlers, controller.signal);
  return { clock, engine, record, controller };
}

test('asks the engine for death events of this pool only, and reports connected once it answers', async (t) => {
  const { engine, record, controller } = start();
  t.is(engine.connections.length, 1);
  t.deepEqual(engine.connections[0]?.options.filters, {
    type: ['container'],
    event: ['die', 'oom', 'destroy'],
    label: [`warmpool.pool=${poolId}`],
  });
  t.deepEqual(record.calls, [], 'not connected before the engine answered');
  engine.connections[0]?.open();
  await settle();
  t.deepEqual(record.calls, [['connected']]);
  controller.abort();
});

test('die and destroy events become deaths, with exit code and OOM, across split chunks', async (t) => {
  const { engine, record, controller } = start();
  const stream = engine.connections[0]?.open();
  await settle();
  const die = event('die', 'aaa', { exitCode: '137' });
  // One event split in the middle, including inside a multi-byte character of another event's name.
  stream?.write(die.slice(0, 40));
  stream?.write(die.slice(40));
  const multibyte = Buffer.from(event('die', 'bbb', { exitCode: '0', note: 'héllo' }));
  const cut = multibyte.indexOf(Buffer.from('é')) + 1;
  stream?.write(multibyte.subarray(0, cut));
  stream?.write(multibyte.subarray(cut));
  stream?.write(event('oom', 'ccc') + event('die', 'ccc', { exitCode: '137' }) + event('destroy', 'ddd'));
  stream?.write('not json at all\n');
  stream?.write(event('die', 'eee'));
  // A SIGKILL whose `oom` event has not come (a loaded engine may send the die first): the engine is asked.
  stream?.write(event('die', 'oom-fff', { exitCode: '137' }));
  await settle();
  // An unexplained 137 is reported after its inspect, so the order is by id here.
  t.deepEqual(
    record.deaths().sort((a, b) => a.id.localeCompare(b.id)),
    [
      { id: 'aaa', reason: 'died', exitCode: 137, oomKilled: false },
      { id: 'bbb', reason: 'died', exitCode: 0, oomKilled: false },
      { id: 'ccc', reason: 'died', exitCode: 137, oomKilled: true },
      { id: 'ddd', reason: 'removed', oomKilled: false },
      { id: 'eee', reason: 'died', oomKilled: false },
      { id: 'oom-fff', reason: 'died', exitCode: 137, oomKilled: true },
    ],
  );
  controller.abort();
});

test("another pool's events, non-container events and an oom alone are not deaths", async (t) => {
  const { clock, engine, record, controller } = start();
  const stream = engine.connections[0]?.open();
  await settle();
  stream?.write(event('die', 'other', { exitCode: '1' }, 'another-pool'));
  stream?.write(`${JSON.stringify({ Type: 'network', Action: 'destroy', Actor: { ID: 'net', Attributes: { 'warmpool.pool': poolId } } })}\n`);
  stream?.write(event('oom', 'survivor'));
  stream?.write(event('kill', 'survivor', { signal: '15' }));
  await settle();
  t.deepEqual(record.deaths(), []);
  // An oom is remembered only for a while: a die much later was not that OOM kill.
  clock.advance(60_000);
  stream?.write(event('oom', 'late') + event('die', 'survivor', { exitCode: '0' }));
  await settle();
  t.deepEqual(record.deaths(), [{ id: 'survivor', reason: 'died', exitCode: 0, oomKilled: false }]);
  controller.abort();
});

test('a stream that ends is reported once and reopened with growing, capped backoff', async (t) => {
  const { clock, engine, record, controller } = start();
  engine.connections[0]?.open().end();
  await settle();
  t.is(record.calls.length, 2);
  t.deepEqual(record.calls[0], ['connected']);
  t.is(record.calls[1]?.[0], 'disconnected');
  t.regex(String((record.calls[1]?.[1] as Error | undefined)?.message), /closed its event stream/);

  // random 0: the delays are 125, 250, 500 ms ... (half of 250 * 2^n), capped at 15 s (half of 30 s).
  await clock.tick(124);
  t.is(engine.connections.length, 1);
  await clock.tick(1);
  t.is(engine.connections.length, 2, 'reconnected after the first backoff step');
  engine.connections[1]?.refuse();
  await settle();
  await clock.tick(249);
  t.is(engine.connections.length, 2);
  await clock.tick(1);
  t.is(engine.connections.length, 3);
  t.is(record.calls.length, 2, 'failed reconnects are not reported one by one');
  for (let failed = 3; failed < 12; failed++) {
    engine.connections[failed - 1]?.refuse();
    await settle();
    await clock.tick(15_000);
  }
  t.is(engine.connections.length, 12, 'the delay never exceeds the cap');

  engine.connections[11]?.open();
  await settle();
  t.deepEqual(record.calls.at(-1), ['connected'], 'connected again after the outage');
  t.is(record.calls.filter((call) => call[0] === 'connected').length, 2);
  controller.abort();
});

test('a stream error is a disconnect with that error; deaths after the reconnect are reported', async (t) => {
  const { clock, engine, record, controller } = start();
  const first = engine.connections[0]?.open();
  await settle();
  const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
  first?.destroy(reset);
  await settle();
  t.deepEqual(record.calls.at(-1), ['disconnected', reset]);
  await clock.tick(125);
  const second = engine.connections[1]?.open();
  await settle();
  second?.write(event('die', 'after', { exitCode: '2' }));
  await settle();
  t.deepEqual(record.deaths(), [{ id: 'after', reason: 'died', exitCode: 2, oomKilled: false }]);
  controller.abort();
});

test('an engine that never answers the request is given up on and asked again', async (t) => {
  const { clock, engine, record, controller } = start();
  await clock.tick(watchConnectTimeoutMs - 1);
  t.deepEqual(record.calls, []);
  await clock.tick(1);
  t.true(engine.connections[0]?.options.abortSignal?.aborted, 'the hanging request was cancelled');
  t.is(record.calls[0]?.[0], 'disconnected');
  await clock.tick(125);
  t.is(engine.connections.length, 2);
  controller.abort();
});

test('aborting stops everything: the stream, the request, the timers, and no handler runs after', async (t) => {
  // While connected.
  const connected = start();
  const stream = connected.engine.connections[0]?.open();
  await settle();
  connected.controller.abort();
  await settle();
  t.true(stream?.destroyed);
  stream?.write?.(event('die', 'late'));
  t.deepEqual(connected.record.calls, [['connected']], 'no disconnected, no died after the abort');
  t.is(connected.clock.pendingTimers, 0);

  // While waiting to reconnect.
  const waiting = start();
  waiting.engine.connections[0]?.refuse();
  await settle();
  t.is(waiting.clock.pendingTimers, 1);
  waiting.controller.abort();
  t.is(waiting.clock.pendingTimers, 0);
  await waiting.clock.tick(60_000);
  t.is(waiting.engine.connections.length, 1, 'no reconnect after the abort');

  // While the request is in flight: the request is cancelled.
  const connecting = start();
  connecting.controller.abort();
  await settle();
  t.true(connecting.engine.connections[0]?.options.abortSignal?.aborted);
  t.deepEqual(connecting.record.calls, []);
  t.is(connecting.clock.pendingTimers, 0);

  // Already aborted: nothing is asked.
  const engine = fakeEngine();
  watchDockerDeaths({ docker: engine.docker, poolId, clock: new FakeClock() }, recorder().handlers, AbortSignal.abort());
  t.is(engine.connections.length, 0);
});

test('a handler that throws does not stop the watch', async (t) => {
  const clock = new FakeClock();
  const engine = fakeEngine();
  const controller = new AbortController();
  const seen: string[] = [];
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    const handlers = {
      died: (death: ContainerDeath) => {
        seen.push(death.id);
        throw new Error(`handler bug on ${death.id}`);
      },
      connected: () => undefined,
      disconnected: () => undefined,
    };
    watchDockerDeaths({ docker: engine.docker, poolId, clock }, handlers, controller.signal);
    const stream = engine.connections[0]?.open();
    await settle();
    stream?.write(event('die', 'one') + event('die', 'two'));
    await settle();
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(seen, ['one', 'two']);
    t.true(warnings.some((message) => message.includes('handler bug on one')));
  } finally {
    process.off('warning', onWarning);
    controller.abort();
  }
});
