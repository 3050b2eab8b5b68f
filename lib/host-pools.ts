import { systemClock, type Clock } from './clock.js';
import type { Container } from './container.js';
import { InvalidOptionError, PoolClosedError, UnknownKindError } from './errors.js';
import { HostBudget } from './host-budget.js';
import { Kind, type KindSpec, type KindStatus } from './kind.js';
import { createLogger, type PoolLogger } from './logger.js';
import type { ErrorEntry } from './error-queue.js';
import type { Pool, GetOptions } from './pool.js';
import type { PoolEventName, PoolEvents } from './pool-events.js';

export interface HostPoolsOptions {
  /** Creations in flight at once across all kinds. @default 5 */
  readonly maxCreations?: number;
  /** Containers that exist at once across all kinds: creating, ready, or handed out and not returned. @default Infinity */
  readonly maxContainers?: number;
  readonly clock?: Clock;
  readonly logger?: PoolLogger;
}

/** What `reconfigure()` did, kind by kind. */
export interface ReconfigureReport {
  readonly added: string[];
  /** Kinds no longer configured: their ready containers were removed; containers handed out stay their callers'. */
  readonly removed: string[];
  /** Kinds whose containers changed: a new generation, the old ready containers rolling over to it. */
  readonly rolledOver: string[];
  /** Kinds whose sizing changed only. */
  readonly resized: string[];
}

const poolEventNames: readonly PoolEventName[] = ['creation', 'checkout', 'destroy', 'death', 'engine', 'throttle'];

/** The kind names a host accepts: they go into pool ids and metrics labels. */
const kindNamePattern = /^[a-z0-9][a-z0-9_-]{0,15}$/;

/**
 * The warm pools of one host: one pool per kind of container (an image, an LXC base), all under one engine
 * budget (see HostBudget), each sized by its own demand between its `min` and `max` (see DemandSizer), with
 * maximum ages and image roll-overs that never empty a kind (see Kind).
 *
 * Containers are checked out by kind (`get(kind)`) and given back with `release(container)`, which removes them
 * through the pool that made them: the host counts a container against its budget until then. Pools stay
 * usable alone, as before; this is for a host that keeps several kinds warm.
 */
export class HostPools<C extends Container = Container> implements AsyncDisposable {
  readonly budget: HostBudget;
  readonly #kinds = new Map<string, Kind<C>>();
  /** Kinds removed by a reconfigure, kept until every container they handed out is returned. */
  readonly #retired = new Set<Kind<C>>();
  readonly #clock: Clock;
  readonly #logger: PoolLogger;
  #closed = false;
  /** Every pool's events, with the kind they came from; see `on()`. */
  readonly #listeners = new Map<PoolEventName, Set<(event: never, kind: string) => void>>();

  constructor(kinds: ReadonlyMap<string, KindSpec<C>> | Readonly<Record<string, KindSpec<C>>>, options: HostPoolsOptions = {}) {
    const entries = kindEntries(kinds);
    if (entries.length === 0) throw new InvalidOptionError('kinds', kinds, 'at least one kind');
    this.budget = new HostBudget({ maxCreations: options.maxCreations ?? 5, maxContainers: options.maxContainers ?? Infinity });
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger();
    for (const [name, spec] of entries) this.#kinds.set(name, this.#newKind(name, spec));
  }

  /** The kind names, in the order they were configured. */
  get kinds(): string[] {
    return [...this.#kinds.keys()];
  }

  /** The first kind configured: what a checkout that names no kind gets. */
  get defaultKind(): string {
    const [first] = this.#kinds.keys();
    if (first === undefined) throw new PoolClosedError('The host has no kinds');
    return first;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** The current pool of a kind (its events feed metrics; after a roll-over it is a new pool). */
  pool(kind: string): Pool<C> {
    return this.#kind(kind).pool;
  }

  /**
   * Checks out a ready container of `kind` (the default kind when undefined), with the same waiting rules as
   * `Pool.get`. The caller gives it back with `release()`.
   * @throws UnknownKindError, naming the kinds there are; PoolClosedError after cleanup.
   */
  async get(kind: string | undefined, options: GetOptions = {}): Promise<C | null> {
    if (this.#closed) throw new PoolClosedError();
    return this.#kind(kind ?? this.defaultKind).get(options);
  }

  /**
   * Gives back a container `get()` handed out: the pool that made it removes it (retrying until the engine
   * confirms), and its room in the budget frees once it is gone. False when the host did not hand it out.
   */
  release(container: C): boolean {
    for (const kind of [...this.#kinds.values(), ...this.#retired]) {
      if (!kind.release(container)) continue;
      if (this.#retired.has(kind) && kind.status().held === 0) this.#retired.delete(kind);
      return true;
    }
    return false;
  }

  /** Every pool of every kind (older generations during a roll-over included), with its kind. */
  pools(): { kind: string; pool: Pool<C> }[] {
    return [...this.#kinds.values(), ...this.#retired].flatMap((kind) => kind.pools.map((pool) => ({ kind: kind.name, pool })));
  }

  /**
   * Subscribes to an event of every pool of every kind, now and later (new kinds, new generations), with the
   * kind's name; returns the unsubscribe function.
   */
  on<E extends PoolEventName>(name: E, listener: (event: PoolEvents[E], kind: string) => void): () => void {
    let listeners = this.#listeners.get(name);
    if (!listeners) this.#listeners.set(name, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Takes every pool's queued errors, oldest first within each pool, with their kind. */
  drainErrors(): (ErrorEntry & { kind: string })[] {
    return this.pools().flatMap(({ kind, pool }) => pool.errors.drain().map((entry) => ({ ...entry, kind })));
  }

  /**
   * A container `get()` handed out was removed by its caller (not through `release()`): the host stops counting
   * it against its budget. False when the host did not hand it out.
   */
  forget(container: C): boolean {
    for (const kind of [...this.#kinds.values(), ...this.#retired]) {
      if (!kind.forget(container)) continue;
      if (this.#retired.has(kind) && kind.status().held === 0) this.#retired.delete(kind);
      return true;
    }
    return false;
  }

  /** Every kind's status, in configuration order. */
  status(): KindStatus[] {
    return [...this.#kinds.values()].map((kind) => kind.status());
  }

  /**
   * Applies a new set of kinds: new kinds start, removed kinds drain (their ready containers are removed; ones
   * handed out can still be released), kinds whose version, maximum age or pause setting changed roll over, and
   * kinds whose sizing changed are resized. Containers handed out are never touched.
   */
  async reconfigure(kinds: ReadonlyMap<string, KindSpec<C>> | Readonly<Record<string, KindSpec<C>>>): Promise<ReconfigureReport> {
    if (this.#closed) throw new PoolClosedError();
    const entries = kindEntries(kinds);
    if (entries.length === 0) throw new InvalidOptionError('kinds', kinds, 'at least one kind');
    const next = new Map(entries);
    const report: ReconfigureReport = { added: [], removed: [], rolledOver: [], resized: [] };
    const draining: Promise<string[]>[] = [];
    for (const [name, kind] of [...this.#kinds]) {
      if (next.has(name)) continue;
      this.#kinds.delete(name);
      report.removed.push(name);
      if (kind.status().held > 0) this.#retired.add(kind);
      draining.push(kind.cleanup(0));
    }
    const kept = new Map<string, Kind<C>>();
    for (const [name, spec] of entries) {
      const existing = this.#kinds.get(name);
      if (existing === undefined) {
        kept.set(name, this.#newKind(name, spec));
        report.added.push(name);
        continue;
      }
      kept.set(name, existing);
      (existing.reconfigure(spec) === 'resized' ? report.resized : report.rolledOver).push(name);
    }
    // The new configuration's order: its first kind becomes the default.
    this.#kinds.clear();
    for (const [name, kind] of kept) this.#kinds.set(name, kind);
    this.#logger.info(
      `reconfigured: added ${report.added.join(', ') || 'none'}; removed ${report.removed.join(', ') || 'none'}; rolled over ${report.rolledOver.join(', ') || 'none'}`,
    );
    await Promise.all(draining);
    return report;
  }

  /**
   * Removes every ready container of every kind and stops (see `Pool.cleanup`). Containers handed out stay their
   * callers'; releasing one still removes it. Resolves with the names it could not remove.
   */
  async cleanup(options: { timeoutMs?: number } = {}): Promise<{ notRemoved: string[] }> {
    this.#closed = true;
    const kinds = [...this.#kinds.values(), ...this.#retired];
    const results = await Promise.all(kinds.map((kind) => kind.cleanup(options.timeoutMs ?? 0)));
    return { notRemoved: results.flat() };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  #kind(name: string): Kind<C> {
    const kind = this.#kinds.get(name);
    if (kind === undefined) throw new UnknownKindError(name, this.kinds);
    return kind;
  }

  #newKind(name: string, spec: KindSpec<C>): Kind<C> {
    return new Kind(name, spec, { budget: this.budget, clock: this.#clock, logger: this.#logger, observe: (pool, kind) => this.#observe(pool, kind) });
  }

  /** Forwards a new pool's events to the host's listeners, whenever they subscribed. */
  #observe(pool: Pool<Container>, kind: string): void {
    for (const name of poolEventNames) {
      pool.on(name, (event) => {
        for (const listener of this.#listeners.get(name) ?? []) {
          try {
            (listener as (event: PoolEvents[typeof name], kind: string) => void)(event, kind);
          } catch (error) {
            this.#logger.error(`a ${name} listener threw; ignored`, error);
          }
        }
      });
    }
  }
}

function kindEntries<C extends Container>(kinds: ReadonlyMap<string, KindSpec<C>> | Readonly<Record<string, KindSpec<C>>>): [string, KindSpec<C>][] {
  if (typeof kinds !== 'object' || kinds === null) throw new InvalidOptionError('kinds', kinds, 'a Map or an object of kind specs');
  const entries: [string, KindSpec<C>][] =
    kinds instanceof Map ? [...(kinds as ReadonlyMap<string, KindSpec<C>>)] : Object.entries(kinds as Readonly<Record<string, KindSpec<C>>>);
  for (const [name, spec] of entries) {
    if (!kindNamePattern.test(name)) throw new InvalidOptionError('kind name', name, `a string matching ${String(kindNamePattern)}`);
    const factory = (spec as Partial<KindSpec<C>> | undefined)?.factory;
    if (typeof factory?.createContainer !== 'function') throw new InvalidOptionError(`kinds.${name}.factory`, factory, 'a container factory');
  }
  return entries;
}
