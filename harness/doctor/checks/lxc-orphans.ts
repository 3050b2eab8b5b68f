import { readdir } from 'node:fs/promises';
import { parseLxcName } from '../../../lib/backends/lxc/lxc-names.js';
import { isProcessAlive } from '../../../lib/backends/owner.js';
import type { DoctorCheck } from '../check.js';
import { orphanOutcome, type PoolContainers } from './orphans.js';

/**
 * The pool's LXC containers whose creator is gone, judged as `reapLxcOrphans` judges them (the pool's name
 * prefix, a dead pid in the name), from the lxcpath directory like the reaper, so a clone whose lxc-copy died
 * half-way counts too. Listed, never removed.
 */
export const lxcOrphansCheck: DoctorCheck = {
  id: 'orphans',
  needs: ['engine'],
  async run({ settings }) {
    const { poolId, lxcPath } = settings;
    const found = { orphans: [] as string[], owned: [] as string[] } satisfies PoolContainers;
    for (const entry of await readdir(lxcPath, { withFileTypes: true })) {
      const parts = entry.isDirectory() ? parseLxcName(entry.name) : undefined;
      if (parts?.poolId !== poolId) continue;
      (isProcessAlive(parts.pid) ? found.owned : found.orphans).push(entry.name);
    }
    return orphanOutcome(found, 'lxc', poolId, `in ${lxcPath}`);
  },
};
