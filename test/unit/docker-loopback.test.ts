import test from 'ava';
import type Dockerode from 'dockerode';
import { PassThrough, type Writable } from 'node:stream';
import { agentHostsFailedLine, agentReadyLine } from '../../lib/backends/docker/docker-agent.js';
import { isLoopbackOnly, runsAsRoot, startLoopbackContainer } from '../../lib/backends/docker/docker-loopback.js';
import { BackendError, ContainerNotReadyError } from '../../lib/errors.js';

// startLoopbackContainer against an engine whose container says what each test needs. The real engine is in
// test/integration/docker-loopback.test.ts; this covers what a real container cannot be made to do on demand
// (fail to write /etc/hosts, say nothing, print something else).

interface FakeContainer {
  readonly engine: Dockerode;
  /** The attach stream, once attached: ended or destroyed when startLoopbackContainer is done with it. */
  stream: PassThrough | undefined;
  started: boolean;
}

/** A container that, once started, prints `lines` on stdout and then ends its output when `end` says so. */
function fakeContainer({ lines = [], end = false, attach, start }: { lines?: string[]; end?: boolean; attach?: () => Promise<never>; start?: () => Promise<never> } = {}): FakeContainer {
  const fake: FakeContainer = { engine: undefined as unknown as Dockerode, stream: undefined, started: false };
  const handle = {
    attach:
      attach ??
      (() => {
        fake.stream = new PassThrough();
        return Promise.resolve(fake.stream);
      }),
    start:
      start ??
      (() => {
        fake.started = true;
        setImmediate(() => {
          for (const line of lines) fake.stream?.write(`${line}\n`);
          if (end) fake.stream?.end();
        });
        return Promise.resolve();
      }),
  };
  // No multiplexing in the fake: the stream is stdout.
  const modem = { demuxStream: (stream: PassThrough, stdout: Writable) => stream.pipe(stdout) };
  (fake as { engine: Dockerode }).engine = { modem, getContainer: () => handle } as unknown as Dockerode;
  return fake;
}

const container = { id: 'c0ffee', name: 'warmpool-x' };
const options = (timeoutMs = 5_000, signal = new AbortController().signal) => ({ timeoutMs, signal });

test('the ready line makes the container ready; the attach is closed after it', async (t) => {
  const fake = fakeContainer({ lines: [agentReadyLine] });
  t.is(await startLoopbackContainer(fake.engine, container, options()), 'ready');
  t.true(fake.started);
  t.true(fake.stream?.destroyed, 'the attach stream does not outlive the start');
});

test('output that ends before any line means the container stopped, for the caller to ask the engine why', async (t) => {
  const fake = fakeContainer({ end: true });
  t.is(await startLoopbackContainer(fake.engine, container, options()), 'stopped');
});

test('an agent that could not write /etc/hosts, or that printed something else, fails the start with ContainerNotReadyError', async (t) => {
  await t.throwsAsync(startLoopbackContainer(fakeContainer({ lines: [agentHostsFailedLine], end: true }).engine, container, options()), {
    instanceOf: ContainerNotReadyError,
    message: 'Container warmpool-x: its agent could not write /etc/hosts',
  });
  await t.throwsAsync(startLoopbackContainer(fakeContainer({ lines: ['sh: oops'] }).engine, container, options()), {
    instanceOf: ContainerNotReadyError,
    message: /its agent printed "sh: oops" instead of its ready line/,
  });
  await t.throwsAsync(startLoopbackContainer(fakeContainer({ lines: ['closed'] }).engine, container, options()), {
    instanceOf: ContainerNotReadyError,
    message: /its agent printed "closed" instead of its ready line/,
  }, 'output that spells one of the outcomes is still output');
});

test('an agent that says nothing fails at the readiness deadline; an abort rejects with its reason', async (t) => {
  const silent = fakeContainer();
  await t.throwsAsync(startLoopbackContainer(silent.engine, container, options(50)), {
    instanceOf: ContainerNotReadyError,
    message: /did not say it was ready within 50 ms/,
  });
  t.true(silent.stream?.destroyed);

  const controller = new AbortController();
  const reason = new Error('creation deadline');
  setTimeout(() => controller.abort(reason), 20);
  await t.throwsAsync(startLoopbackContainer(fakeContainer().engine, container, options(Infinity, controller.signal)), { is: reason });
});

test('an attach or a start the engine refuses is a BackendError naming the container', async (t) => {
  const refuse = () => Promise.reject(new Error('(HTTP code 500) server error'));
  await t.throwsAsync(startLoopbackContainer(fakeContainer({ attach: refuse }).engine, container, options()), {
    instanceOf: BackendError,
    message: /Attaching to container warmpool-x before its start failed: .*server error/,
  });
  const noStart = fakeContainer({ start: refuse });
  await t.throwsAsync(startLoopbackContainer(noStart.engine, container, options()), {
    instanceOf: BackendError,
    message: /Starting container warmpool-x failed/,
  });
  t.true(noStart.stream?.destroyed);
});

test('only network mode none, with the agent, in an image that runs as root, is made loopback-only', (t) => {
  t.true(isLoopbackOnly('none', true, ''));
  t.true(isLoopbackOnly('none', true, 'root:root'));
  t.true(isLoopbackOnly('none', true, '0'));
  t.false(isLoopbackOnly('none', false, ''), 'a command of the caller cannot say when the container is prepared');
  t.false(isLoopbackOnly('none', true, '1000'), 'a user who may not write /etc/hosts');
  t.false(isLoopbackOnly('lab-net', true, ''));
  t.false(isLoopbackOnly('host', true, ''));
  t.true(runsAsRoot('0:0'));
  t.false(runsAsRoot('nobody'));
  t.false(runsAsRoot('rootless'));
});
