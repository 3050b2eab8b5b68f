import { fail, pass, type CheckOutcome } from '../check.js';

/** The pool's containers on the engine, sorted the way the reaper sorts them. */
export interface PoolContainers {
  /** Made on this host by a process that is gone: the reaper would remove them. */
  readonly orphans: readonly string[];
  /** Made by a process that still runs (a service, a run), or on another host: not orphans. */
  readonly owned: readonly string[];
}

const shownNames = 5;

/** The outcome both backends' orphan checks share: orphans fail, with the command that removes them. */
export function orphanOutcome(found: PoolContainers, backend: string, poolId: string, where: string): CheckOutcome {
  const owned = found.owned.length === 0 ? '' : `; ${found.owned.length} belong${found.owned.length === 1 ? 's' : ''} to live processes`;
  if (found.orphans.length === 0) return pass(`no orphans of pool ${poolId} ${where}${owned}`);
  const names = found.orphans.slice(0, shownNames).join(', ') + (found.orphans.length > shownNames ? `, … (${found.orphans.length - shownNames} more)` : '');
  return fail(
    `${found.orphans.length} orphan${found.orphans.length === 1 ? '' : 's'} of pool ${poolId} ${where} (their creating process is gone): ${names}${owned}`,
    `warmpool reap --backend ${backend} --pool-id ${poolId} removes them (warmpool serve of this pool also does at its start)`,
  );
}
