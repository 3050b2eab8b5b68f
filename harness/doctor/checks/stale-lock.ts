import { lstat, readFile } from 'node:fs/promises';
import { isProcessAlive } from '../../../lib/backends/owner.js';
import { lockPathOf } from '../../service/service-lock.js';
import { fail, pass, warn, type DoctorCheck } from '../check.js';
import { isFlockHeld } from '../flock-held.js';

/**
 * The service's lock file (`<socket>.lock`): held by a running service, absent, or left by a service that died.
 * A left lock is harmless (a flock dies with its process, and the next serve takes the file over), so it is a
 * warning: it says a service of this socket ended without cleaning up.
 */
export const staleLockCheck: DoctorCheck = {
  id: 'lock',
  async run({ socketPath }) {
    const path = lockPathOf(socketPath);
    try {
      if (!(await lstat(path)).isFile()) return fail(`${path} is not a regular file; serve cannot lock it`, `move it away`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return pass(`no lock file ${path}: no service holds this socket`);
      throw error;
    }
    const pid = await holderPid(path);
    const holder = pid === undefined ? 'no pid recorded' : `pid ${pid}`;
    // /proc/locks says whether the lock is held; without it, the recorded pid's liveness is the best guess.
    const held = (await isFlockHeld(path)) ?? (pid !== undefined && isProcessAlive(pid));
    if (held) return pass(`${path} is held by a running service (${holder})`);
    return warn(`${path} is a stale lock file: nobody holds it (${holder}${pid !== undefined && !isProcessAlive(pid) ? ', gone' : ''}); its service ended without cleaning up`, `nothing is needed (the next serve takes it over); rm ${path} to tidy up`);
  },
};

async function holderPid(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
