import type { Container, Pool } from '../../lib/index.js';

export interface WhenFullOptions {
  /** Rejects with the first failed creation's error instead of waiting for the pool to retry: a bench that
   * measures a failing engine would measure the failures. @default false */
  readonly failOnError?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Resolves when the pool holds `capacity` ready containers, woken by the pool's own creation events: no polling,
 * so waiting costs nothing and adds no delay to what is measured.
 */
export function whenFull<C extends Container>(pool: Pool<C>, options: WhenFullOptions = {}): Promise<void> {
  const { failOnError = false, signal } = options;
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    if (pool.size === pool.capacity) return resolve();
    const onAbort = (): void => {
      finish();
      // An AbortSignal's reason is an Error unless the caller passed something else to abort().
      reject(signal?.reason as Error);
    };
    const stop = pool.on('creation', (event) => {
      if (event.outcome !== 'created' && failOnError) {
        finish();
        reject(event.error ?? new Error(`A creation ended with outcome ${event.outcome}`));
      } else if (pool.size === pool.capacity) {
        finish();
        resolve();
      }
    });
    const finish = (): void => {
      stop();
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
