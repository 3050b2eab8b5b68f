import { readFile } from 'node:fs/promises';
import { fail, pass, type CheckOutcome, type DoctorCheck } from '../check.js';

const mountOptions = new Set(['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec']);

/** From /proc/self/mounts: a cgroup2 mount, or cgroup v1 hierarchies (their controllers named). */
export function cgroupOutcome(mounts: string): CheckOutcome {
  const unified: string[] = [];
  const controllers: string[] = [];
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, options = ''] = line.split(' ');
    if (type === 'cgroup2' && mountPoint !== undefined) unified.push(mountPoint);
    if (type === 'cgroup') controllers.push(...options.split(',').filter((option) => option !== '' && !mountOptions.has(option)));
  }
  if (unified.length === 0 && controllers.length === 0) {
    return fail('no cgroup file system is mounted, and LXC needs one for every container', 'mount -t cgroup2 none /sys/fs/cgroup (systemd does this at boot)');
  }
  const parts: string[] = [];
  if (unified.length > 0) parts.push(`cgroup2 at ${unified.join(', ')}`);
  if (controllers.length > 0) parts.push(`cgroup v1 with ${controllers.join(', ')}`);
  return pass(parts.join('; '));
}

/** LXC puts each container in cgroups of its own: a cgroup2 or a cgroup v1 hierarchy must be mounted. */
export const cgroupCheck: DoctorCheck = {
  id: 'cgroup',
  run: async () => cgroupOutcome(await readFile('/proc/self/mounts', 'utf8')),
};
