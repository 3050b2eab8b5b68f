import { stat } from 'node:fs/promises';
import { errorMessage } from '../../../lib/errors.js';
import { tryLxcCommand } from '../../../lib/backends/lxc/lxc-commands.js';
import { fail, pass, warn, type DoctorCheck } from '../check.js';

/** The LXC tools run (their version), and `lxc-ls` works on the lxcpath serve would use. */
export const lxcEngineCheck: DoctorCheck = {
  id: 'engine',
  async run({ settings, uid }, signal) {
    const lxcpath = settings.lxcPath;
    let version: string;
    try {
      const info = await tryLxcCommand('lxc-info', ['--version'], { signal });
      if (info.exitCode !== 0) return fail(`lxc-info --version exited with ${info.exitCode}: ${info.stderr.trim()}`, 'reinstall LXC (apt-get install --reinstall lxc)');
      version = info.stdout.trim();
    } catch (error) {
      if (signal.aborted) throw error;
      return fail(`the LXC tools cannot be run: ${errorMessage(error)}`, 'install LXC (apt-get install lxc) so lxc-info, lxc-ls and lxc-copy are on the PATH');
    }
    try {
      if (!(await stat(lxcpath)).isDirectory()) return fail(`the lxcpath ${lxcpath} is not a directory`, 'point WARMPOOL_LXC_PATH or --lxc-path at the directory holding the base container');
    } catch (error) {
      return fail(`the lxcpath ${lxcpath} cannot be read: ${errorMessage(error)}`, `create it (mkdir -p ${lxcpath}) with the base container in it, or point WARMPOOL_LXC_PATH or --lxc-path at it`);
    }
    const listed = await tryLxcCommand('lxc-ls', ['-P', lxcpath, '-1'], { signal });
    if (listed.exitCode !== 0) {
      return fail(`lxc-ls -P ${lxcpath} exited with ${listed.exitCode}: ${listed.stderr.trim()}`, `make ${lxcpath} readable to this user, and see lxc-ls's message`);
    }
    const count = listed.stdout.split('\n').filter((line) => line.trim() !== '').length;
    const found = `LXC ${version}; lxc-ls works on ${lxcpath} (${count} container${count === 1 ? '' : 's'})`;
    // The backend runs privileged containers, and its watch writes into lxc-monitord's FIFO: both need root.
    if (uid !== 0) return warn(`${found}, but this is uid ${uid}`, 'run warmpool serve with the LXC backend as root (the systemd unit does)');
    return pass(found);
  },
};
