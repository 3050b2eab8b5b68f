import type { Container } from '../../lib/container.js';
import type { ErrorEntry } from '../../lib/error-queue.js';
import { UnknownKindError } from '../../lib/errors.js';
import type { KindStatus } from '../../lib/kind.js';
import type { GetOptions, Pool } from '../../lib/pool.js';
import type { PoolEventName, PoolEvents } from '../../lib/pool-events.js';

/**
 * What the pool service serves: the kinds of one host. `HostPools` is one; `onePoolKinds` makes one of a
 * single Pool (a service built around one pool, as tests and embedders do).
 */
export interface ServedKinds<C extends Container> {
  readonly kinds: string[];
  readonly defaultKind: string;
  get(kind: string | undefined, options?: GetOptions): Promise<C | null>;
  /** The caller removed a container it was handed: stop counting it (host budget). */
  forget(container: C): boolean;
  status(): KindStatus[];
  /** Every pool, with its kind (several per kind during a roll-over). */
  pools(): { kind: string; pool: Pool<C> }[];
  on<E extends PoolEventName>(name: E, listener: (event: PoolEvents[E], kind: string) => void): () => void;
  drainErrors(): (ErrorEntry & { kind: string })[];
  cleanup(options?: { timeoutMs?: number }): Promise<{ notRemoved: string[] }>;
}

/** The name a single pool is served under. */
export const onePoolKindName = 'default';

/** A single pool as the one kind of a service. */
export function onePoolKinds<C extends Container>(pool: Pool<C>, name = onePoolKindName): ServedKinds<C> {
  let held = 0;
  return {
    kinds: [name],
    defaultKind: name,
    async get(kind, options) {
      if (kind !== undefined && kind !== name) throw new UnknownKindError(kind, [name]);
      const container = await pool.get(options);
      if (container !== null) held++;
      return container;
    },
    forget(container) {
      pool.forget(container);
      held = Math.max(0, held - 1);
      return true;
    },
    status: () => [
      {
        name,
        ready: pool.size,
        target: pool.capacity,
        min: pool.capacity,
        max: pool.capacity,
        creating: pool.workerCount,
        waiting: pool.waiting,
        paused: pool.paused,
        oldestAgeMs: pool.oldestReadyAgeMs,
        held,
        rollingOver: false,
      },
    ],
    pools: () => [{ kind: name, pool }],
    on: (event, listener) => pool.on(event, (payload) => listener(payload, name)),
    drainErrors: () => pool.errors.drain().map((entry) => ({ ...entry, kind: name })),
    cleanup: (options) => pool.cleanup(options),
  };
}
