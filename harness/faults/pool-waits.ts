import type { Container } from '../../lib/container.js';
import type { Pool } from '../../lib/pool.js';

/**
 * Waits, on the pool's own events (no polling), until `done(pool)` holds; resolves false if it still does not
 * after `timeoutMs` or when `signal` aborts.
 */
export function waitForPool<C extends Container>(
  pool: Pool<C>,
  done: (pool: Pool<C>) => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (done(pool)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const unsubscribe = [pool.on('creation', check), pool.on('checkout', check), pool.on('destroy', check)];
    const timer = setTimeout(() => finish(false), timeoutMs);
    const onAbort = (): void => finish(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    function check(): void {
      if (done(pool)) finish(true);
    }
    function finish(result: boolean): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const off of unsubscribe) off();
      resolve(result);
    }
  });
}

/** Until the pool holds `capacity` ready containers. */
export function waitForFullPool<C extends Container>(pool: Pool<C>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return waitForPool(pool, (current) => current.size >= current.capacity, timeoutMs, signal);
}
