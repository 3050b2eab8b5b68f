import { BackendError, EngineUnavailableError, errorMessage } from '../../errors.js';
import { lxcCommandError, tryLxcCommand } from './lxc-commands.js';
import { assertLxcpathAvailable } from './lxc-path.js';

/**
 * A freeze takes milliseconds; it goes through the container's monitor process, and waits until every process
 * of the container is frozen. A hung monitor must not hang us, as in `lxcContainerState`.
 */
const freezeTimeoutMs = 10_000;

/**
 * `lxc-freeze` (`frozen: true`) or `lxc-unfreeze` of one container. Both are idempotent as LXC 5 runs them: freezing
 * a frozen container and thawing a running one (or a stopped one) exit 0 without a word, so nothing needs telling
 * apart here. The container's state goes FREEZING, FROZEN, then THAWED, RUNNING: none of these is an end state
 * to the watch (lxc-monitor-parser.ts), and `lxcContainerState` and `lxc-ls --running` count a frozen container
 * as running.
 *
 * @throws EngineUnavailableError when the lxcpath cannot be read, or the tool could not be run or did not end
 *   within 10 s (LXC does not answer, as `lxcContainerState` judges it)
 * @throws BackendError when the tool fails: the container is gone (both tools), or stopped (lxc-freeze only)
 */
export async function setLxcFrozen(lxcpath: string, name: string, frozen: boolean): Promise<void> {
  const command = frozen ? 'lxc-freeze' : 'lxc-unfreeze';
  const args = ['-P', lxcpath, '-n', name];
  const doing = `${frozen ? 'Pausing' : 'Resuming'} container ${name}`;
  let result: Awaited<ReturnType<typeof tryLxcCommand>>;
  try {
    result = await tryLxcCommand(command, args, { timeoutMs: freezeTimeoutMs });
  } catch (error) {
    throw new EngineUnavailableError(`${doing} failed: ${errorMessage(error)}`, { cause: error });
  }
  if (result.exitCode === 0) return;
  // The tools say only "Failed to freeze" for a container whose lxcpath is gone, as for one that is not there.
  await assertLxcpathAvailable(lxcpath);
  const failure = lxcCommandError(command, args, result);
  throw new BackendError(`${doing} failed: ${failure.message}`, { cause: failure });
}
