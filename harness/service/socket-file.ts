import { lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { createConnection, type Server } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { InvalidOptionError } from '../../lib/errors.js';
import { ServiceRunningError } from './service-errors.js';

/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
const maxSocketPathBytes = 107;

/**
 * Where a pool's service listens unless told otherwise: `$XDG_RUNTIME_DIR/warmpool/<poolId>.sock` (a
 * per-user directory the system already keeps private), else `/tmp/warmpool-<uid>/<poolId>.sock`. Server and
 * clients compute the same path from the same pool id and environment.
 */
export function defaultSocketPath(poolId: string, env: NodeJS.ProcessEnv = process.env, uid = currentUid()): string {
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  const dir = runtimeDir && isAbsolute(runtimeDir) ? join(runtimeDir, 'warmpool') : `/tmp/warmpool-${uid}`;
  return join(dir, `${poolId}.sock`);
}

/** Whether `path` lies in the directory `defaultSocketPath` picks, which must then be private to us. */
function isDefaultDirectory(dir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return dirname(defaultSocketPath('x', env)) === dir;
}

function currentUid(): number {
  return process.getuid?.() ?? 0;
}

export function validateSocketPath(path: unknown, option = 'socket'): string {
  if (typeof path !== 'string' || !isAbsolute(path) || path.endsWith('/') || path.includes('\0')) {
    throw new InvalidOptionError(option, path, 'an absolute path for a unix socket');
  }
  if (Buffer.byteLength(path) > maxSocketPathBytes) {
    throw new InvalidOptionError(option, path, `a path of at most ${maxSocketPathBytes} bytes (the unix socket limit)`);
  }
  return path;
}

export type SocketState = 'missing' | 'stale' | 'live';

/**
 * What is at `path`: nothing, a socket nobody listens on (a crashed service's), or a live listener. Anything
 * else there (a regular file, a directory) is refused: it is not ours to delete.
 */
export async function probeSocket(path: string, timeoutMs = 2000): Promise<SocketState> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (!info.isSocket()) {
    throw new InvalidOptionError('socket', path, 'a path that is free or holds a unix socket (something else is there)');
  }
  return new Promise<SocketState>((resolve, reject) => {
    const probe = createConnection(path);
    const finish = (state: SocketState | Error): void => {
      clearTimeout(timer);
      probe.destroy();
      if (state instanceof Error) reject(state);
      else resolve(state);
    };
    // A listener too busy to accept within the timeout is still a listener.
    const timer = setTimeout(() => finish('live'), timeoutMs);
    probe.once('connect', () => finish('live'));
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish('stale');
      else if (error.code === 'ENOENT') finish('missing');
      else finish(error);
    });
  });
}

/**
 * Creates the socket's directory if needed (mode 0700). The default directory must be a real directory,
 * owned by us and closed to everyone else, since it sits in a shared place like /tmp and someone else may have
 * made it first; a directory the user names is the user's choice.
 */
export async function prepareDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!isDefaultDirectory(dir)) return;
  const info = await lstat(dir);
  const uid = currentUid();
  if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o077) !== 0) {
    throw new InvalidOptionError(
      'socket',
      join(dir, '…'),
      `a path in a directory that is yours alone (${dir} must be a directory owned by uid ${uid} with mode 0700)`,
    );
  }
}

/** A socket file this process bound. `remove` deletes it only if it is still the same file. */
export class SocketFile {
  constructor(
    readonly path: string,
    readonly inode: number,
  ) {}

  async remove(): Promise<void> {
    try {
      if ((await stat(this.path)).ino !== this.inode) return;
      await unlink(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/**
 * Binds `server` to `path` with mode 0600 from the first instant: the umask is narrowed around the bind
 * (Node binds synchronously inside listen()), so there is no window in which the socket is wider. A stale
 * socket is replaced; a live one makes this throw ServiceRunningError.
 */
export async function listenOnSocket(server: Server, path: string): Promise<SocketFile> {
  validateSocketPath(path);
  await prepareDirectory(dirname(path));
  const state = await probeSocket(path);
  if (state === 'live') throw new ServiceRunningError(path);
  if (state === 'stale') await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      // Another service bound the path between our probe and our bind.
      reject(error.code === 'EADDRINUSE' ? new ServiceRunningError(path) : error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    const previous = process.umask(0o177);
    try {
      server.listen(path);
    } finally {
      process.umask(previous);
    }
  });
  const info = await stat(path);
  if ((info.mode & 0o777) !== 0o600) {
    // Not expected on Linux; refuse rather than serve on a socket others can use.
    server.close();
    throw new InvalidOptionError('socket', path, `a socket created with mode 0600 (it has ${(info.mode & 0o777).toString(8)})`);
  }
  return new SocketFile(path, info.ino);
}
