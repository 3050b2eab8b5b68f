import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { InvalidOptionError } from './errors.js';
import { createLogger, type PoolLogger } from './logger.js';

export interface PoolOptions {
  /**
   * Containers kept ready. The monitor keeps `ready + creating <= size`.
   * An integer from 1 up.
   */
  readonly size: number;
  /**
   * Creations in flight at once. A creation that timed out stops counting at once, though its promise may
   * still be running (its late container is destroyed).
   * An integer from 1 up.
   * @default 5
   */
  readonly maxWorkers?: number;
  /**
   * How long one creation may take before it is cancelled and a `WorkerTimeoutError` is queued.
   * Milliseconds, greater than 0; `Infinity` for no limit.
   * @default 600_000
   */
  readonly creationTimeoutMs?: number;
  /**
   * When this many creations have failed within the last hour, no new creation starts until the oldest of
   * them is an hour old. An integer from 1 up, or `Infinity` to never throttle.
   * @default 200
   */
  readonly maxErrorsPerHour?: number;
  /**
   * Most entries the error queue holds; older ones are dropped and counted in `pool.errors.dropped`.
   * @default 1000
   */
  readonly errorQueueCapacity?: number;
  /** Time source, for tests. @default the system clock */
  readonly clock?: Clock;
  /** @default a tslog logger, silent unless `WARMPOOL_LOG_LEVEL` says otherwise */
  readonly logger?: PoolLogger;
}

export interface ResolvedPoolOptions {
  readonly size: number;
  readonly maxWorkers: number;
  readonly creationTimeoutMs: number;
  readonly maxErrorsPerHour: number;
  readonly errorQueueCapacity: number;
  readonly clock: Clock;
  readonly logger: PoolLogger;
}

const knownOptions = new Set([
  'size',
  'maxWorkers',
  'creationTimeoutMs',
  'maxErrorsPerHour',
  'errorQueueCapacity',
  'clock',
  'logger',
]);

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

function positiveInteger(name: string, value: unknown, allowInfinity = false): number {
  if (isPositiveInteger(value) || (allowInfinity && value === Infinity)) return value;
  throw new InvalidOptionError(name, value, `an integer from 1 up${allowInfinity ? ' or Infinity' : ''}`);
}

/** Validates a duration that must be a number of milliseconds >= `minimum` (`Infinity` allowed). */
export function validateDurationMs(name: string, value: unknown, minimum: number): number {
  if (typeof value === 'number' && !Number.isNaN(value) && value >= minimum) return value;
  const expected = minimum === 0 ? 'a number of milliseconds from 0 up' : 'a number of milliseconds above 0';
  throw new InvalidOptionError(name, value, `${expected} (Infinity allowed)`);
}

export function resolvePoolOptions(options: unknown): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with at least `size`');
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw new InvalidOptionError(key, (options as Record<string, unknown>)[key], 'a known pool option (is it a typo?)');
  }
  const given = options as Partial<Record<keyof PoolOptions, unknown>>;
  const clock = given.clock ?? systemClock;
  if (!isClock(clock)) throw new InvalidOptionError('clock', clock, 'an object with now(), setTimeout() and clearTimeout()');
  const logger = given.logger ?? createLogger();
  if (!isLogger(logger)) throw new InvalidOptionError('logger', logger, 'an object with debug(), info(), warn() and error()');
  return {
    size: positiveInteger('size', given.size),
    maxWorkers: positiveInteger('maxWorkers', given.maxWorkers ?? 5),
    creationTimeoutMs:
      given.creationTimeoutMs === undefined ? 600_000 : validateDurationMs('creationTimeoutMs', given.creationTimeoutMs, Number.MIN_VALUE),
    maxErrorsPerHour: positiveInteger('maxErrorsPerHour', given.maxErrorsPerHour ?? 200, true),
    errorQueueCapacity: positiveInteger('errorQueueCapacity', given.errorQueueCapacity ?? 1000),
    clock,
    logger,
  };
}

function isClock(value: unknown): value is Clock {
  const candidate = value as Partial<Clock> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.now === 'function' &&
    typeof candidate.setTimeout === 'function' &&
    typeof candidate.clearTimeout === 'function'
  );
}

function isLogger(value: unknown): value is PoolLogger {
  const candidate = value as Partial<PoolLogger> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    (['debug', 'info', 'warn', 'error'] as const).every((method) => typeof candidate[method] === 'function')
  );
}
