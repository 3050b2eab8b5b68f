import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerState } from '../../container.js';
import { EngineUnavailableError, errorMessage } from '../../errors.js';
import { tryLxcCommand } from './lxc-commands.js';
import { assertLxcpathAvailable } from './lxc-path.js';

/** lxc-info asks the container's monitor process over its command socket; a hung one must not hang us. */
const lxcInfoTimeoutMs = 10_000;

/**
 * The state of one container: one `lxc-info -s -p` (a few milliseconds) and, for a running one, a look at its
 * init process in /proc. Never a guess: when the answer is unclear the call rejects.
 *
 * - `gone`: its config has left the lxcpath (lxc-destroy). lxc-info cannot tell a missing container from a
 *   stopped one, so the directory is looked at first, and again if lxc-info fails (a destroy in between).
 * - `stopped`: STOPPED, and also STARTING, STOPPING and ABORTING: a pooled container was RUNNING when it was
 *   handed in, so any of these means it stopped (or is rebooting) and cannot take commands now.
 * - `running`: RUNNING, or frozen (FREEZING, FROZEN, THAWED: its processes are paused, not dead), with an init
 *   that is alive. The init check closes a window lxc-info leaves open: after `kill -9` of the init, LXC's
 *   monitor process reports RUNNING until it has reaped the init; in between the init is a zombie (or already
 *   gone), which /proc shows at once. Its pid cannot be reused before LXC reaps it.
 *
 * @throws EngineUnavailableError when the lxcpath cannot be read, lxc-info fails or does not answer in 10 s
 *   for a container that is still defined, or answers something that is not a state
 */
export async function lxcContainerState(lxcpath: string, name: string): Promise<ContainerState> {
  if (!(await isDefined(lxcpath, name))) return 'gone';
  const args = ['-P', lxcpath, '-n', name, '-s', '-p'];
  let result: Awaited<ReturnType<typeof tryLxcCommand>>;
  try {
    result = await tryLxcCommand('lxc-info', args, { timeoutMs: lxcInfoTimeoutMs });
  } catch (error) {
    throw new EngineUnavailableError(`Asking LXC for the state of ${name} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (result.exitCode !== 0) {
    if (!(await isDefined(lxcpath, name))) return 'gone';
    throw new EngineUnavailableError(
      `lxc-info ${args.join(' ')} exited with code ${String(result.exitCode)}: ${result.stderr.trim()}`,
    );
  }
  const state = /^State:\s*(\S+)\s*$/m.exec(result.stdout)?.[1];
  const pid = /^PID:\s*(\d+)\s*$/m.exec(result.stdout)?.[1];
  switch (state) {
    case 'RUNNING':
    case 'FREEZING':
    case 'FROZEN':
    case 'THAWED':
      return pid !== undefined && !(await isProcessLive(Number(pid))) ? 'stopped' : 'running';
    case 'STOPPED':
    case 'STARTING':
    case 'STOPPING':
    case 'ABORTING':
      return 'stopped';
    default:
      throw new EngineUnavailableError(
        `lxc-info ${args.join(' ')} gave no state LXC defines: ${JSON.stringify(result.stdout.trim())}`,
      );
  }
}

async function isDefined(lxcpath: string, name: string): Promise<boolean> {
  try {
    await access(join(lxcpath, name, 'config'));
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new EngineUnavailableError(`Looking for ${name} in ${lxcpath} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    await assertLxcpathAvailable(lxcpath);
    return false;
  }
}

/** False for a pid that is gone or a zombie; true otherwise, including when /proc cannot say. */
async function isProcessLive(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  // The command name in parentheses may itself hold spaces and parentheses; the state follows the last ')'.
  const processState = stat.slice(stat.lastIndexOf(')') + 1).trim().charAt(0);
  return processState !== 'Z' && processState !== 'X';
}
