import test from 'ava';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { lstatSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killSpawned, spawnTsx } from '../../fixtures/service/child-processes.js';
import { eventually } from '../../fixtures/service/raw-client.js';
import { cli } from '../../fixtures/service/serve-child.js';
import { BackendError } from '../../lib/errors.js';
import { runService } from '../../harness/service/run-service.js';
import { labConfigFromServiceConfig } from '../../harness/config/one-kind-config.js';
import { parseServeArgs } from '../../harness/service/service-config.js';
import { ServiceRunningError } from '../../harness/service/service-errors.js';
import { ServiceLock } from '../../harness/service/service-lock.js';
import { systemdNotifier, type ServiceNotifier } from '../../harness/service/systemd-notify.js';

// `warmpool serve` tells systemd READY=1 only once its socket listens and its pool has started, and STOPPING=1
// when a signal stops it. Node cannot receive the unix datagrams systemd-notify sends, and socat may be missing,
// so the order is tested through the injectable notifier (in process), and serve's use of systemd-notify through
// a stand-in systemd-notify on the PATH that records its arguments (as a child process). The engine is a fake
// Docker API on a unix socket: it answers the reaper's and the pool's listings and refuses every creation.

test.after.always(killSpawned);

interface FakeEngine {
  readonly socketPath: string;
  /** `METHOD /path?query` of every request, in arrival order. */
  readonly requests: string[];
  close(): Promise<void>;
}

async function startFakeDockerEngine(dir: string): Promise<FakeEngine> {
  const socketPath = join(dir, 'docker.sock');
  const requests: string[] = [];
  const json = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '';
    requests.push(`${request.method} ${url}`);
    const path = url.split('?')[0] ?? '';
    if (path === '/_ping') response.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    else if (path === '/containers/json') json(response, 200, []);
    else if (/^\/images\/.+\/json$/.test(path)) json(response, 200, { Id: 'sha256:fake', Size: 1 });
    else if (path === '/containers/create') json(response, 500, { message: 'the fake engine makes no containers' });
    // The pool's watch: an event stream that stays open and quiet.
    else if (path === '/events') response.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    else json(response, 404, { message: `not faked: ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Setup {
  readonly dir: string;
  readonly engine: FakeEngine;
  readonly socket: string;
  readonly serveArgs: string[];
}

let poolCounter = 0;

async function setup(t: { teardown(fn: () => Promise<void>): void }): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-ready-'));
  const engine = await startFakeDockerEngine(dir);
  t.teardown(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });
  const socket = join(dir, 'pool.sock');
  const poolId = `ready-${process.pid}-${poolCounter++}`;
  const serveArgs = ['--backend', 'docker', '--docker-socket', engine.socketPath, '--docker-image', 'fake/image:1', '--pool-id', poolId];
  serveArgs.push('--socket', socket, '--size', '1', '--workers', '1', '--log-level', 'silent', '--shutdown-timeout-ms', '1000');
  return { dir, engine, socket, serveArgs };
}

/** A notifier that records, at the instant each call is made, what a client could see of the service. */
function recordingNotifier(socket: string, engine: FakeEngine): { notifier: ServiceNotifier; calls: string[] } {
  const calls: string[] = [];
  const socketListens = (): boolean => {
    try {
      return lstatSync(socket).isSocket();
    } catch {
      return false;
    }
  };
  const reaped = (): boolean => engine.requests.some((request) => request.startsWith('GET /containers/json') && request.includes('all=true'));
  return {
    calls,
    notifier: {
      ready: (status) => {
        calls.push(`ready socket=${socketListens()} reaped=${reaped()} status=${status}`);
        return Promise.resolve();
      },
      stopping: () => {
        calls.push('stopping');
        return Promise.resolve();
      },
    },
  };
}

test('ready is told once, after the socket listens and the pool has started; stopping when the signal stops it', async (t) => {
  const { engine, socket, serveArgs } = await setup(t);
  const { notifier, calls } = recordingNotifier(socket, engine);
  const controller = new AbortController();
  const running = runService(labConfigFromServiceConfig(parseServeArgs(serveArgs)), { signal: controller.signal, notifier });
  await eventually(() => calls.length > 0, 20_000, 'the ready notification');
  t.is(calls.length, 1);
  t.regex(calls[0] ?? '', /^ready socket=true reaped=true status=serving ready-\d+-\d+: default \(docker, 1-1\) on /);
  // The pool it reported as started does create: its first creation reaches the engine.
  await eventually(() => engine.requests.some((request) => request.startsWith('POST /containers/create')), 20_000, 'a creation');
  controller.abort();
  const report = await running;
  t.true(report.clean);
  t.deepEqual(calls.slice(1), ['stopping']);
});

test('no ready when the engine cannot be reached: serve fails before it listens', async (t) => {
  const { engine, socket, serveArgs, dir } = await setup(t);
  const { notifier, calls } = recordingNotifier(socket, engine);
  const args = [...serveArgs, '--docker-socket', join(dir, 'no-engine.sock')];
  await t.throwsAsync(runService(labConfigFromServiceConfig(parseServeArgs(args)), { notifier }), { instanceOf: BackendError });
  t.deepEqual(calls, []);
});

test('no ready when another service holds the socket', async (t) => {
  const { engine, socket, serveArgs } = await setup(t);
  const { notifier, calls } = recordingNotifier(socket, engine);
  const lock = await ServiceLock.acquire(socket);
  t.teardown(() => lock.release());
  await t.throwsAsync(runService(labConfigFromServiceConfig(parseServeArgs(serveArgs)), { notifier }), { instanceOf: ServiceRunningError });
  t.deepEqual(calls, []);
});

test('no ready when the service is stopped before it listens; stopping is told', async (t) => {
  const { engine, socket, serveArgs } = await setup(t);
  const { notifier, calls } = recordingNotifier(socket, engine);
  const report = await runService(labConfigFromServiceConfig(parseServeArgs(serveArgs)), { signal: AbortSignal.abort(), notifier });
  t.true(report.clean);
  t.deepEqual(calls, ['stopping']);
});

/** A stand-in for systemd-notify that appends its arguments, NOTIFY_SOCKET and whether the socket exists to `log`. */
async function fakeSystemdNotify(dir: string, socket: string, log: string, exitCode = 0): Promise<string> {
  const bin = join(dir, `bin-${exitCode}`);
  await mkdir(bin, { recursive: true });
  const script = join(bin, 'systemd-notify');
  await writeFile(
    script,
    `#!/bin/sh\nif [ -S '${socket}' ]; then listening=yes; else listening=no; fi\n` +
      `echo "$* NOTIFY_SOCKET=$NOTIFY_SOCKET listening=$listening" >> '${log}'\nexit ${exitCode}\n`,
  );
  await chmod(script, 0o755);
  return bin;
}

async function readLog(log: string): Promise<string[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '');
}

test('systemdNotifier: nothing without NOTIFY_SOCKET; with it, runs systemd-notify --ready and STOPPING=1', async (t) => {
  const { dir, socket } = await setup(t);
  const log = join(dir, 'notify.log');
  const bin = await fakeSystemdNotify(dir, socket, log);
  t.is(systemdNotifier({ env: {} }), undefined);
  t.is(systemdNotifier({ env: { NOTIFY_SOCKET: '' } }), undefined);
  const notifier = systemdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, command: join(bin, 'systemd-notify') });
  if (notifier === undefined) return t.fail('a notifier when NOTIFY_SOCKET is set');
  await notifier.ready('serving pool x');
  await notifier.stopping();
  t.deepEqual(await readLog(log), [
    '--ready --status=serving pool x NOTIFY_SOCKET=/run/systemd/notify listening=no',
    'STOPPING=1 NOTIFY_SOCKET=/run/systemd/notify listening=no',
  ]);
  const failingBin = await fakeSystemdNotify(dir, socket, log, 1);
  const failing = systemdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, command: join(failingBin, 'systemd-notify') });
  await t.throwsAsync(async () => failing?.ready('x'), undefined, 'a failed notification rejects (serve logs it and goes on)');
});

test('warmpool serve under NOTIFY_SOCKET runs systemd-notify --ready once listening, and STOPPING=1 on SIGTERM; without it, never', async (t) => {
  const { dir, socket, serveArgs } = await setup(t);
  const log = join(dir, 'notify.log');
  const bin = await fakeSystemdNotify(dir, socket, log);
  const path = `${bin}:${process.env['PATH'] ?? ''}`;

  const notified = spawnTsx(cli, ['serve', ...serveArgs], { PATH: path, NOTIFY_SOCKET: join(dir, 'notify') });
  await eventually(async () => (await readLog(log)).length > 0, 30_000, () => `the ready notification; stderr: ${notified.stderr()}`);
  const [ready] = await readLog(log);
  t.regex(ready ?? '', new RegExp(`^--ready --status=serving \\S+: default \\(docker, 1-1\\) on ${socket} NOTIFY_SOCKET=${join(dir, 'notify')} listening=yes$`));
  notified.kill('SIGTERM');
  t.like(await notified.exited, { code: 0 });
  // Sent as the shutdown begins, alongside it: the socket may be gone by the time the helper looks.
  await eventually(async () => (await readLog(log)).length > 1, 10_000, 'the stopping notification');
  const after = (await readLog(log)).slice(1);
  t.is(after.length, 1);
  t.regex(after[0] ?? '', new RegExp(`^STOPPING=1 NOTIFY_SOCKET=${join(dir, 'notify')} listening=(yes|no)$`));

  await rm(log);
  const plain = spawnTsx(cli, ['serve', ...serveArgs], { PATH: path, NOTIFY_SOCKET: undefined });
  await plain.waitFor((event) => event['socket'] === socket, 30_000);
  plain.kill('SIGTERM');
  t.like(await plain.exited, { code: 0 });
  t.deepEqual(await readLog(log), [], 'systemd-notify is not run without NOTIFY_SOCKET');
});
