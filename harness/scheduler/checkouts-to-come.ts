import type { ContainerSource } from './container-source.js';

/**
 * Keeps a source told how many of a suite's jobs, per kind, have not started yet (ContainerSource.expectCheckouts):
 * a pool as large as the concurrency would otherwise refill for the last jobs' slots, and the engine would make
 * and remove containers nobody takes while those last jobs run. Nothing is told when the source cannot use it
 * or cannot say its kinds; jobs without a kind must already have the default one spelled out.
 */
export class CheckoutsToCome {
  readonly #source: ContainerSource;
  readonly #notStarted = new Map<string, number>();

  constructor(source: ContainerSource, jobs: readonly { readonly kind?: string | undefined }[]) {
    this.#source = source;
    if (source.expectCheckouts === undefined) return;
    for (const { kind } of jobs) {
      if (kind !== undefined) this.#notStarted.set(kind, (this.#notStarted.get(kind) ?? 0) + 1);
    }
    for (const [kind, count] of this.#notStarted) source.expectCheckouts(kind, count);
  }

  /** A job of `kind` starts: it is about to ask for its container. */
  started(kind: string | undefined): void {
    if (kind === undefined) return;
    const count = this.#notStarted.get(kind);
    if (count === undefined) return;
    this.#notStarted.set(kind, count - 1);
    this.#source.expectCheckouts?.(kind, count - 1);
  }
}
