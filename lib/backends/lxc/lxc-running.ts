import { EngineUnavailableError, errorMessage } from '../../errors.js';
import { tryLxcCommand } from './lxc-commands.js';
import { isLxcNameOfPool, lxcPoolNamePattern } from './lxc-names.js';
import { assertLxcpathAvailable } from './lxc-path.js';

/** One lxc-ls asks each of the pool's containers for its state; far more than enough, unless LXC hangs. */
const lxcLsTimeoutMs = 30_000;

/**
 * The names of pool `poolId`'s containers that run now, in one `lxc-ls --running`. The pool's name pattern goes
 * to lxc-ls as `--filter`, so it asks only this pool's containers for their state, not every container in the
 * lxcpath. "Running" is LXC's: any state but STOPPED (a container that is just stopping is still listed; its
 * death reaches the watch a moment later).
 *
 * @throws EngineUnavailableError when the lxcpath cannot be read or lxc-ls fails (lxc-ls itself reports an
 *   unreadable lxcpath as an empty one, hence the look at the lxcpath first); `signal.reason` when it aborts
 */
export async function listRunningLxc(lxcpath: string, poolId: string, signal?: AbortSignal): Promise<Set<string>> {
  signal?.throwIfAborted();
  await assertLxcpathAvailable(lxcpath);
  // lxc-ls ignores an invalid filter silently and lists nothing; this one is anchored and always valid.
  const args = ['-P', lxcpath, '--running', '-1', '--filter', `^${lxcPoolNamePattern(poolId)}$`];
  let result: Awaited<ReturnType<typeof tryLxcCommand>>;
  try {
    result = await tryLxcCommand('lxc-ls', args, { signal, timeoutMs: lxcLsTimeoutMs });
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    throw new EngineUnavailableError(`Listing the running containers in ${lxcpath} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (result.exitCode !== 0) {
    throw new EngineUnavailableError(
      `lxc-ls ${args.join(' ')} exited with code ${String(result.exitCode)}: ${result.stderr.trim()}`,
    );
  }
  const names = result.stdout.split('\n').map((line) => line.trim());
  return new Set(names.filter((name) => name !== '' && isLxcNameOfPool(name, poolId)));
}
