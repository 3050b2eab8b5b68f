import type { PoolLogger } from './logger.js';

export interface PoolEvents {
  /** A creation ended. `durationMs` runs from its start to its result or its deadline. */
  creation: { outcome: 'created' | 'failed' | 'timeout'; durationMs: number; error?: Error };
  /** A `get()` ended. `waitMs` is how long it waited; `outcome` says how it ended. */
  checkout: { outcome: 'ready' | 'waited' | 'empty' | 'timeout' | 'aborted' | 'closed'; waitMs: number };
  /** The pool destroyed one of its containers (never one a caller took). */
  destroy: { name: string; reason: 'late' | 'cleanup'; ok: boolean };
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
