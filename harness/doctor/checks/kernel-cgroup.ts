import { readFile } from 'node:fs/promises';
import { fail, pass, type DoctorCheck } from '../check.js';

/** LXC puts each container in cgroups of its own: a cgroup2 or a cgroup v1 hierarchy must be mounted. */
export const cgroupCheck: DoctorCheck = {
  id: 'cgroup',
  async run() {
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    const unified: string[] = [];
    const controllers: string[] = [];
    for (const line of mounts.split('\n')) {
      const [, mountPoint, type, options = ''] = line.split(' ');
      if (type === 'cgroup2' && mountPoint !== undefined) unified.push(mountPoint);
      if (type === 'cgroup') controllers.push(...options.split(',').filter((option) => !['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec'].includes(option)));
    }
    if (unified.length === 0 && controllers.length === 0) {
      return fail('no cgroup file system is mounted, and LXC needs one for every container', 'mount -t cgroup2 none /sys/fs/cgroup (systemd does this at boot)');
    }
    const parts = [];
    if (unified.length > 0) parts.push(`cgroup2 at ${unified.join(', ')}`);
    if (controllers.length > 0) parts.push(`cgroup v1 with ${controllers.join(', ')}`);
    return pass(parts.join('; '));
  },
};
