import type { TestFn } from 'ava';
import type { Container, ContainerFactory, RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError, errorMessage } from '../../lib/errors.js';
import { Pool, type GetOptions } from '../../lib/pool.js';
import type { PoolOptions } from '../../lib/pool-options.js';
import { createBackendFactory, resolveBackendSettings, type BackendName, type BackendSettings } from '../backend.js';

export interface UsePoolOptions<C extends Container> {
  /** @default 'docker' (ignored when `factory` is given) */
  readonly backend?: BackendName;
  /** Containers kept ready. @default 2 */
  readonly size?: number;
  /** Pool id of the containers, to find them on the engine. @default 'ava' */
  readonly poolId?: string;
  /** Engine settings beyond the fixture engines' defaults (socket, image, lxcpath, base, readiness command). */
  readonly settings?: Partial<Omit<BackendSettings, 'backend' | 'poolId'>>;
  /** Containers from this factory instead of a backend's (for fakes). */
  readonly factory?: ContainerFactory<C>;
  /** Further pool options. */
  readonly pool?: Omit<PoolOptions, 'size'>;
  /** How long `after.always` waits for creations still running. @default 60_000 */
  readonly cleanupTimeoutMs?: number;
}

/** What a test file holds on to. Usable in tests, not at import time: the pool starts in `test.before`. */
export interface TestPool<C extends Container> {
  /** `Pool.get`: a ready container or `null`. The test should destroy it; whatever it forgets, `after.always` does. */
  get(options?: GetOptions): Promise<C | null>;
  /** Like `get`, but rejects with CheckoutTimeoutError, saying what the pool was failing on, instead of `null`. */
  take(options?: GetOptions): Promise<C>;
  /** The pool itself, for its figures (`size`, `errors`...). */
  readonly pool: Pool<C>;
}

/**
 * Gives an ava test file a pool of warm containers: `test.before` starts it, `test.after.always` destroys every
 * container handed out (if the test forgot) and cleans the pool up, even when tests failed.
 *
 *     import test from 'ava';
 *     import { usePool } from '../../harness/testing/ava-pool.js';
 *
 *     const pool = usePool(test, { backend: 'docker', size: 2 });
 *
 *     test('runs in a container', async (t) => {
 *       const c = await pool.take({ timeoutMs: 30_000 });
 *       try {
 *         t.is((await c.exec(['echo', 'hi'])).stdout, 'hi\n');
 *       } finally {
 *         await c.destroy();
 *       }
 *     });
 */
export function usePool<Context, C extends Container = RunnableContainer>(test: TestFn<Context>, options: UsePoolOptions<C> = {}): TestPool<C> {
  let pool: Pool<C> | undefined;
  const handedOut = new Set<C>();
  const started = (): Pool<C> => {
    if (pool === undefined) throw new Error('usePool: the pool starts in test.before; call usePool at the top of the test file and get() inside tests');
    return pool;
  };

  test.before('start the container pool', () => {
    const factory =
      options.factory ??
      (createBackendFactory(
        resolveBackendSettings({ ...options.settings, backend: options.backend ?? 'docker', poolId: options.poolId ?? 'ava' }),
      ) as unknown as ContainerFactory<C>);
    pool = new Pool<C>(factory, { ...options.pool, size: options.size ?? 2 });
  });

  test.after.always('destroy the containers and clean the pool up', async () => {
    const leftovers = [...handedOut];
    handedOut.clear();
    // Destroy is idempotent: destroying again what a test already destroyed costs one engine call.
    const results = await Promise.allSettled(leftovers.map((container) => container.destroy()));
    await pool?.cleanup({ timeoutMs: options.cleanupTimeoutMs ?? 60_000 });
    const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed.length > 0) throw new Error(`usePool: ${failed.length} containers could not be destroyed: ${failed.map((result) => errorMessage(result.reason)).join('; ')}`);
  });

  const get = async (getOptions?: GetOptions): Promise<C | null> => {
    const container = await started().get(getOptions);
    if (container !== null) handedOut.add(container);
    return container;
  };

  return {
    get,
    async take(getOptions?: GetOptions): Promise<C> {
      const container = await get(getOptions);
      if (container !== null) return container;
      const last = started().errors.peek().at(-1);
      throw new CheckoutTimeoutError(
        `No container was ready within ${getOptions?.timeoutMs ?? 0} ms${last === undefined ? '' : `; the pool's last error: ${errorMessage(last.error)}`}`,
      );
    },
    get pool() {
      return started();
    },
  };
}
