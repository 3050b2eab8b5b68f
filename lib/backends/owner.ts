import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';

/**
 * Helpers both backends use to name their containers and to decide, later and possibly from another process,
 * whether the process that made a container is still there to look after it.
 */

/**
 * Whether a process with this pid exists on this host. `kill(pid, 0)` sends nothing; EPERM means the process
 * exists but belongs to another user, so it is alive as far as reaping is concerned.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** 8 lowercase hex characters, so names made in the same millisecond by the same pid still differ. */
export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

// 32 characters at most: with the longest pid and the suffix, an LXC name stays within its 64.
const poolIdPattern = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/**
 * A pool id goes into container names and labels, so it must be valid in both Docker and LXC names and short
 * enough that `warmpool-<poolId>-<pid>-<suffix>` stays well under the engines' limits.
 */
/**
 * The pool id a factory gets when none is given, so a quick pool needs none. Pools that share an engine and may run
 * at the same time should each have their own: reaping a crashed creator's containers goes by pool id (and spares
 * containers whose creator process is alive).
 */
export const defaultPoolId = 'default';

export function validatePoolId(id: unknown): string {
  if (typeof id !== 'string' || !poolIdPattern.test(id)) {
    throw new InvalidOptionError('poolId', id, `a string matching ${String(poolIdPattern)}`);
  }
  return id;
}
