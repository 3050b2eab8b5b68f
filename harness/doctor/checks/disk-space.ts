import { statfs } from 'node:fs/promises';
import { errorMessage } from '../../../lib/errors.js';
import { fail, formatBytes, pass, warn, type CheckOutcome, type DoctorCheck } from '../check.js';
import { dockerGet } from '../docker-get.js';

/** Below this, a few more containers or an image pull may not fit: a warning. */
export const lowDiskBytes = 1024 ** 3;
/** Below this, creations are about to fail: a failure. */
export const criticalDiskBytes = 200 * 1024 ** 2;

/** Free space under `path` for an unprivileged writer (what the engine's containers get), judged by the thresholds. */
export async function freeSpaceOutcome(path: string, what: string, howToFree: string): Promise<CheckOutcome> {
  let free: number;
  try {
    const info = await statfs(path);
    free = info.bavail * info.bsize;
  } catch (error) {
    return fail(`cannot see ${what} ${path} from here: ${errorMessage(error)}`, `run the doctor on the engine's host, as a user that can read ${path}`);
  }
  const thresholds = `warn under ${formatBytes(lowDiskBytes)}, fail under ${formatBytes(criticalDiskBytes)}`;
  const fix = `free space on the file system of ${path}: ${howToFree}`;
  if (free < criticalDiskBytes) return fail(`only ${formatBytes(free)} free under ${what} ${path} (${thresholds})`, fix);
  if (free < lowDiskBytes) return warn(`${formatBytes(free)} free under ${what} ${path} (${thresholds})`, fix);
  return pass(`${formatBytes(free)} free under ${what} ${path}`);
}

/** Free disk under Docker's data root, where the engine keeps images and container layers. */
export const dockerDiskCheck: DoctorCheck = {
  id: 'disk',
  needs: ['engine'],
  async run({ docker }, signal) {
    const info = await dockerGet<{ DockerRootDir?: unknown }>(docker, '/info', signal);
    if (typeof info.DockerRootDir !== 'string') return fail('the engine did not say where its data root is (no DockerRootDir in docker info)', 'check the engine with docker info');
    return freeSpaceOutcome(info.DockerRootDir, "the engine's data root", 'docker system prune removes stopped containers and unused images');
  },
};

/** Free disk under the lxcpath, where the clones' overlay upper directories grow. */
export const lxcDiskCheck: DoctorCheck = {
  id: 'disk',
  needs: ['engine'],
  run: ({ settings }) => freeSpaceOutcome(settings.lxcPath, 'the lxcpath', `lxc-ls -P ${settings.lxcPath} shows the containers there; lxc-destroy the ones not needed`),
};
