import { readFile } from 'node:fs/promises';
import { fail, pass, type DoctorCheck } from '../check.js';

/**
 * User namespaces matter only for unprivileged containers. Run as root (as it should be), the LXC backend makes
 * privileged ones and needs none; run as another user, LXC can only make unprivileged ones.
 */
export const userNamespacesCheck: DoctorCheck = {
  id: 'userns',
  async run({ uid }) {
    if (uid === 0) return pass('not needed: as root the LXC backend makes privileged containers');
    const max = Number((await readSetting('/proc/sys/user/max_user_namespaces')) ?? '0');
    // Debian's switch; absent on kernels without the patch, where unprivileged user namespaces are allowed.
    const unprivileged = await readSetting('/proc/sys/kernel/unprivileged_userns_clone');
    if (max > 0 && unprivileged !== '0') return pass(`user namespaces are available to uid ${uid} (max_user_namespaces ${max})`);
    return fail(
      `uid ${uid} cannot create user namespaces (max_user_namespaces ${max}${unprivileged === undefined ? '' : `, unprivileged_userns_clone ${unprivileged}`})`,
      'run the LXC backend as root, or allow them: sysctl user.max_user_namespaces=15000 kernel.unprivileged_userns_clone=1',
    );
  },
};

async function readSetting(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}
