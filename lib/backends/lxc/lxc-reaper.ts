import { readdir } from 'node:fs/promises';
import { BackendError, InvalidOptionError, errorMessage } from '../../errors.js';
import { isProcessAlive, validatePoolId } from '../owner.js';
import { destroyLxcContainer } from './lxc-destroy.js';
import { parseLxcName } from './lxc-names.js';
import { validateAbsolutePath } from './lxc-validation.js';

export interface LxcReapOptions {
  /** The lxcpath to look in. An absolute path. */
  readonly lxcpath: string;
  /** Only containers named for this pool are considered. */
  readonly poolId: string;
  /** Remove all of this pool's containers, even those whose creator is still running. @default false */
  readonly force?: boolean;
}

export interface LxcReapResult {
  /** Names of the containers destroyed. */
  readonly removed: string[];
  /** Names of this pool's containers left alone because their creator process is alive. */
  readonly kept: string[];
}

/**
 * Destroys the containers a crashed process of this pool left behind: those whose name parses as this pool's
 * and whose creator pid is no longer alive (with `force`, all of this pool's). A container whose name does not
 * parse as this pool's (the base, another pool's, anyone else's) is never touched and not reported.
 *
 * The lxcpath directory is read rather than `lxc-ls`, so a clone whose `lxc-copy` died before writing its config
 * is found too. Every candidate is tried; if any destroy fails, a BackendError lists them after the others.
 */
export async function reapLxcOrphans(options: LxcReapOptions): Promise<LxcReapResult> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object like { lxcpath, poolId, force }');
  }
  const lxcpath = validateAbsolutePath('lxcpath', options.lxcpath);
  const poolId = validatePoolId(options.poolId);
  const force = options.force ?? false;
  if (typeof force !== 'boolean') throw new InvalidOptionError('force', force, 'a boolean');
  const entries = await readdir(lxcpath, { withFileTypes: true });
  const removed: string[] = [];
  const kept: string[] = [];
  const failures: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const parts = parseLxcName(entry.name);
    if (parts?.poolId !== poolId) continue;
    if (!force && isProcessAlive(parts.pid)) {
      kept.push(entry.name);
      continue;
    }
    try {
      await destroyLxcContainer(lxcpath, entry.name);
      removed.push(entry.name);
    } catch (error) {
      failures.push(`${entry.name}: ${errorMessage(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new BackendError(
      `Reaping ${lxcpath} removed ${String(removed.length)} containers but could not remove: ${failures.join('; ')}`,
    );
  }
  return { removed, kept };
}
