import type { Clock } from './clock.js';
import type { Container, ContainerFactory } from './container.js';
import { DemandSizer } from './demand-sizing.js';
import type { HostBudget } from './host-budget.js';
import type { PoolLogger } from './logger.js';
import { Pool, type GetOptions } from './pool.js';
import type { PoolOptions } from './pool-options.js';

/** Pool options a kind may set; size, budget, clock and logger come from its host. */
export type KindPoolOptions = Omit<PoolOptions, 'size' | 'budget' | 'clock' | 'logger' | 'maxAgeMs' | 'pauseIdle'>;

/** One kind of container a host keeps warm: how to make it, and how many to keep. */
export interface KindSpec<C extends Container> {
  readonly factory: ContainerFactory<C>;
  /** Ready containers kept with no demand. An integer from 0 up. @default 1 */
  readonly min?: number;
  /** Ready containers never exceeded, however high the demand. @default max(min, 4) */
  readonly max?: number;
  /** Quiet time before the target comes down toward `min`. Milliseconds; Infinity never shrinks. @default 300_000 */
  readonly idleTtlMs?: number;
  /** The window the checkout rate is measured over (see DemandSizer). @default 60_000 */
  readonly rateWindowMs?: number;
  /** Ready containers older than this are replaced (see PoolOptions.maxAgeMs). @default Infinity */
  readonly maxAgeMs?: number;
  /** Freeze ready containers while idle (see PoolOptions.pauseIdle). @default false */
  readonly pauseIdle?: boolean;
  /** Other pool options: creationTimeoutMs, maxErrorsPerHour, maxWorkers, ... */
  readonly pool?: KindPoolOptions;
  /**
   * What the containers are (an image tag, an LXC base, a hash of the spec). When a reconfigure brings the same
   * kind with another version, its ready containers roll over to the new factory. @default '' (never rolls over)
   */
  readonly version?: string;
}

/** What one kind looks like now, for status and metrics. */
export interface KindStatus {
  readonly name: string;
  /** Ready containers, every generation counted. */
  readonly ready: number;
  /** The size demand asks for now, within [min, max]. */
  readonly target: number;
  readonly min: number;
  readonly max: number;
  /** Creations in flight. */
  readonly creating: number;
  /** Checkouts waiting. */
  readonly waiting: number;
  /** Ready containers paused (pauseIdle). */
  readonly paused: number;
  /** Age of the oldest ready container, ms (0 when none is ready). */
  readonly oldestAgeMs: number;
  /** Containers handed out and not yet returned. */
  readonly held: number;
  /** Older generations still draining after a roll-over. */
  readonly rollingOver: boolean;
}

export interface KindContext {
  readonly budget: HostBudget;
  readonly clock: Clock;
  readonly logger: PoolLogger;
  /** Called with every pool the kind makes (each generation), so its host can follow its events. */
  readonly observe: (pool: Pool<Container>, kind: string) => void;
}

const defaultIdleTtlMs = 300_000;

/**
 * One kind of a host: its pool, sized by a DemandSizer, and during a roll-over the pools of older generations,
 * which shrink by one each time the new generation has one more ready container, so the kind never empties.
 * Checkouts take from the newest generation first, then from older ones rather than wait.
 */
export class Kind<C extends Container> {
  readonly name: string;
  #spec: KindSpec<C>;
  #pool: Pool<C>;
  /** Older generations, newest first, still holding ready containers during a roll-over. */
  #draining: Pool<C>[] = [];
  readonly #sizer: DemandSizer;
  readonly #context: KindContext;
  #reviewTimer: unknown;
  #reviewAt: number | undefined;
  #closed = false;
  /** Containers handed out and not yet returned, by id, with the pool (generation) that made each. */
  readonly #held = new Map<string, Pool<C>>();

  constructor(name: string, spec: KindSpec<C>, context: KindContext) {
    this.name = name;
    this.#spec = spec;
    this.#context = context;
    const min = spec.min ?? 1;
    this.#sizer = new DemandSizer({
      min,
      max: spec.max ?? Math.max(min, 4),
      idleTtlMs: spec.idleTtlMs ?? defaultIdleTtlMs,
      clock: context.clock,
      ...(spec.rateWindowMs === undefined ? {} : { rateWindowMs: spec.rateWindowMs }),
    });
    this.#pool = this.#newPool(spec, this.#sizer.target);
  }

  /** The pool of the current generation. */
  get pool(): Pool<C> {
    return this.#pool;
  }

  /** Every generation's pool, the current one first. */
  get pools(): Pool<C>[] {
    return [this.#pool, ...this.#draining];
  }

  get version(): string {
    return this.#spec.version ?? '';
  }

  /**
   * A checkout: the newest generation's ready container, else an older generation's, else (with a timeout) a wait
   * on the newest. Every checkout tells the sizer how it went, and a miss grows the target at once.
   */
  async get(options: GetOptions = {}): Promise<C | null> {
    // Only a pool with something ready is asked without waiting, so each checkout is one event in its metrics.
    for (const pool of [this.#pool, ...this.#draining]) {
      if (pool.size === 0) continue;
      const container = await pool.get({ ...options, timeoutMs: 0 });
      if (container === null) continue;
      this.#apply(this.#sizer.checkout('ready'));
      if (pool !== this.#pool) this.#rebalance();
      return this.#handOut(container, pool);
    }
    const timeoutMs = options.timeoutMs ?? 0;
    this.#apply(this.#sizer.checkout(timeoutMs === 0 ? 'empty' : 'waited'));
    if (timeoutMs === 0) return null;
    const pool = this.#pool;
    const waiting = pool.get(options);
    this.#apply(this.#sizer.waiting(pool.waiting));
    const container = await waiting;
    this.#apply(this.#sizer.waiting(pool.waiting));
    return container === null ? null : this.#handOut(container, pool);
  }

  /**
   * Takes back a container this kind handed out, to be removed (retried until gone) by the pool that made it;
   * false when this kind did not hand it out (or it was returned already).
   */
  release(container: C): boolean {
    const pool = this.#held.get(container.id);
    if (pool === undefined) return false;
    this.#held.delete(container.id);
    void pool.discard(container);
    return true;
  }

  /** A container this kind handed out was removed by its caller: stop counting it; false when not held. */
  forget(container: C): boolean {
    const pool = this.#held.get(container.id);
    if (pool === undefined) return false;
    this.#held.delete(container.id);
    pool.forget(container);
    return true;
  }

  #handOut(container: C, pool: Pool<C>): C {
    this.#held.set(container.id, pool);
    return container;
  }

  status(): KindStatus {
    const pools = [this.#pool, ...this.#draining];
    return {
      name: this.name,
      ready: pools.reduce((sum, pool) => sum + pool.size, 0),
      target: this.#sizer.target,
      min: this.#sizer.min,
      max: this.#sizer.max,
      creating: pools.reduce((sum, pool) => sum + pool.workerCount, 0),
      waiting: this.#pool.waiting,
      paused: pools.reduce((sum, pool) => sum + pool.paused, 0),
      oldestAgeMs: Math.max(0, ...pools.map((pool) => pool.oldestReadyAgeMs)),
      held: this.#held.size,
      rollingOver: this.#draining.length > 0,
    };
  }

  /**
   * A new spec for this kind. The same version: only sizing changes (min, max, idle TTL), applied in place;
   * a new maximum age or pause setting also makes a new generation. Another version: a new generation with the
   * new factory, and the ready containers of the old one roll over to it.
   */
  reconfigure(spec: KindSpec<C>): 'resized' | 'rolled-over' {
    const min = spec.min ?? 1;
    const sizing = { min, max: spec.max ?? Math.max(min, 4), idleTtlMs: spec.idleTtlMs ?? defaultIdleTtlMs };
    const sameContainers =
      (spec.version ?? '') === this.version && (spec.maxAgeMs ?? Infinity) === (this.#spec.maxAgeMs ?? Infinity) && (spec.pauseIdle ?? false) === (this.#spec.pauseIdle ?? false);
    this.#sizer.reconfigure(sizing);
    if (sameContainers) {
      this.#spec = spec;
      this.#apply(true);
      return 'resized';
    }
    this.#context.logger.info(`kind ${this.name}: rolling over to version ${JSON.stringify(spec.version ?? '')}`);
    const old = this.#pool;
    this.#spec = spec;
    this.#pool = this.#newPool(spec, this.#sizer.target);
    this.#draining.unshift(old);
    this.#rebalance();
    return 'rolled-over';
  }

  /** Removes every ready container of every generation and stops; held containers stay their callers'. */
  async cleanup(timeoutMs: number): Promise<string[]> {
    this.#closed = true;
    this.#context.clock.clearTimeout(this.#reviewTimer);
    this.#reviewTimer = undefined;
    const results = await Promise.all([this.#pool, ...this.#draining].map((pool) => pool.cleanup({ timeoutMs })));
    return results.flatMap((result) => result.notRemoved);
  }

  #newPool(spec: KindSpec<C>, size: number): Pool<C> {
    const { budget, clock, logger } = this.#context;
    const pool = new Pool<C>(spec.factory, {
      ...spec.pool,
      size,
      budget,
      clock,
      logger,
      ...(spec.maxAgeMs === undefined ? {} : { maxAgeMs: spec.maxAgeMs }),
      ...(spec.pauseIdle === undefined ? {} : { pauseIdle: spec.pauseIdle }),
    });
    this.#context.observe(pool as unknown as Pool<Container>, this.name);
    pool.on('creation', (event) => {
      if (event.outcome !== 'created') return;
      this.#sizer.created(event.durationMs);
      if (this.#draining.length > 0) this.#rebalance();
    });
    return pool;
  }

  /**
   * During a roll-over the older generations keep what the new one lacks of the target, and nothing more: each
   * new container ready removes one old one. A generation with nothing left is cleaned up.
   */
  #rebalance(): void {
    let missing = Math.max(0, this.#sizer.target - this.#pool.size);
    for (const pool of [...this.#draining]) {
      const keep = Math.min(pool.size, missing);
      pool.resize(keep);
      missing -= keep;
      if (keep === 0 && pool.size === 0) {
        this.#draining = this.#draining.filter((other) => other !== pool);
        void pool.cleanup();
      }
    }
  }

  /** A new target: resize the pool (surplus ready containers go off the checkout path) and plan the next review. */
  #apply(changed: boolean): void {
    if (this.#closed) return;
    if (changed) {
      this.#pool.resize(this.#sizer.target);
      if (this.#draining.length > 0) this.#rebalance();
    }
    this.#scheduleReview();
  }

  #scheduleReview(): void {
    const { clock } = this.#context;
    const at = this.#sizer.nextReviewAt();
    if (at === this.#reviewAt) return;
    clock.clearTimeout(this.#reviewTimer);
    this.#reviewTimer = undefined;
    this.#reviewAt = at;
    if (at === undefined) return;
    this.#reviewTimer = clock.setTimeout(
      () => {
        this.#reviewTimer = undefined;
        this.#reviewAt = undefined;
        this.#apply(this.#sizer.review());
      },
      Math.max(0, at - clock.now()),
    );
  }
}
