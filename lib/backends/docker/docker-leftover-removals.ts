import type Dockerode from 'dockerode';
import { backoffDelayMs } from '../../backoff.js';
import type { BackoffPolicy } from '../../backoff.js';
import type { Clock } from '../../clock.js';
import { forceRemove } from './docker-remove.js';

/** From half a second up to 30 s between tries: an engine restart takes seconds, an upgrade maybe a minute. */
export const leftoverRemovalBackoff: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };
/** After this long the reaper (`warmpool reap`, the label filter) is the better tool; the retries stop. */
const giveUpAfterMs = 60 * 60 * 1000;

/**
 * Removes, in the background, containers a creation made but could not remove when it failed: the engine
 * went away in the middle (dockerd answers a create with a 500 while it shuts down, and the container is there
 * after all). Nobody else knows these containers (the pool never got them), so without this they stay on the
 * engine until a reap. Each is retried with backoff until it is gone, for at most an hour; `retryNow()` (on a
 * watch reconnect, say) tries them all at once. Timers do not keep the process alive: a process that exits
 * leaves the rest to the reaper.
 */
export class LeftoverRemovals {
  readonly #docker: Dockerode;
  readonly #clock: Clock;
  readonly #pending = new Map<string, { attempt: number; since: number; timer: unknown; removing: boolean }>();

  constructor(docker: Dockerode, clock: Clock) {
    this.#docker = docker;
    this.#clock = clock;
  }

  /** Containers (ids or names) still waiting to be removed. */
  get pending(): readonly string[] {
    return [...this.#pending.keys()];
  }

  /** Keeps trying to remove `idOrName`, first after the policy's first delay. */
  add(idOrName: string): void {
    if (this.#pending.has(idOrName)) return;
    const entry = { attempt: 0, since: this.#clock.now(), timer: undefined as unknown, removing: false };
    this.#pending.set(idOrName, entry);
    this.#schedule(idOrName);
  }

  /** Tries every pending removal now (the engine is back), instead of at its next backoff time. */
  retryNow(): void {
    for (const idOrName of this.#pending.keys()) {
      const entry = this.#pending.get(idOrName);
      if (entry === undefined || entry.removing) continue;
      this.#clock.clearTimeout(entry.timer);
      void this.#tryRemove(idOrName);
    }
  }

  #schedule(idOrName: string): void {
    const entry = this.#pending.get(idOrName);
    if (entry === undefined) return;
    const delayMs = backoffDelayMs(leftoverRemovalBackoff, entry.attempt++);
    entry.timer = this.#clock.setTimeout(() => void this.#tryRemove(idOrName), delayMs);
    (entry.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  async #tryRemove(idOrName: string): Promise<void> {
    const entry = this.#pending.get(idOrName);
    if (entry === undefined || entry.removing) return;
    entry.removing = true;
    try {
      await forceRemove(this.#docker, idOrName, { clock: this.#clock });
      this.#pending.delete(idOrName);
    } catch {
      entry.removing = false;
      if (this.#clock.now() - entry.since >= giveUpAfterMs) this.#pending.delete(idOrName);
      else this.#schedule(idOrName);
    }
  }
}
