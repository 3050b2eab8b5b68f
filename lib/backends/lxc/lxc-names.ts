import { InvalidOptionError } from '../../errors.js';
import { validatePoolId } from '../owner.js';

/**
 * Names of the pool's LXC containers: `warmpool-<poolId>-<pid>-<suffix>`. The creator's pid is in the name so a
 * reaper can tell, from the name alone, whether the process that made a container is gone.
 */

const namePrefix = 'warmpool-';

/**
 * Every container name handed to an `lxc-*` command must match this: it becomes a directory under the lxcpath
 * and an argument, so `..`, `/`, spaces and shell characters are refused even though nothing runs a shell.
 */
export const lxcNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const pidPattern = /^[1-9][0-9]{0,9}$/;
const suffixPattern = /^[0-9a-f]{8}$/;

export interface LxcNameParts {
  readonly poolId: string;
  readonly pid: number;
  readonly suffix: string;
}

export function validateLxcName(name: unknown, option = 'name'): string {
  if (typeof name !== 'string' || !lxcNamePattern.test(name)) {
    throw new InvalidOptionError(option, name, `an LXC container name matching ${String(lxcNamePattern)}`);
  }
  return name;
}

/** Throws InvalidOptionError (naming `poolId`) if the parts would not make a valid, parseable name. */
export function buildLxcName(poolId: string, pid: number, suffix: string): string {
  validatePoolId(poolId);
  if (!Number.isInteger(pid) || !pidPattern.test(String(pid))) {
    throw new InvalidOptionError('pid', pid, 'a positive integer');
  }
  if (!suffixPattern.test(suffix)) {
    throw new InvalidOptionError('suffix', suffix, '8 lowercase hex characters');
  }
  const name = `${namePrefix}${poolId}-${String(pid)}-${suffix}`;
  if (!lxcNamePattern.test(name)) {
    throw new InvalidOptionError(
      'poolId',
      poolId,
      `short enough that \`${name}\` fits in ${String(lxcNamePattern)} (at most 64 characters)`,
    );
  }
  return name;
}

/**
 * The inverse of `buildLxcName`, or undefined for any name warmpool did not make. Pool ids may contain '-', so
 * the name is split from the end: the suffix and the pid are the last two parts and never contain '-'.
 */
export function parseLxcName(name: string): LxcNameParts | undefined {
  if (!lxcNamePattern.test(name) || !name.startsWith(namePrefix)) return undefined;
  const parts = name.slice(namePrefix.length).split('-');
  const suffix = parts.pop();
  const pid = parts.pop();
  const poolId = parts.join('-');
  if (suffix === undefined || !suffixPattern.test(suffix)) return undefined;
  if (pid === undefined || !pidPattern.test(pid)) return undefined;
  if (!isPoolId(poolId)) return undefined;
  return { poolId, pid: Number(pid), suffix };
}

function isPoolId(value: string): boolean {
  try {
    validatePoolId(value);
    return true;
  } catch {
    return false;
  }
}

/** Whether `name` is one of this pool's containers (made by any process). */
export function isLxcNameOfPool(name: string, poolId: string): boolean {
  return parseLxcName(name)?.poolId === poolId;
}

/**
 * A POSIX extended regular expression (unanchored: callers add `^...$`) matching exactly the names
 * `buildLxcName` makes for `poolId`, for the LXC tools that filter by regex (`lxc-monitor -n`, `lxc-ls
 * --filter`). Like `isLxcNameOfPool`, a pool whose id is a prefix of another's (`lab`, `lab-2`) does not match
 * the other's names: the pid part admits digits only.
 */
export function lxcPoolNamePattern(poolId: string): string {
  validatePoolId(poolId);
  return `${escapeExtendedRegex(`${namePrefix}${poolId}-`)}[1-9][0-9]{0,9}-[0-9a-f]{8}`;
}

/** Backslash before every character special in a POSIX extended regex (pool ids contain only `.` of them). */
export function escapeExtendedRegex(text: string): string {
  return text.replace(/[.[\]()*+?{}|^$\\]/g, '\\$&');
}
