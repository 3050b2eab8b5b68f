/**
 * One backoff rule for everything in warmpool that retries: creation bursts, engine probes, removals and the
 * backends' watch reconnects. Exponential, capped, and jittered so that many pools (or many removals) that
 * failed at the same moment do not retry in lockstep against an engine that is just coming back.
 */
export interface BackoffPolicy {
  /** The ceiling of the first delay (attempt 0), in milliseconds. */
  readonly baseMs: number;
  /** No delay is ever longer than this, in milliseconds. */
  readonly maxMs: number;
  /**
   * - `equal` (the default): a delay between half the ceiling and the ceiling. Never close to 0, so an
   *   outage is never hammered, while different retriers still spread out.
   * - `full`: a delay between 0 and the ceiling. Spreads retriers the most (best for many independent
   *   clients), but a delay may come out close to 0.
   */
  readonly jitter?: 'equal' | 'full';
}

/**
 * The delay before retry number `attempt` (0-based): the ceiling is `min(maxMs, baseMs * 2^attempt)`, and
 * the delay is drawn below it as the policy's jitter says. `random` returns a number in [0, 1), like
 * `Math.random` (the default); tests pass their own to get fixed delays.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const { baseMs, maxMs } = policy;
  // 2^attempt overflows to Infinity past attempt 1023; Math.min then still gives maxMs.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.floor(attempt)));
  const draw = Math.min(Math.max(random(), 0), 1);
  return policy.jitter === 'full' ? Math.round(draw * ceiling) : Math.round(ceiling / 2 + (draw * ceiling) / 2);
}

/** The backends' watch reconnect: first retry within 125-250 ms, then doubling up to 30 s. */
export const watchReconnectBackoff: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };
