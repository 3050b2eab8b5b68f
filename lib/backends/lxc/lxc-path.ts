import { stat } from 'node:fs/promises';
import { EngineUnavailableError, errorMessage } from '../../errors.js';

/**
 * The LXC tools answer for an lxcpath that is missing or unreadable as if it held no containers (`lxc-ls`
 * exits 0 and lists nothing), so "no container" is only believed once the lxcpath itself is known to be there:
 * a disk that went away is an outage, not a pool whose containers all vanished.
 * @throws EngineUnavailableError when `lxcpath` is not a directory that can be looked at
 */
export async function assertLxcpathAvailable(lxcpath: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(lxcpath)).isDirectory();
  } catch (error) {
    throw new EngineUnavailableError(`The lxcpath ${lxcpath} cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  if (!isDirectory) throw new EngineUnavailableError(`The lxcpath ${lxcpath} is not a directory`);
}
