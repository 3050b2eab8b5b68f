import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../../../lib/errors.js';
import { defaultSocketPath } from '../../service/socket-file.js';
import { fail, pass, warn, type DoctorCheck } from '../check.js';

/**
 * The socket's directory is ours and closed to others (0700). Whoever owns it could replace the socket with one
 * of their own and receive every client's requests. serve refuses the default directory otherwise; a directory
 * given with --socket is the operator's choice, so a wider mode there is only a warning.
 */
export const socketDirectoryCheck: DoctorCheck = {
  id: 'socket-dir',
  async run({ socketPath, uid }) {
    const dir = dirname(socketPath);
    let info;
    try {
      info = await lstat(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return pass(`${dir} does not exist yet; serve creates it with mode 0700`);
      return fail(`${dir} cannot be looked at: ${errorMessage(error)}`, `make ${dirname(dir)} searchable to uid ${uid}, or use --socket in a directory of your own`);
    }
    if (!info.isDirectory()) return fail(`${dir} is not a directory${info.isSymbolicLink() ? ' (a symbolic link)' : ''}`, `remove it (serve creates the directory), or use --socket elsewhere`);
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    if (info.uid !== uid) {
      return fail(`${dir} belongs to uid ${info.uid}, not to this user (uid ${uid}): its owner could replace the socket`, `chown ${uid} ${dir}, or use --socket in a directory of your own`);
    }
    if ((info.mode & 0o077) !== 0) {
      const message = `${dir} has mode ${mode}: others can look into it`;
      const fix = `chmod 700 ${dir}`;
      return dirname(defaultSocketPath('x')) === dir ? fail(`${message}; serve refuses this default directory until it is 0700`, fix) : warn(message, fix);
    }
    return pass(`${dir} is this user's (uid ${uid}) with mode ${mode}`);
  },
};
