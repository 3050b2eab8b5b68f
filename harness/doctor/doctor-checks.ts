import type { BackendName } from '../backend.js';
import type { DoctorCheck } from './check.js';
import { containerStartCheck } from './checks/container-start.js';
import { dockerDiskCheck, lxcDiskCheck } from './checks/disk-space.js';
import { dockerEngineCheck } from './checks/docker-engine.js';
import { dockerImageCheck } from './checks/docker-image.js';
import { dockerOrphansCheck } from './checks/docker-orphans.js';
import { cgroupCheck } from './checks/kernel-cgroup.js';
import { overlayCheck } from './checks/kernel-overlay.js';
import { userNamespacesCheck } from './checks/kernel-userns.js';
import { lxcBaseCheck } from './checks/lxc-base.js';
import { lxcEngineCheck } from './checks/lxc-engine.js';
import { lxcOrphansCheck } from './checks/lxc-orphans.js';
import { socketDirectoryCheck } from './checks/socket-directory.js';
import { staleLockCheck } from './checks/stale-lock.js';
import { staleSocketCheck } from './checks/stale-socket.js';

/** The service's own files, the same for both backends. */
const serviceFileChecks = [socketDirectoryCheck, staleSocketCheck, staleLockCheck];

/**
 * What `warmpool doctor` checks for a backend, in the order it prints them: the engine first (most checks need
 * it), the slow container start once the cheap causes of its failure are ruled out.
 */
export function checksFor(backend: BackendName): readonly DoctorCheck[] {
  if (backend === 'docker') {
    return [dockerEngineCheck, dockerImageCheck, containerStartCheck, ...serviceFileChecks, dockerOrphansCheck, dockerDiskCheck];
  }
  return [lxcEngineCheck, cgroupCheck, overlayCheck, userNamespacesCheck, lxcBaseCheck, containerStartCheck, ...serviceFileChecks, lxcOrphansCheck, lxcDiskCheck];
}
