import { systemClock, type Clock } from '../../lib/clock.js';
import type { Container, ContainerFactory, RunnableContainer } from '../../lib/container.js';
import { UnknownKindError } from '../../lib/errors.js';
import { Pool } from '../../lib/pool.js';
import type { PoolOptions } from '../../lib/pool-options.js';
import { oneKindName } from '../config/one-kind-config.js';
import { CheckoutWatch } from './checkout-watch.js';

export interface CheckoutOptions {
  /** Give up after this long; Infinity waits for as long as it takes. */
  readonly timeoutMs: number;
  /** Aborting it rejects the checkout with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The kind of container (see `kinds`). @default the source's default kind */
  readonly kind?: string;
}

/**
 * Where the scheduler gets its containers: a pool in this process, the pools of a host's kinds, or a
 * `warmpool serve` service. A container checked out is the caller's; destroying it is how the caller gives it
 * back (and then it tells the source with `removed`).
 */
export interface ContainerSource {
  /**
   * Resolves with a ready container of `kind`. Rejects when none could be had within `timeoutMs`
   * (CheckoutTimeoutError, saying what the pool was failing on), when the source knows none can be had at all
   * (e.g. ImageUnavailableError, UnknownKindError), or with `signal.reason` on abort.
   */
  checkout(options: CheckoutOptions): Promise<RunnableContainer>;
  /**
   * The kinds of container it has, the default (what a checkout naming none gets) first; the scheduler checks
   * every job's kind against them before it runs anything. Absent when the source cannot tell in advance.
   */
  readonly kinds?: readonly string[];
  /** Ready containers now, all kinds together, for the progress display. */
  ready(): number;
  /** Containers the source tries to keep ready now, all kinds together. */
  readonly capacity: number;
  /**
   * Optional. Called once a container was found dead at first use: whatever killed it (an engine restart) may
   * have killed the other ready containers too, so the source drops the dead ones in one engine call before the
   * next checkout, instead of handing them out one by one. Never rejects; resolves early when `signal` aborts.
   */
  dropDead?(signal?: AbortSignal): Promise<void>;
  /**
   * Optional. At most `count` more checkouts of `kind` will come, beyond those already made: the jobs of the
   * suite that have not started. A source that makes containers stops making ones no job would take, so the end
   * of a run does not spend the engine on them while its last jobs run. Retries and replacements are checkouts
   * beyond the count, served all the same. @throws UnknownKindError for a kind the source does not have
   */
  expectCheckouts?(kind: string, count: number): void;
  /**
   * Optional. A container it handed out was removed by the caller (the engine confirmed): a source that counts
   * containers against a host budget stops counting it.
   */
  removed?(container: Container): void;
  /** Names of the source's own containers its `close()` could not remove (set once `close()` has resolved). */
  readonly notRemoved?: readonly string[];
  /** Gives back what the source holds (an in-process pool is cleaned up). Idempotent. */
  close(): Promise<void>;
}

/** How long `close()` waits for creations still in flight and failed removals, so nothing outlives the run. */
export const closeTimeoutMs = 60_000;

/** How much engine outage a checkout may sit out without counting it against its timeout. */
export const defaultMaxOutageWaitMs = 300_000;

export interface PoolSourceOptions {
  /** @default the system clock (the pool's, when started with `start`) */
  readonly clock?: Clock;
  /**
   * While the pool reports the engine unavailable, a checkout's timeout stands still, for at most this long in
   * all: jobs wait through a short outage and run after it. @default 300_000
   */
  readonly maxOutageWaitMs?: number;
  /** The name of its one kind: a checkout may name it, or none. @default 'default', as a one-kind config's */
  readonly kind?: string;
}

/**
 * Containers from a Pool in this process: one kind. It watches the pool's creations: once one fails in a way no
 * retry can fix (the image or LXC base is missing), waiting checkouts fail at once with that error instead of
 * each sitting out its whole checkout timeout. It watches the engine's state too: while the pool reports the
 * engine unavailable, checkout timeouts stand still (see `maxOutageWaitMs`). See CheckoutWatch.
 */
export class PoolSource implements ContainerSource {
  readonly #pool: Pool<RunnableContainer>;
  readonly #watch: CheckoutWatch;
  readonly kinds: readonly string[];
  readonly #unsubscribe: (() => void)[];
  readonly #errorListeners = new Set<(error: Error, kind: string) => void>();
  #closing: Promise<void> | undefined;
  #notRemoved: readonly string[] = [];

  constructor(pool: Pool<RunnableContainer>, options: PoolSourceOptions = {}) {
    this.#pool = pool;
    this.kinds = [options.kind ?? oneKindName];
    this.#watch = new CheckoutWatch(options.clock ?? systemClock, options.maxOutageWaitMs ?? defaultMaxOutageWaitMs);
    this.#unsubscribe = [
      pool.on('creation', ({ error }) => {
        if (error === undefined) return;
        for (const listener of this.#errorListeners) listener(error, this.#kind);
        this.#watch.creationFailed(error);
      }),
      pool.on('engine', (event) => this.#watch.engineChanged(event.state)),
    ];
  }

  /** Starts a pool of `options.size` containers from `factory`; `close()` cleans it up. */
  static start(factory: ContainerFactory<RunnableContainer>, options: PoolOptions, sourceOptions: PoolSourceOptions = {}): PoolSource {
    return new PoolSource(new Pool(factory, options), { ...(options.clock ? { clock: options.clock } : {}), ...sourceOptions });
  }

  get pool(): Pool<RunnableContainer> {
    return this.#pool;
  }

  get capacity(): number {
    return this.#pool.capacity;
  }

  /** Calls `listener` with each creation failure (to show the user why jobs wait); returns the unsubscribe function. */
  onCreationError(listener: (error: Error, kind: string) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  ready(): number {
    return this.#pool.size;
  }

  /**
   * The pool's reconcile: one listing of the engine's running containers, and the ready ones not in it are
   * dropped (and replaced). A listing that fails costs nothing but the call: the next checkout may then meet
   * another dead container, which the job replaces too.
   */
  dropDead(signal?: AbortSignal): Promise<void> {
    return untilAborted(this.#pool.reconcile().catch(() => undefined), signal);
  }

  async checkout({ timeoutMs, signal, kind }: CheckoutOptions): Promise<RunnableContainer> {
    if (kind !== undefined && kind !== this.#kind) throw new UnknownKindError(kind, this.kinds);
    // The pool's own timeout is not used: the watch's stands still during an engine outage.
    return this.#watch.checkout((giveUp) => this.#pool.get({ timeoutMs: Infinity, signal: giveUp }), { timeoutMs, signal }, {
      ready: this.#pool.size,
      engineUnavailable: this.#pool.engineState === 'unavailable',
    });
  }

  expectCheckouts(kind: string, count: number): void {
    if (kind !== this.#kind) throw new UnknownKindError(kind, this.kinds);
    this.#pool.expectCheckouts(count);
  }

  get notRemoved(): readonly string[] {
    return this.#notRemoved;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      this.#notRemoved = (await this.#pool.cleanup({ timeoutMs: closeTimeoutMs })).notRemoved;
    })();
    return this.#closing;
  }

  get #kind(): string {
    return this.kinds[0] ?? oneKindName;
  }
}

/** Resolves when `work` does, or earlier when `signal` aborts: an interrupted job does not wait for an engine listing. */
export async function untilAborted(work: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return work;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    if (signal.aborted) done();
    void work.then(done);
  });
}
