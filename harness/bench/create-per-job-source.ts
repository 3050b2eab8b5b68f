import type { ContainerFactory, RunnableContainer } from '../../lib/index.js';
import type { CheckoutOptions, ContainerSource } from '../scheduler/container-source.js';

/**
 * The baseline a pool is measured against: no pool, each checkout creates a fresh container through the
 * factory, as a create-per-test library does. The job runner destroys it after the job, as with a pool.
 */
export class CreatePerJobSource implements ContainerSource {
  readonly capacity = 0;
  readonly #factory: ContainerFactory<RunnableContainer>;
  readonly #closing = new AbortController();

  constructor(factory: ContainerFactory<RunnableContainer>) {
    this.#factory = factory;
  }

  async checkout({ timeoutMs, signal }: CheckoutOptions): Promise<RunnableContainer> {
    const signals = [this.#closing.signal];
    if (signal) signals.push(signal);
    if (Number.isFinite(timeoutMs)) signals.push(AbortSignal.timeout(timeoutMs));
    // The factory removes a half-made container when its signal aborts, so a cancelled checkout leaks nothing.
    return this.#factory.createContainer({ signal: AbortSignal.any(signals) });
  }

  ready(): number {
    return 0;
  }

  close(): Promise<void> {
    this.#closing.abort(new Error('the create-per-job source was closed'));
    return Promise.resolve();
  }
}
