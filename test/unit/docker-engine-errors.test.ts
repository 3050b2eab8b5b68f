import test from 'ava';
import type Dockerode from 'dockerode';
import { engineAnswers, isEngineDown, isEngineUnreachable, neverReachedEngine } from '../../lib/backends/docker/docker-engine.js';
import { BackendError } from '../../lib/errors.js';

// Errors shaped as dockerode and Node make them, as seen against a dockerd that was stopped under a client
// (ENOENT once it removed its socket, ECONNRESET for the calls in flight, 500s from its last moments).

/** A Node system error, as `net` reports a failed connect or a broken connection. */
function systemError(message: string, code: string, syscall?: string): Error {
  return Object.assign(new Error(message), { code, errno: -1, ...(syscall === undefined ? {} : { syscall }) });
}

/** An error as docker-modem builds it from an engine's HTTP answer. */
function engineAnswer(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message} `), {
    statusCode,
    reason: 'server error',
    json: { message },
  });
}

const unreachable: [string, unknown][] = [
  ['the socket file is missing', systemError('connect ENOENT /run/x/docker.sock', 'ENOENT', 'connect')],
  ['nobody listens on the socket', systemError('connect ECONNREFUSED /run/x/docker.sock', 'ECONNREFUSED', 'connect')],
  ['the socket may not be opened', systemError('connect EACCES /run/x/docker.sock', 'EACCES', 'connect')],
  ['the connection was reset mid-call', systemError('read ECONNRESET', 'ECONNRESET', 'read')],
  ['the engine hung up before answering', systemError('socket hang up', 'ECONNRESET')],
  ['a response stream was cut off', systemError('aborted', 'ECONNRESET')],
  ['a write into a closed connection', systemError('write EPIPE', 'EPIPE', 'write')],
  ['the engine says it is unavailable', engineAnswer(503, 'daemon is not ready')],
  ['a 500 while dockerd shuts down', engineAnswer(500, 'the daemon is shutting down')],
  [
    'a 500 because containerd is gone',
    engineAnswer(
      500,
      'connection error: desc = "transport: Error while dialing dial unix /run/containerd/containerd.sock: connect: connection refused"',
    ),
  ],
  ['a 500 from a closing gRPC connection', engineAnswer(500, 'rpc error: code = Unavailable desc = transport is closing')],
  [
    'a BackendError around a refused connect',
    new BackendError('docker exec failed', { cause: systemError('connect ECONNREFUSED /s', 'ECONNREFUSED', 'connect') }),
  ],
  [
    'two wrappers deep',
    new BackendError('outer', { cause: new Error('middle', { cause: systemError('read ECONNRESET', 'ECONNRESET', 'read') }) }),
  ],
];

const notUnreachable: [string, unknown][] = [
  ['a missing container', engineAnswer(404, 'No such container: abc')],
  ['a container that is not running', engineAnswer(409, 'Container abc is not running')],
  ['a removal already in progress', engineAnswer(409, 'removal of container abc is already in progress')],
  ['a bad request', engineAnswer(400, 'invalid reference format')],
  ['a command the runtime cannot start', engineAnswer(500, 'OCI runtime create failed: exec: "nope": executable file not found in $PATH')],
  ['a registry that refuses (the image, not the engine)', engineAnswer(500, 'Get "https://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused')],
  ['an ENOENT that is not a connect', systemError("ENOENT: no such file or directory, open '/x'", 'ENOENT', 'open')],
  ['a plain error', new Error('something else')],
  ['a string', 'ECONNREFUSED'],
  ['undefined', undefined],
  ['null', null],
];

for (const [what, error] of unreachable) {
  test(`unreachable: ${what}`, (t) => {
    t.true(isEngineUnreachable(error));
  });
}

for (const [what, error] of notUnreachable) {
  test(`not unreachable: ${what}`, (t) => {
    t.false(isEngineUnreachable(error));
  });
}

test('a cause chain that loops does not hang', (t) => {
  const looping = new Error('loop') as Error & { cause?: unknown };
  looping.cause = looping;
  t.false(isEngineUnreachable(looping));
});

/** A dockerode whose ping answers, fails or hangs, counting the pings. */
function pinging(behaviour: 'answers' | 'refuses' | 'hangs') {
  let pings = 0;
  const docker = {
    ping(options?: { abortSignal?: AbortSignal }): Promise<unknown> {
      pings++;
      if (behaviour === 'answers') return Promise.resolve('OK');
      if (behaviour === 'refuses') return Promise.reject(systemError('connect ENOENT /s', 'ENOENT', 'connect'));
      return new Promise((_resolve, reject) => {
        options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    },
  } as unknown as Dockerode;
  return { docker, pings: () => pings };
}

test('isEngineDown: a 500 from an engine that no longer answers a ping is an outage', async (t) => {
  const shuttingDown = engineAnswer(500, 'failed to update store for object type *libnetwork.endpoint: open : no such file or directory');
  const gone = pinging('refuses');
  t.true(await isEngineDown(gone.docker, shuttingDown));
  t.is(gone.pings(), 1);
  const up = pinging('answers');
  t.false(await isEngineDown(up.docker, shuttingDown), 'the same 500 from an engine that answers is about the request');
  t.true(await isEngineDown(pinging('hangs').docker, new BackendError('wrapped', { cause: shuttingDown }), 50));
});

test('isEngineDown pings only for server errors', async (t) => {
  const up = pinging('refuses');
  t.false(await isEngineDown(up.docker, engineAnswer(404, 'No such container')));
  t.false(await isEngineDown(up.docker, new Error('plain')));
  t.true(await isEngineDown(up.docker, systemError('connect ECONNREFUSED /s', 'ECONNREFUSED', 'connect')));
  t.is(up.pings(), 0, 'a 4xx is an answer, and a refused connect needs no ping');
});

test('engineAnswers: an engine that hangs counts as not answering', async (t) => {
  t.true(await engineAnswers(pinging('answers').docker));
  t.false(await engineAnswers(pinging('refuses').docker));
  t.false(await engineAnswers(pinging('hangs').docker, 50));
});

test('neverReachedEngine: only a failed connect proves the engine did nothing', (t) => {
  t.true(neverReachedEngine(systemError('connect ENOENT /s', 'ENOENT', 'connect')));
  t.true(neverReachedEngine(systemError('connect ECONNREFUSED /s', 'ECONNREFUSED', 'connect')));
  t.false(neverReachedEngine(systemError('read ECONNRESET', 'ECONNRESET', 'read')), 'the request may have been served');
  t.false(neverReachedEngine(systemError('write EPIPE', 'EPIPE', 'write')));
  t.false(neverReachedEngine(engineAnswer(500, 'failed to update store')));
  t.false(neverReachedEngine(undefined));
});
