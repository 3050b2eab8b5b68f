import { systemClock, type Clock } from '../../lib/clock.js';
import type { Container, RunnableContainer } from '../../lib/container.js';
import type { HostPools } from '../../lib/host-pools.js';
import { CheckoutWatch } from './checkout-watch.js';
import { closeTimeoutMs, defaultMaxOutageWaitMs, untilAborted, type CheckoutOptions, type ContainerSource } from './container-source.js';

export interface HostSourceOptions {
  /** @default the system clock */
  readonly clock?: Clock;
  /** See PoolSourceOptions.maxOutageWaitMs: per checkout, outage time not counted up to this. @default 300_000 */
  readonly maxOutageWaitMs?: number;
}

/**
 * Containers of several kinds from the pools of one host in this process (HostPools): a checkout names its kind,
 * or gets the host's default. Each kind is watched as PoolSource watches its pool (a kind whose image is
 * missing fails its checkouts at once; engine outage time does not count against a timeout), kind by kind,
 * so a broken kind does not fail the jobs of the others. The job runner removes the containers itself (off the
 * job's path, retried); `removed` then frees their room in the host's budget.
 */
export class HostSource implements ContainerSource {
  readonly #host: HostPools<RunnableContainer>;
  readonly #watches = new Map<string, CheckoutWatch>();
  readonly #unsubscribe: (() => void)[];
  readonly #errorListeners = new Set<(error: Error, kind: string) => void>();
  #closing: Promise<void> | undefined;
  #notRemoved: readonly string[] = [];

  /** Takes `host` over: `close()` cleans it up. */
  constructor(host: HostPools<RunnableContainer>, options: HostSourceOptions = {}) {
    this.#host = host;
    const clock = options.clock ?? systemClock;
    for (const kind of host.kinds) {
      this.#watches.set(kind, new CheckoutWatch(clock, options.maxOutageWaitMs ?? defaultMaxOutageWaitMs, `kind ${kind}'s pool`));
    }
    this.#unsubscribe = [
      host.on('creation', ({ error }, kind) => {
        if (error === undefined) return;
        for (const listener of this.#errorListeners) listener(error, kind);
        this.#watches.get(kind)?.creationFailed(error);
      }),
      host.on('engine', (event, kind) => this.#watches.get(kind)?.engineChanged(event.state)),
    ];
  }

  get host(): HostPools<RunnableContainer> {
    return this.#host;
  }

  get kinds(): readonly string[] {
    return this.#host.kinds;
  }

  /** What the kinds' demand asks to keep ready now, all kinds together. */
  get capacity(): number {
    return this.#host.status().reduce((sum, kind) => sum + kind.target, 0);
  }

  ready(): number {
    return this.#host.status().reduce((sum, kind) => sum + kind.ready, 0);
  }

  /** Calls `listener` with each creation failure and its kind; returns the unsubscribe function. */
  onCreationError(listener: (error: Error, kind: string) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * @throws UnknownKindError (naming the kinds) for a kind the host does not have; see ContainerSource.checkout.
   */
  async checkout({ timeoutMs, signal, kind }: CheckoutOptions): Promise<RunnableContainer> {
    const name = kind ?? this.#host.defaultKind;
    // Asked first: an unknown kind throws UnknownKindError here, before any waiting.
    const pool = this.#host.pool(name);
    const watch = this.#watches.get(name);
    if (watch === undefined) throw new Error(`HostSource: kind ${name} has no watch`);
    return watch.checkout((giveUp) => this.#host.get(name, { timeoutMs: Infinity, signal: giveUp }), { timeoutMs, signal }, {
      ready: this.#host.status().find((status) => status.name === name)?.ready ?? 0,
      engineUnavailable: pool.engineState === 'unavailable',
    });
  }

  /** See ContainerSource.expectCheckouts: the kind's pool creates no more than they can use. */
  expectCheckouts(kind: string, count: number): void {
    this.#host.pool(kind).expectCheckouts(count);
  }

  /** The job runner removed it: the host stops counting it against its budget. */
  removed(container: Container): void {
    this.#host.forget(container as RunnableContainer);
  }

  /**
   * Every kind's pools reconcile with the engine (one listing each): the pool of the dead container's kind is
   * not known here, and an engine restart kills the containers of every kind on it.
   */
  dropDead(signal?: AbortSignal): Promise<void> {
    const reconciled = Promise.all(this.#host.pools().map(({ pool }) => pool.reconcile().catch(() => undefined))).then(() => undefined);
    return untilAborted(reconciled, signal);
  }

  get notRemoved(): readonly string[] {
    return this.#notRemoved;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      this.#notRemoved = (await this.#host.cleanup({ timeoutMs: closeTimeoutMs })).notRemoved;
    })();
    return this.#closing;
  }
}
