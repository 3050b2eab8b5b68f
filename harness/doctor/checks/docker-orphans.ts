import { hostname } from 'node:os';
import { hostLabel, pidLabel, poolLabel, poolLabelFilter } from '../../../lib/backends/docker/docker-labels.js';
import { isProcessAlive } from '../../../lib/backends/owner.js';
import type { DoctorCheck } from '../check.js';
import { orphanOutcome, type PoolContainers } from './orphans.js';

/**
 * The pool's containers on the Docker engine whose creator is gone, judged as `reapDockerOrphans` judges them
 * (our labels, this host, a dead pid). Listed, never removed: the doctor only looks.
 */
export const dockerOrphansCheck: DoctorCheck = {
  id: 'orphans',
  needs: ['engine'],
  async run({ docker, settings }, signal) {
    const { poolId } = settings;
    const listed = await docker.listContainers({ all: true, filters: poolLabelFilter(poolId), abortSignal: signal });
    const thisHost = hostname();
    const found = { orphans: [] as string[], owned: [] as string[] } satisfies PoolContainers;
    for (const info of listed) {
      if (info.Labels[poolLabel] !== poolId) continue;
      const name = (info.Names[0] ?? info.Id).replace(/^\//, '');
      const pid = Number(info.Labels[pidLabel]);
      const orphaned = info.Labels[hostLabel] === thisHost && Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid);
      (orphaned ? found.orphans : found.owned).push(name);
    }
    return orphanOutcome(found, 'docker', poolId, 'on the engine');
  },
};
