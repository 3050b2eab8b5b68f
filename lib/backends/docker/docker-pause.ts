import type Dockerode from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
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
 * How long `unpause` waits for the engine to stop saying the container is paused. dockerd 20.10 answers the
 * unpause once containerd has thawed the cgroup, and clears its own `Paused` flag later, when containerd's
 * "resumed" event comes back: an attach or exec sent at once may still be refused with "is paused" (the
 * integration test hit it on a loaded machine). So after the unpause the container is inspected, and only in
 * that window inspected again, a few milliseconds apart. (Waiting for the engine's `unpause` event instead would
 * cost every resume an event stream; the flag is almost always clear at the first look.)
 */
const unpausedWithinMs = 2_000;
const firstLookAgainMs = 5;

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
    if (!paused) await untilNotPaused(container);
  } catch (error) {
    const status = engineStatusCode(error);
    if ((status === 409 || status === 500) && alreadyDone[action].test(errorMessage(error))) return;
    const message = `${paused ? 'Pausing' : 'Resuming'} container ${name} failed: ${errorMessage(error)}`;
    if (await isEngineDown(docker, error)) throw new EngineUnavailableError(message, { cause: error });
    throw new BackendError(message, { cause: error });
  }
}

/** Resolves once inspect no longer says `Paused` (or the window is over: the caller's next call will say why). */
async function untilNotPaused(container: Dockerode.Container): Promise<void> {
  const deadline = performance.now() + unpausedWithinMs;
  for (let waitMs = firstLookAgainMs; ; waitMs *= 2) {
    const { State } = await container.inspect();
    if (!State.Paused || performance.now() >= deadline) return;
    await sleep(Math.min(waitMs, Math.max(0, deadline - performance.now())));
  }
}
