import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for whichever comes first: `ended` (what the caller waits for), the timeout, or the abort. The timer and
 * the abort listener never outlive the wait. Shared by Docker's engine exec and both backends' agent exec.
 */
export async function waitForEnd<T extends string>(
  ended: Promise<T>,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
): Promise<T | 'timedOut' | 'aborted'> {
  const cleanup = new AbortController();
  try {
    const racers: Promise<T | 'timedOut' | 'aborted'>[] = [ended];
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      // Cancelled in `finally`, once the race is decided: its rejection then must not win anything.
      racers.push(sleep(timeoutMs, 'timedOut' as const, { signal: cleanup.signal }).catch(() => new Promise<never>(() => undefined)));
    }
    if (signal !== undefined) {
      racers.push(
        new Promise((resolve) => {
          if (signal.aborted) resolve('aborted');
          signal.addEventListener('abort', () => resolve('aborted'), { once: true, signal: cleanup.signal });
        }),
      );
    }
    return await Promise.race(racers);
  } finally {
    cleanup.abort();
  }
}

/**
 * Resolves once `stream` has ended, closed or failed: for an output stream whose end is news, not an error
 * (the agent's output closing when the command or its container is gone).
 */
export function streamClosed(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/** Waits for `promise`, but no longer than `ms`; the timer never outlives the wait. */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  try {
    await Promise.race([promise, sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
  } finally {
    timer.abort();
  }
}

/** A command line for error messages, cut to 80 characters. */
export function describeArgv(argv: readonly string[]): string {
  return JSON.stringify(argv.join(' ').slice(0, 80));
}
