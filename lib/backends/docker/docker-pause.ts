import type Dockerode from 'dockerode';
import { BackendError, EngineUnavailableError, errorMessage } from '../../errors.js';
import { engineStatusCode, isEngineDown } from './docker-engine.js';

/**
 * What the engine answers when the container is already as asked: `pause` of a paused one is a 409 "Container
 * <id> is already paused"; `unpause` of one that is not paused (running, or stopped) says "Container <id> is not
 * paused", as a 500 from dockerd 20.10 and a 409 from later engines. Matched on the words, whatever the status.
 */
const alreadyDone = {
  pause: /is already paused/i,
  unpause: /is not paused/i,
} as const;

/**
 * `docker pause` (`paused: true`) or `docker unpause` of one container, idempotent: a container already paused
 * (or already not paused) counts as done. The engine freezes the container's cgroup; its processes keep their
 * memory and the engine still reports it running (inspect: `Running` and `Paused` both true).
 *
 * @throws EngineUnavailableError when the engine cannot be reached (see `isEngineDown`)
 * @throws BackendError for any other failure: the container is gone (404), or stopped (pausing a stopped one
 *   is a 409 "is not running"; unpausing one succeeds, as it is not paused)
 */
export async function setDockerPaused(docker: Dockerode, id: string, name: string, paused: boolean): Promise<void> {
  const action = paused ? 'pause' : 'unpause';
  try {
    const container = docker.getContainer(id);
    await (paused ? container.pause() : container.unpause());
  } catch (error) {
    const status = engineStatusCode(error);
    if ((status === 409 || status === 500) && alreadyDone[action].test(errorMessage(error))) return;
    const message = `${paused ? 'Pausing' : 'Resuming'} container ${name} failed: ${errorMessage(error)}`;
    if (await isEngineDown(docker, error)) throw new EngineUnavailableError(message, { cause: error });
    throw new BackendError(message, { cause: error });
  }
}
