import type Dockerode from 'dockerode';
import { backoffDelayMs } from '../../backoff.js';
import type { BackoffPolicy } from '../../backoff.js';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { BackendError } from '../../errors.js';
import { engineStatusCode } from './docker-engine.js';

/**
 * Between removes while another removal of the same container is in progress: the first retry after 50-100 ms
 * (a removal usually takes that long), then doubling up to a second, so a slow one costs few calls.
 */
export const removalInProgressBackoff: BackoffPolicy = { baseMs: 100, maxMs: 1_000 };
/** How long a removal in progress is waited for before the remove gives up (its caller retries it later). */
export const defaultRemovalWaitMs = 30_000;

export interface ForceRemoveOptions {
  /** Time for the waits between removes. @default the system clock */
  readonly clock?: Clock;
  /** How long to wait for a removal in progress to end. @default 30 s */
  readonly waitMs?: number;
  /** Stops the waiting (not a remove the engine is running): rejects with its reason. */
  readonly signal?: AbortSignal;
  /** For the backoff's jitter, as `Math.random`. */
  readonly random?: () => number;
}

/** A remove the engine refused because another removal of the same container is running (HTTP 409). */
export function isRemovalInProgress(error: unknown): boolean {
  if (engineStatusCode(error) !== 409) return false;
  return /already in progress/i.test(error instanceof Error ? error.message : String(error));
}

/**
 * Force-removes a container with its anonymous volumes, and resolves only once it is gone: the remove
 * succeeded, or the engine answers 404. A 409 "removal already in progress" is not "gone": that removal may
 * still fail, and if dockerd stops in the middle of it the container stays, in state `dead`, after the restart.
 * So the remove is repeated, with backoff, until it succeeds or answers 404; a repeat also removes a container
 * left dead (dockerd accepts a forced remove of a dead container). Repeating the remove rather than waiting for
 * a `destroy` event: no event comes for a removal that dockerd abandoned by stopping.
 *
 * Rejects with the engine's error for any other failure (the engine gone meanwhile included: callers tell an
 * outage apart and retry later), with BackendError when the removal was still in progress after `waitMs`, and
 * with the signal's reason when it aborts.
 */
export async function forceRemove(docker: Dockerode, idOrName: string, options: ForceRemoveOptions = {}): Promise<void> {
  const { clock = systemClock, waitMs = defaultRemovalWaitMs, signal, random } = options;
  const deadline = clock.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      await docker.getContainer(idOrName).remove({ force: true, v: true });
      return;
    } catch (error) {
      if (engineStatusCode(error) === 404) return;
      if (!isRemovalInProgress(error)) throw error;
      const left = deadline - clock.now();
      if (left <= 0) {
        const message = `Container ${idOrName} was still being removed after ${waitMs} ms (the engine answers 409 to a remove)`;
        throw new BackendError(message, { cause: error });
      }
      // The last wait ends at the deadline, so one more remove is tried right then.
      await delay(clock, Math.min(backoffDelayMs(removalInProgressBackoff, attempt, random), left), signal);
    }
  }
}

function delay(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
