import { systemClock, type Clock } from '../../lib/clock.js';
import type { ContainerState, RunnableContainer } from '../../lib/container.js';
import { ContainerDiedError, errorMessage } from '../../lib/errors.js';

/** What the engine says of a container after a failure; `unknown` when it could not be asked (engine down). */
export type Liveness = { readonly state: ContainerState } | { readonly state: 'unknown'; readonly error: unknown };

export interface LivenessOptions {
  readonly clock?: Clock;
  /** How long a `running` answer is asked again before it is believed. @default 1_000 */
  readonly settleMs?: number;
  /** Between two asks. @default 100 */
  readonly intervalMs?: number;
  /** Stops asking; the last answer stands. */
  readonly signal?: AbortSignal;
}

/**
 * Asks the engine whether a container that just failed under a job still runs. Only called after a failure, so
 * the happy path costs no engine call. An engine that has just killed a container can still report it running
 * for a moment (Docker and LXC update the state once the init process is reaped), so a `running` answer is asked
 * again every `intervalMs` for up to `settleMs` before it is believed. There is no event to wait for here: the
 * pool's watch tells the pool, not the job that holds the container, so this is a bounded re-ask, at most
 * `settleMs / intervalMs` calls.
 */
export async function askLiveness(container: RunnableContainer, options: LivenessOptions = {}): Promise<Liveness> {
  const clock = options.clock ?? systemClock;
  const settleMs = options.settleMs ?? 1_000;
  const intervalMs = options.intervalMs ?? 100;
  const until = clock.now() + settleMs;
  for (;;) {
    let state: ContainerState;
    try {
      state = await container.state();
    } catch (error) {
      return { state: 'unknown', error };
    }
    if (state !== 'running' || clock.now() >= until || options.signal?.aborted) return { state };
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(intervalMs, until - clock.now())));
  }
}

/** The typed error for a container the engine says is not running (stopped, or gone: removed). */
export function deathOf(container: RunnableContainer, liveness: { readonly state: 'stopped' | 'gone' | 'running' }, exitCode?: number): ContainerDiedError {
  const reason = liveness.state === 'gone' ? 'removed' : exitCode === undefined ? 'not-running' : 'died';
  return new ContainerDiedError(container.name, reason, exitCode, false);
}

/** Why the engine could not say whether a container runs, in words. */
export function unknownLiveness(container: RunnableContainer, liveness: { readonly error: unknown }): string {
  return `the engine could not say whether container ${container.name} still runs (${errorMessage(liveness.error)})`;
}
