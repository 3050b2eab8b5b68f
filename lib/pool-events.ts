import type { PoolLogger } from './logger.js';
import type { RemovalReason } from './removal-queue.js';

export interface PoolEvents {
  /** A creation ended. `durationMs` runs from its start to its result or its deadline. */
  creation: { outcome: 'created' | 'failed' | 'timeout'; durationMs: number; error?: Error };
  /** A `get()` ended. `waitMs` is how long it waited; `outcome` says how it ended. */
  checkout: { outcome: 'ready' | 'waited' | 'empty' | 'timeout' | 'aborted' | 'closed'; waitMs: number };
  /**
   * The pool removed one of its containers (never one a caller took): `ok` after `destroy()` succeeded (after
   * `attempts` attempts), `ok: false` once, on its first failure (it is retried until it succeeds).
   */
  destroy: { name: string; reason: RemovalReason; ok: boolean; attempts: number };
  /**
   * A ready container stopped running (the engine's watch said so, or a reconcile did not find it running).
   * It left the ready set, is being removed, and its slot is refilled.
   */
  death: { id: string; name: string; reason: 'died' | 'removed' | 'not-running'; exitCode?: number; oomKilled: boolean };
  /**
   * The engine could not be reached (`unavailable`, with the error; creation paused, ready containers set
   * aside), or it can again (`available`, once a creation succeeded or the pool was full after the outage).
   */
  engine: { state: 'unavailable'; error: Error } | { state: 'available'; outageMs: number };
  /** Too many creations failed in the last hour: none starts before `until` (pool clock). */
  throttle: { until: number; errorsInWindow: number };
}

export type PoolEventName = keyof PoolEvents;
export type PoolListener<E extends PoolEventName> = (event: PoolEvents[E]) => void;

/**
 * A small typed emitter for metrics and logs. A listener that throws is logged and ignored: an observer must
 * never break the pool it observes.
 */
export class PoolEventEmitter {
  readonly #listeners = new Map<PoolEventName, Set<(event: never) => void>>();

  constructor(private readonly logger: PoolLogger) {}

  /** Subscribes; returns a function that unsubscribes. */
  on<E extends PoolEventName>(name: E, listener: PoolListener<E>): () => void {
    let listeners = this.#listeners.get(name);
    if (!listeners) this.#listeners.set(name, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  emit<E extends PoolEventName>(name: E, event: PoolEvents[E]): void {
    const listeners = this.#listeners.get(name);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        (listener as PoolListener<E>)(event);
      } catch (error) {
        this.logger.error(`A ${name} listener threw; ignored`, error);
      }
    }
  }
}
