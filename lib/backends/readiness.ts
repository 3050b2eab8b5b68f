import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { ReadinessFailedError } from '../errors.js';

/** What one run of a readiness command gave (an ExecResult fits). */
export interface ReadinessAttemptResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ReadinessCheck {
  /** For the error: which container never became ready. */
  readonly containerName: string;
  /** For the error: the command `attempt` runs. */
  readonly command: readonly string[];
  /**
   * Runs the command once. `signal` aborts when the readiness deadline passes or the creation is cancelled: stop
   * the command then (the loop does not wait for an attempt that ignores it). Should reject when the container
   * cannot run commands any more (it stopped, it is gone).
   */
  attempt(signal: AbortSignal): Promise<ReadinessAttemptResult>;
  /**
   * Asked only after an attempt rejected: resolves with why the container no longer runs, or undefined while it
   * still runs. A stopped container ends the wait with ReadinessFailedError (the reason is its `cause`); a
   * rejection from a running container (the engine failing, say) is rethrown as it is. Without this hook every
   * rejection is rethrown.
   */
  stopped?(): Promise<Error | undefined>;
  /** The readiness deadline, from the first attempt; Infinity for none. */
  readonly timeoutMs: number;
  /** Pause between a failed attempt and the next. */
  readonly intervalMs: number;
  /** The creation's signal: its abort ends the wait with its reason, not with a readiness error. */
  readonly signal: AbortSignal;
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * Readiness gets a deadline of its own, well short of a creation's (10 minutes by default), so a readiness
 * command that hangs or never succeeds shows up as a readiness failure within seconds instead of a creation
 * timeout much later.
 */
export const defaultReadinessTimeoutMs = 30_000;

/** The error keeps the end of the output, where the reason usually is. */
const maxOutputChars = 1_000;

/**
 * Runs `check.attempt` until the command exits 0, pausing `intervalMs` after each failure, for at most
 * `timeoutMs`. Each attempt is bounded by what is left of that deadline, so a hanging command cannot hang the
 * loop. Shared by the backends so they all fail readiness the same way.
 * @throws ReadinessFailedError when the deadline passes (`timedOut`) or the container stopped (`cause` says how);
 *   `signal.reason` when the creation's signal aborts; an attempt's own rejection while the container still runs.
 */
export async function waitUntilReady(check: ReadinessCheck): Promise<void> {
  const { signal, timeoutMs, intervalMs, clock = systemClock } = check;
  signal.throwIfAborted();
  const started = clock.now();
  const deadline = started + timeoutMs;
  let last: ReadinessAttemptResult | undefined;

  const failure = (timedOut: boolean, cause?: Error): ReadinessFailedError => {
    const output = last === undefined ? '' : `${last.stdout}${last.stderr}`.trim().slice(-maxOutputChars);
    return new ReadinessFailedError(
      check.containerName,
      check.command,
      clock.now() - started,
      timedOut,
      output,
      last?.exitCode,
      cause === undefined ? undefined : { cause },
    );
  };

  for (;;) {
    const bound = boundedSignal(signal, deadline - clock.now(), clock);
    try {
      let result: ReadinessAttemptResult;
      try {
        result = await untilAborted(() => check.attempt(bound.signal), bound.signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (bound.deadlinePassed()) throw failure(true);
        const stopped = await check.stopped?.();
        if (stopped !== undefined) throw failure(false, stopped);
        throw error;
      }
      if (result.exitCode === 0) return;
      last = result;
      await pause(intervalMs, bound.signal, clock);
      if (signal.aborted) throw signal.reason;
      if (bound.deadlinePassed()) throw failure(true);
    } finally {
      bound.dispose();
    }
  }
}

interface BoundedSignal {
  /** Aborts when `outer` does or the deadline passes. */
  readonly signal: AbortSignal;
  deadlinePassed(): boolean;
  /** Clears the timer and the listener on `outer`. */
  dispose(): void;
}

class DeadlinePassed extends Error {}

function boundedSignal(outer: AbortSignal, remainingMs: number, clock: Clock): BoundedSignal {
  const controller = new AbortController();
  const forward = (): void => controller.abort(outer.reason);
  outer.addEventListener('abort', forward, { once: true });
  const expire = (): void => controller.abort(new DeadlinePassed('the readiness deadline passed'));
  let timer: unknown;
  if (remainingMs <= 0) expire();
  else if (Number.isFinite(remainingMs)) timer = clock.setTimeout(expire, remainingMs);
  return {
    signal: controller.signal,
    deadlinePassed: () => controller.signal.reason instanceof DeadlinePassed,
    dispose() {
      if (timer !== undefined) clock.clearTimeout(timer);
      outer.removeEventListener('abort', forward);
    },
  };
}

/**
 * Settles as `run()` does, or rejects with `signal.reason` as soon as the signal aborts. Whatever `run()` does
 * later is handled, so an attempt that ignored the abort and fails afterwards raises no unhandled rejection.
 */
function untilAborted<T>(run: () => Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    Promise.resolve()
      .then(run)
      .then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: Error) => {
          settle();
          reject(error);
        },
      );
  });
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller looks at why). */
function pause(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
