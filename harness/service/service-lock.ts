import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import { ServiceRunningError } from './service-errors.js';
import { prepareDirectory } from './socket-file.js';

/** Where the lock of the service on `socketPath` lives: beside the socket. */
export function lockPathOf(socketPath: string): string {
  return `${socketPath}.lock`;
}

/** flock(1)'s exit code when another process holds the lock (we ask for this one). */
const conflictExitCode = 75;
/** A lock file replaced between our open and our lock (a service shutting down just then) is tried again. */
const maxAttempts = 5;

/**
 * One service per socket, for the service's whole life: an exclusive flock(2) on `<socket>.lock`, with the
 * holder's pid written inside for the message a second service prints.
 *
 * Why flock and not a pid file made with O_CREAT|O_EXCL: taking over a pid file whose owner died needs "remove
 * it if it is still the stale one", which POSIX cannot do atomically, so two starters that both see the same
 * dead pid can both end up running. A flock is held by the kernel on an open file and dropped when the
 * process dies however it dies (SIGKILL included), so a lock is never stale and exactly one of any number of
 * starters gets it. Node has no flock call; util-linux's flock(1) locks an inherited descriptor, and a flock
 * belongs to the open file description, which this process keeps open after the helper exits. Node opens
 * files close-on-exec, so no later child (an lxc-start that outlives us) inherits the lock.
 */
export class ServiceLock {
  readonly path: string;
  readonly #fd: number;
  readonly #inode: number;
  #released = false;

  private constructor(path: string, fd: number, inode: number) {
    this.path = path;
    this.#fd = fd;
    this.#inode = inode;
  }

  /**
   * Takes the lock of the service on `socketPath` (creating its directory as the socket would be).
   * @throws ServiceRunningError when another process holds it.
   */
  static async acquire(socketPath: string): Promise<ServiceLock> {
    const path = lockPathOf(socketPath);
    await prepareDirectory(dirname(path));
    for (let attempt = 1; ; attempt++) {
      const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
      let keep = false;
      try {
        if (!(await flockNonBlocking(fd, path))) throw new ServiceRunningError(socketPath, await readHolderPid(path));
        const inode = fstatSync(fd).ino;
        // A service that was shutting down may have removed the file between our open and our lock: then we
        // hold a lock on a file nobody else can see, and must lock the one at `path` instead.
        if (currentInode(path) !== inode) {
          if (attempt >= maxAttempts) throw new Error(`The lock file ${path} keeps being replaced; is another service starting and stopping?`);
          continue;
        }
        ftruncateSync(fd, 0);
        writeSync(fd, `${process.pid}\n`, 0);
        keep = true;
        return new ServiceLock(path, fd, inode);
      } finally {
        // Closing the descriptor drops the lock if we took it, and frees the descriptor either way.
        if (!keep) closeSync(fd);
      }
    }
  }

  /** Removes the lock file (if it is still ours) and drops the lock. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      if (currentInode(this.path) === this.#inode) unlinkSync(this.path);
    } finally {
      closeSync(this.#fd);
    }
  }
}

function currentInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The pid the holder wrote into the lock file, for the refusal's message. A holder that has just taken the lock
 * writes it a moment later, so an empty file is read again a few times (a refusal can wait half a second).
 */
async function readHolderPid(path: string): Promise<number | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    const pid = Number(text.trim());
    if (text.endsWith('\n') && Number.isSafeInteger(pid) && pid > 0) return pid;
    await sleep(50);
  }
  return undefined;
}

/** flock(LOCK_EX | LOCK_NB) on `fd`, through flock(1) run on it as its descriptor 3. */
async function flockNonBlocking(fd: number, path: string): Promise<boolean> {
  const child = spawn('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(conflictExitCode), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code, error] = await Promise.race([
    once(child, 'exit').then(([exitCode]) => [exitCode as number | null, undefined] as const),
    once(child, 'error').then(([spawnError]) => [null, spawnError as Error] as const),
  ]);
  if (code === 0) return true;
  if (code === conflictExitCode) return false;
  const reason = error ? errorMessage(error) : `exit code ${code}${stderr ? `: ${stderr.trim()}` : ''}`;
  throw new Error(`Cannot lock ${path} with flock(1) (util-linux): ${reason}`);
}
