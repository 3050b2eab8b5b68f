import type { Container, ContainerDescriptor } from '../../lib/container.js';

export interface HeldContainer<C extends Container> {
  readonly container: C;
  readonly descriptor: ContainerDescriptor;
  /** The connection holding it; undefined once a kept container's connection has gone. */
  ownerId: number | undefined;
  readonly keep: boolean;
}

/**
 * The containers the service has handed out and not yet destroyed, with the connection each belongs to, so a
 * connection that goes away without releasing can be cleaned up after. Kept containers outlive their
 * connection and may be released by any connection later.
 */
export class HeldContainers<C extends Container> {
  readonly #entries = new Set<HeldContainer<C>>();

  get size(): number {
    return this.#entries.size;
  }

  get keptCount(): number {
    let kept = 0;
    for (const entry of this.#entries) if (entry.keep) kept++;
    return kept;
  }

  add(container: C, descriptor: ContainerDescriptor, ownerId: number, keep: boolean): HeldContainer<C> {
    const entry: HeldContainer<C> = { container, descriptor, ownerId, keep };
    this.#entries.add(entry);
    return entry;
  }

  /** The container with this id or name that `ownerId` may release: its own, or a kept one. */
  findReleasable(reference: string, ownerId: number): HeldContainer<C> | undefined {
    for (const entry of this.#entries) {
      const matches = entry.descriptor.id === reference || entry.descriptor.name === reference;
      if (matches && (entry.ownerId === ownerId || entry.keep)) return entry;
    }
    return undefined;
  }

  remove(entry: HeldContainer<C>): boolean {
    return this.#entries.delete(entry);
  }

  /**
   * The connection `ownerId` has gone: its kept containers stay (detached), the others are removed from the
   * registry and returned for destruction.
   */
  releaseOwner(ownerId: number): HeldContainer<C>[] {
    const orphans: HeldContainer<C>[] = [];
    for (const entry of this.#entries) {
      if (entry.ownerId !== ownerId) continue;
      if (entry.keep) {
        entry.ownerId = undefined;
      } else {
        this.#entries.delete(entry);
        orphans.push(entry);
      }
    }
    return orphans;
  }

  /** Removes and returns every container not asked to be kept (at shutdown). */
  takeUnkept(): HeldContainer<C>[] {
    const taken = [...this.#entries].filter((entry) => !entry.keep);
    for (const entry of taken) this.#entries.delete(entry);
    return taken;
  }

  kept(): HeldContainer<C>[] {
    return [...this.#entries].filter((entry) => entry.keep);
  }
}
