import { performance } from 'node:perf_hooks';
import { Pool, type Container, type ContainerFactory } from '../../lib/index.js';
import { perSecond } from './stats.js';
import { whenFull } from './when-full.js';

export interface PoolShape {
  readonly size: number;
  readonly workers: number;
}

export interface RefillResult<C extends Container> {
  readonly fillMs: number;
  readonly containersPerSecond: number;
  /** The pool, full: the caller measures on it and cleans it up. */
  readonly pool: Pool<C>;
}

/**
 * Times an empty pool of `size` filling up, from its construction (which starts the first creations) to the
 * creation event that makes it full. A failed creation fails the measurement: a fill time that includes
 * retries would not be the pool's speed.
 */
export async function measureRefill<C extends Container>(
  factory: ContainerFactory<C>,
  { size, workers }: PoolShape,
  signal: AbortSignal,
): Promise<RefillResult<C>> {
  const start = performance.now();
  const pool = new Pool(factory, { size, maxWorkers: workers, maxErrorsPerHour: Infinity });
  try {
    await whenFull(pool, { failOnError: true, signal });
  } catch (error) {
    await pool.cleanup({ timeoutMs: 60_000 }).catch(() => undefined);
    throw error;
  }
  const fillMs = performance.now() - start;
  return { fillMs, containersPerSecond: perSecond(size, fillMs), pool };
}
