import type { Container, ContainerFactory, CreateContainerOptions } from '../../lib/index.js';

/**
 * Wraps a factory for the pause part: keeps every container it made (the pool does not show its ready ones, and
 * the CPU they burn is read from their cgroups), and counts `pause()` calls still running, so a sample can wait
 * until the pool's idle containers are really paused rather than guess with a sleep.
 */
export class PauseTrackingFactory<C extends Container> implements ContainerFactory<C> {
  readonly created: C[] = [];
  readonly watch?: ContainerFactory<C>['watch'];
  readonly listRunning?: ContainerFactory<C>['listRunning'];
  readonly #inner: ContainerFactory<C>;
  #pausing = 0;
  #onSettled: (() => void)[] = [];

  constructor(inner: ContainerFactory<C>) {
    this.#inner = inner;
    // The pool watches and reconciles through these when the inner factory has them, as it would without the wrapper.
    if (inner.watch) this.watch = inner.watch.bind(inner);
    if (inner.listRunning) this.listRunning = inner.listRunning.bind(inner);
  }

  async createContainer(options: CreateContainerOptions): Promise<C> {
    const container = await this.#inner.createContainer(options);
    const pause = container.pause?.bind(container);
    // An own property over the prototype's method: the pool calls it as container.pause(), and it is counted.
    if (pause) container.pause = () => this.#counted(pause);
    this.created.push(container);
    return container;
  }

  /** `pause()` calls started and not yet settled. */
  get pausesInFlight(): number {
    return this.#pausing;
  }

  /** Resolves once no `pause()` is running (at once if none is). */
  whenPausesSettled(): Promise<void> {
    if (this.#pausing === 0) return Promise.resolve();
    return new Promise((resolve) => this.#onSettled.push(resolve));
  }

  async #counted(pause: () => Promise<void>): Promise<void> {
    this.#pausing++;
    try {
      await pause();
    } finally {
      this.#pausing--;
      if (this.#pausing === 0) for (const resolve of this.#onSettled.splice(0)) resolve();
    }
  }
}
