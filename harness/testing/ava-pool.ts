import type { TestFn } from 'ava';
import type { Container, ContainerFactory, RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError, InvalidOptionError, UnknownKindError, errorMessage } from '../../lib/errors.js';
import { Pool, type GetOptions } from '../../lib/pool.js';
import type { PoolOptions } from '../../lib/pool-options.js';
import { createBackendFactory, resolveBackendSettings, type BackendName, type BackendSettings } from '../backend.js';
import { PoolClient } from '../client/pool-client.js';
import { oneKindName } from '../config/one-kind-config.js';

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
  /**
   * Check containers out of the `warmpool serve` listening on this socket instead of starting a pool of its own
   * (then `backend`, `size`, `poolId`, `factory` and `pool` do not apply; `settings.dockerSocket` is the engine
   * its Docker containers are reached on). The service removes what the file's tests leave when it disconnects.
   */
  readonly socket?: string;
  /**
   * The kind of container `get()` checks out: one of the service's kinds (its first when not given). A pool of
   * its own is one kind, `default`.
   */
  readonly kind?: string;
}

/** What a test file holds on to. Usable in tests, not at import time: the pool starts in `test.before`. */
export interface TestPool<C extends Container> {
  /** `Pool.get`: a ready container or `null`. The test should destroy it; whatever it forgets, `after.always` does. */
  get(options?: GetOptions): Promise<C | null>;
  /** Like `get`, but rejects with CheckoutTimeoutError, saying what the pool was failing on, instead of `null`. */
  take(options?: GetOptions): Promise<C>;
  /** The pool itself, for its figures (`size`, `errors`...). Not with `socket`: the service holds the pools. */
  readonly pool: Pool<C>;
}

/** Where a test file's containers come from: a pool of its own, or a service's pool of one kind. */
interface Checkouts<C extends Container> {
  get(options: GetOptions): Promise<C | null>;
  /** Why checkouts may be failing, for `take()`'s message (the pool's last error). */
  lastError(): string | undefined;
  close(): Promise<void>;
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
 *
 * Or containers of one kind from a running `warmpool serve --config lab.json`:
 *
 *     const py = usePool(test, { socket: '/run/warmpool/lab.sock', kind: 'py311' });
 */
export function usePool<Context, C extends Container = RunnableContainer>(test: TestFn<Context>, options: UsePoolOptions<C> = {}): TestPool<C> {
  const { kind, socket } = options;
  if (kind !== undefined && (typeof kind !== 'string' || kind === '')) throw new InvalidOptionError('kind', kind, 'a kind name');
  // Refused here, as the file loads: every test of it would fail the same way.
  if (socket === undefined && kind !== undefined && kind !== oneKindName) throw new UnknownKindError(kind, [oneKindName]);
  let pool: Pool<C> | undefined;
  let checkouts: Checkouts<C> | undefined;
  const handedOut = new Set<C>();
  const started = (): Checkouts<C> => {
    if (checkouts === undefined) throw new Error('usePool: the pool starts in test.before; call usePool at the top of the test file and get() inside tests');
    return checkouts;
  };

  test.before(socket === undefined ? 'start the container pool' : 'connect to the pool service', async () => {
    if (socket !== undefined) {
      checkouts = await serviceCheckouts<C>(socket, kind, options.settings?.dockerSocket);
      return;
    }
    const factory =
      options.factory ??
      (createBackendFactory(
        resolveBackendSettings({ ...options.settings, backend: options.backend ?? 'docker', poolId: options.poolId ?? 'ava' }),
      ) as unknown as ContainerFactory<C>);
    const own = new Pool<C>(factory, { ...options.pool, size: options.size ?? 2 });
    pool = own;
    checkouts = {
      get: (getOptions) => own.get(getOptions),
      lastError: () => {
        const last = own.errors.peek().at(-1);
        return last === undefined ? undefined : `the pool's last error: ${errorMessage(last.error)}`;
      },
      close: async () => {
        await own.cleanup({ timeoutMs: options.cleanupTimeoutMs ?? 60_000 });
      },
    };
  });

  test.after.always(socket === undefined ? 'destroy the containers and clean the pool up' : 'destroy the containers and disconnect', async () => {
    const leftovers = [...handedOut];
    handedOut.clear();
    // Destroy is idempotent: destroying again what a test already destroyed costs one engine call.
    const results = await Promise.allSettled(leftovers.map((container) => container.destroy()));
    await checkouts?.close();
    const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed.length > 0) throw new Error(`usePool: ${failed.length} containers could not be destroyed: ${failed.map((result) => errorMessage(result.reason)).join('; ')}`);
  });

  const get = async (getOptions: GetOptions = {}): Promise<C | null> => {
    const container = await started().get(getOptions);
    if (container !== null) handedOut.add(container);
    return container;
  };

  return {
    get,
    async take(getOptions?: GetOptions): Promise<C> {
      const container = await get(getOptions);
      if (container !== null) return container;
      const why = started().lastError();
      const what = kind === undefined ? 'container' : `container of kind ${kind}`;
      throw new CheckoutTimeoutError(`No ${what} was ready within ${getOptions?.timeoutMs ?? 0} ms${why === undefined ? '' : `; ${why}`}`);
    },
    get pool() {
      started();
      if (pool === undefined) throw new Error('usePool: with `socket` the containers come from the service; there is no pool in this process');
      return pool;
    },
  };
}

/** Checkouts of one kind from the service at `socket`, over one connection that `close()` ends. */
async function serviceCheckouts<C extends Container>(socket: string, kind: string | undefined, dockerSocket: string | undefined): Promise<Checkouts<C>> {
  const client = await PoolClient.connect({ socketPath: socket, ...(dockerSocket === undefined ? {} : { dockerSocket }) });
  return {
    // A service's containers are RunnableContainers; C is that unless the caller claimed otherwise.
    get: async (getOptions) => (await client.get({ ...getOptions, ...(kind === undefined ? {} : { kind }) })) as unknown as C | null,
    lastError: () => undefined,
    close: () => client.close(),
  };
}
