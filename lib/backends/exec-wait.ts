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

/** A command line for error messages, cut to 80 characters. */
export function describeArgv(argv: readonly string[]): string {
  return JSON.stringify(argv.join(' ').slice(0, 80));
}
