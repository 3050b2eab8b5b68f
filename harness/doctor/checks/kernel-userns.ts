import { readFile } from 'node:fs/promises';
import { fail, pass, type CheckOutcome, type DoctorCheck } from '../check.js';

export interface UserNamespaceSettings {
  /** /proc/sys/user/max_user_namespaces */
  readonly maxUserNamespaces: number;
  /** /proc/sys/kernel/unprivileged_userns_clone: Debian's switch, undefined on kernels without it. */
  readonly unprivilegedClone: string | undefined;
}

/**
 * User namespaces matter only for unprivileged containers. Run as root (as it should be), the LXC backend makes
 * privileged ones and needs none; run as another user, LXC can only make unprivileged ones.
 */
export function userNamespacesOutcome(uid: number, settings: UserNamespaceSettings): CheckOutcome {
  if (uid === 0) return pass('not needed: as root the LXC backend makes privileged containers');
  const { maxUserNamespaces, unprivilegedClone } = settings;
  if (maxUserNamespaces > 0 && unprivilegedClone !== '0') return pass(`user namespaces are available to uid ${uid} (max_user_namespaces ${maxUserNamespaces})`);
  return fail(
    `uid ${uid} cannot create user namespaces (max_user_namespaces ${maxUserNamespaces}${unprivilegedClone === undefined ? '' : `, unprivileged_userns_clone ${unprivilegedClone}`})`,
    'run the LXC backend as root, or allow them: sysctl user.max_user_namespaces=15000 kernel.unprivileged_userns_clone=1',
  );
}

export const userNamespacesCheck: DoctorCheck = {
  id: 'userns',
  async run({ uid }) {
    if (uid === 0) return userNamespacesOutcome(uid, { maxUserNamespaces: 0, unprivilegedClone: undefined });
    return userNamespacesOutcome(uid, {
      maxUserNamespaces: Number((await readSetting('/proc/sys/user/max_user_namespaces')) ?? '0'),
      unprivilegedClone: await readSetting('/proc/sys/kernel/unprivileged_userns_clone'),
    });
  },
};

async function readSetting(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}
