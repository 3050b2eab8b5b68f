/**
 * Time, injectable: the pool reads the time and sets timers only through a Clock, so tests can drive an hour
 * of throttling with a fake clock in milliseconds.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Node clamps delays above 2^31-1 ms to 1 ms, which would turn "wait very long" into "fire at once".
const maxTimerDelayMs = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(Math.max(0, ms), maxTimerDelayMs)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
