import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../../lib/errors.js';
import { ServiceRunningError } from '../../harness/service/service-errors.js';
import { defaultSocketPath, listenOnSocket, probeSocket, validateSocketPath } from '../../harness/service/socket-file.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'wp-sock-'));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A socket file whose listener died without cleaning up: bound in a child that is then SIGKILLed. */
function makeStaleSocket(path: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}); process.kill(process.pid, 'SIGKILL');`;
  spawnSync(process.execPath, ['-e', script]);
}

test('the default path is under XDG_RUNTIME_DIR, else a per-uid directory in /tmp', (t) => {
  t.is(defaultSocketPath('lab', { XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/warmpool/lab.sock');
  t.is(defaultSocketPath('lab', {}, 1000), '/tmp/warmpool-1000/lab.sock');
  t.is(defaultSocketPath('lab', { XDG_RUNTIME_DIR: 'relative' }, 7), '/tmp/warmpool-7/lab.sock');
});

test('socket paths must be absolute and fit the unix limit', (t) => {
  t.is(validateSocketPath('/tmp/a.sock'), '/tmp/a.sock');
  for (const bad of ['a.sock', '', '/tmp/dir/', `/tmp/${'x'.repeat(120)}.sock`, 42]) {
    t.throws(() => validateSocketPath(bad), { instanceOf: InvalidOptionError });
  }
});

test('listenOnSocket creates the socket with mode 0600 and its missing directory with 0700', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'sub', 'pool.sock');
  const server = createServer();
  const file = await listenOnSocket(server, path);
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(join(dir, 'sub'))).mode & 0o777, 0o700);
  t.is(await probeSocket(path), 'live');
  await close(server);
  await file.remove();
  t.is(await probeSocket(path), 'missing');
  await rm(dir, { recursive: true, force: true });
});

test('a stale socket is replaced', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'pool.sock');
  makeStaleSocket(path);
  t.true((await lstat(path)).isSocket());
  t.is(await probeSocket(path), 'stale');
  const server = createServer();
  await listenOnSocket(server, path);
  t.is(await probeSocket(path), 'live');
  await close(server);
  await rm(dir, { recursive: true, force: true });
});

test('a live socket is refused and left alone', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'pool.sock');
  const owner = createServer();
  await new Promise<void>((resolve) => owner.listen(path, resolve));
  const inode = (await stat(path)).ino;
  const error = await t.throwsAsync(listenOnSocket(createServer(), path), { instanceOf: ServiceRunningError });
  t.is(error?.code, 'ERR_WARMPOOL_SERVICE_RUNNING');
  t.is((await stat(path)).ino, inode);
  t.is(await probeSocket(path), 'live');
  await close(owner);
  await rm(dir, { recursive: true, force: true });
});

test('something that is not a socket is never deleted', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'pool.sock');
  await writeFile(path, 'precious');
  await t.throwsAsync(listenOnSocket(createServer(), path), { instanceOf: InvalidOptionError });
  t.true((await lstat(path)).isFile());
  await rm(dir, { recursive: true, force: true });
});

test.serial('the default directory must be private: a group- or world-accessible one is refused', async (t) => {
  const runtime = await tempDir();
  const saved = process.env['XDG_RUNTIME_DIR'];
  process.env['XDG_RUNTIME_DIR'] = runtime;
  try {
    await mkdir(join(runtime, 'warmpool'), { mode: 0o755 });
    await chmod(join(runtime, 'warmpool'), 0o755);
    const path = defaultSocketPath('lab');
    t.is(path, join(runtime, 'warmpool', 'lab.sock'));
    await t.throwsAsync(listenOnSocket(createServer(), path), { instanceOf: InvalidOptionError, message: /yours alone/ });
    await chmod(join(runtime, 'warmpool'), 0o700);
    const server = createServer();
    await listenOnSocket(server, path);
    await close(server);
  } finally {
    if (saved === undefined) delete process.env['XDG_RUNTIME_DIR'];
    else process.env['XDG_RUNTIME_DIR'] = saved;
    await rm(runtime, { recursive: true, force: true });
  }
});

test('SocketFile.remove leaves a socket that another process bound since', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'pool.sock');
  const first = createServer();
  const file = await listenOnSocket(first, path);
  // Simulate a successor: our file gone, a new one in its place.
  await rm(path);
  const second = createServer();
  await listenOnSocket(second, path);
  await file.remove();
  t.is(await probeSocket(path), 'live');
  await close(first);
  await close(second);
  await rm(dir, { recursive: true, force: true });
});
