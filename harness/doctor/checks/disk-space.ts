import { statfs } from 'node:fs/promises';
import { errorMessage } from '../../../lib/errors.js';
import { fail, formatBytes, pass, warn, type CheckOutcome, type DoctorCheck } from '../check.js';
import { dockerGet } from '../docker-get.js';

/** Below this, a few more containers or an image pull may not fit: a warning. */
export const lowDiskBytes = 1024 ** 3;
/** Below this, creations are about to fail: a failure. */
export const criticalDiskBytes = 200 * 1024 ** 2;

/** Judges `freeBytes` free under `path` against the thresholds, naming them in the message. */
export function freeSpaceVerdict(freeBytes: number, path: string, what: string, howToFree: string): CheckOutcome {
  const thresholds = `warn under ${formatBytes(lowDiskBytes)}, fail under ${formatBytes(criticalDiskBytes)}`;
  const fix = `free space on the file system of ${path}: ${howToFree}`;
  if (freeBytes < criticalDiskBytes) return fail(`only ${formatBytes(freeBytes)} free under ${what} ${path} (${thresholds})`, fix);
  if (freeBytes < lowDiskBytes) return warn(`${formatBytes(freeBytes)} free under ${what} ${path} (${thresholds})`, fix);
  return pass(`${formatBytes(freeBytes)} free under ${what} ${path}`);
}

/** Free space under `path` for an unprivileged writer (what the engine's containers get). */
async function freeSpaceOutcome(path: string, what: string, howToFree: string): Promise<CheckOutcome> {
  let info;
  try {
    info = await statfs(path);
  } catch (error) {
    return fail(`cannot see ${what} ${path} from here: ${errorMessage(error)}`, `run the doctor on the engine's host, as a user that can read ${path}`);
  }
  return freeSpaceVerdict(info.bavail * info.bsize, path, what, howToFree);
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
