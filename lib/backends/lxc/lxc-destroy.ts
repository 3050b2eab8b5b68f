import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BackendError } from '../../errors.js';
import { lxcCommandError, tryLxcCommand } from './lxc-commands.js';
import { validateLxcName } from './lxc-names.js';
import { validateAbsolutePath } from './lxc-validation.js';

const attempts = 8;
const firstRetryDelayMs = 50;

/**
 * Stops (if running) and removes a container: `lxc-destroy -f`. A container that does not exist counts as
 * destroyed, so this is idempotent. For a snapshot clone it removes only the clone's delta; the base stays.
 *
 * Retried a few times because a creation cancelled mid `lxc-start` leaves a container that is still starting,
 * which lxc-destroy can refuse for a moment. A directory left by an `lxc-copy` killed before it wrote the
 * config is not a container to LXC, so it is removed here directly.
 */
export async function destroyLxcContainer(lxcpath: string, name: string): Promise<void> {
  validateAbsolutePath('lxcpath', lxcpath);
  validateLxcName(name);
  const args = ['-P', lxcpath, '-n', name, '-f'];
  let lastError: BackendError | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await delay(firstRetryDelayMs * 2 ** (attempt - 1));
    const result = await tryLxcCommand('lxc-destroy', args);
    if (result.exitCode === 0 || isNotDefined(result.stderr)) {
      await removeLeftovers(lxcpath, name);
      return;
    }
    lastError = lxcCommandError('lxc-destroy', args, result);
  }
  throw lastError ?? new BackendError(`lxc-destroy of ${name} failed`);
}

function isNotDefined(stderr: string): boolean {
  return /Container is not defined|does not exist/i.test(stderr);
}

async function removeLeftovers(lxcpath: string, name: string): Promise<void> {
  const directory = join(lxcpath, name);
  if (await exists(directory)) {
    if (await exists(join(directory, 'config'))) {
      throw new BackendError(`lxc-destroy reported ${name} gone but ${directory}/config is still there`);
    }
    await rm(directory, { recursive: true, force: true });
  }
  // LXC keeps an empty lock file per container name under its run directory and never removes it; a pool
  // that makes thousands of containers would otherwise fill /run with them.
  if (process.getuid?.() === 0) await rm(join('/run/lxc/lock', lxcpath, `.${name}`), { force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
