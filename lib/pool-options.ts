import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { InvalidOptionError } from './errors.js';
import { HostBudget } from './host-budget.js';
import { createLogger, type PoolLogger } from './logger.js';

export interface PoolOptions {
  /**
   * Containers kept ready. The monitor keeps `ready + creating <= size`; `resize()` changes it.
   * An integer from 0 up (0 keeps none: a pool whose size an owner raises on demand).
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
  /**
   * During an engine outage (a creation rejected with EngineUnavailableError) the pool probes the engine with
   * `listRunning()`, or one creation when the factory has none, first after 125-250 ms, then doubling with
   * jitter up to this. Milliseconds, greater than 0.
   * @default 5000
   */
  readonly engineProbeMaxMs?: number;
  /**
   * From the second creation in a row that fails (not counting engine outages), the next one waits a jittered
   * delay that starts below this and doubles; creations then run one at a time until one succeeds.
   * Milliseconds from 0 up; 0 turns this backoff off.
   * @default 250
   */
  readonly creationBackoffBaseMs?: number;
  /**
   * The longest delay of the creation backoff. Milliseconds, at least `creationBackoffBaseMs`.
   * @default 30_000
   */
  readonly creationBackoffMaxMs?: number;
  /**
   * A removal whose `destroy()` failed is retried until it succeeds, after jittered delays that start at
   * 125-250 ms and double up to this. Milliseconds, greater than 0.
   * @default 30_000
   */
  readonly removalRetryMaxMs?: number;
  /**
   * A ready container older than this (from the end of its creation) is replaced: a new one is created first,
   * then the old one removed, a few at a time, so the pool never empties for it. Until its replacement is ready
   * it may still be handed out. Milliseconds above 0; Infinity (the default) for no maximum age.
   * @default Infinity
   */
  readonly maxAgeMs?: number;
  /**
   * Freeze ready containers while they wait (the container's `pause()`) and thaw them at checkout (`resume()`),
   * so idle containers burn no CPU. Needs a factory whose containers have both methods.
   * @default false
   */
  readonly pauseIdle?: boolean;
  /**
   * A budget shared with other pools of the host (creations in flight, containers that exist); `HostPools` gives
   * one to each kind. Without it the pool is bounded by `size` and `maxWorkers` alone.
   */
  readonly budget?: HostBudget;
  /** The jitter's random source, a function returning [0, 1) like `Math.random`, for tests. @default Math.random */
  readonly random?: () => number;
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
  readonly engineProbeMaxMs: number;
  readonly creationBackoffBaseMs: number;
  readonly creationBackoffMaxMs: number;
  readonly removalRetryMaxMs: number;
  readonly maxAgeMs: number;
  readonly pauseIdle: boolean;
  readonly budget: HostBudget | undefined;
  readonly random: () => number;
  readonly clock: Clock;
  readonly logger: PoolLogger;
}

const knownOptions = new Set([
  'size',
  'maxWorkers',
  'creationTimeoutMs',
  'maxErrorsPerHour',
  'errorQueueCapacity',
  'engineProbeMaxMs',
  'creationBackoffBaseMs',
  'creationBackoffMaxMs',
  'removalRetryMaxMs',
  'maxAgeMs',
  'pauseIdle',
  'budget',
  'random',
  'clock',
  'logger',
]);

/** A pool size: an integer from 0 up. */
export function validatePoolSize(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw new InvalidOptionError('size', value, 'an integer from 0 up');
}

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

/** A delay the pool waits for, so it must be finite: "retry after Infinity" would mean never retrying. */
function finiteDurationMs(name: string, value: unknown, minimum: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= minimum) return value;
  const expected = minimum === 0 ? 'a finite number of milliseconds from 0 up' : 'a finite number of milliseconds above 0';
  throw new InvalidOptionError(name, value, expected);
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
  const random = given.random ?? Math.random;
  if (typeof random !== 'function') throw new InvalidOptionError('random', random, 'a function returning a number in [0, 1), like Math.random');
  const budget = given.budget;
  if (budget !== undefined && !(budget instanceof HostBudget)) throw new InvalidOptionError('budget', budget, 'a HostBudget');
  const pauseIdle = given.pauseIdle ?? false;
  if (typeof pauseIdle !== 'boolean') throw new InvalidOptionError('pauseIdle', pauseIdle, 'true or false');
  const creationBackoffBaseMs = finiteDurationMs('creationBackoffBaseMs', given.creationBackoffBaseMs ?? 250, 0);
  const creationBackoffMaxMs = finiteDurationMs('creationBackoffMaxMs', given.creationBackoffMaxMs ?? Math.max(30_000, creationBackoffBaseMs), 0);
  if (creationBackoffMaxMs < creationBackoffBaseMs) {
    throw new InvalidOptionError('creationBackoffMaxMs', creationBackoffMaxMs, `a number of milliseconds at least creationBackoffBaseMs (${creationBackoffBaseMs})`);
  }
  return {
    size: validatePoolSize(given.size),
    maxWorkers: positiveInteger('maxWorkers', given.maxWorkers ?? 5),
    creationTimeoutMs:
      given.creationTimeoutMs === undefined ? 600_000 : validateDurationMs('creationTimeoutMs', given.creationTimeoutMs, Number.MIN_VALUE),
    maxErrorsPerHour: positiveInteger('maxErrorsPerHour', given.maxErrorsPerHour ?? 200, true),
    errorQueueCapacity: positiveInteger('errorQueueCapacity', given.errorQueueCapacity ?? 1000),
    engineProbeMaxMs: finiteDurationMs('engineProbeMaxMs', given.engineProbeMaxMs ?? 5_000, Number.MIN_VALUE),
    creationBackoffBaseMs,
    creationBackoffMaxMs,
    removalRetryMaxMs: finiteDurationMs('removalRetryMaxMs', given.removalRetryMaxMs ?? 30_000, Number.MIN_VALUE),
    maxAgeMs: validateDurationMs('maxAgeMs', given.maxAgeMs ?? Infinity, Number.MIN_VALUE),
    pauseIdle,
    budget,
    random: random as () => number,
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
