import type { Container, ContainerFactory } from '../../lib/container.js';

/**
 * A factory whose containers exist only in memory and arrive at once: the scale benchmark measures the pool's
 * own bookkeeping, so no engine (and no test fixture: shipped code never imports fixtures/) may be in the way.
 */
export class InstantFactory implements ContainerFactory {
  #created = 0;

  createContainer(): Promise<Container> {
    const id = `instant-${this.#created++}`;
    return Promise.resolve({ id, name: id, destroy: () => Promise.resolve() });
  }
}
