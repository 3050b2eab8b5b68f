/** When a fault hit one container: from just before the injection started to just after it returned. */
export interface FaultRecord {
  readonly method: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * The faults injected into a pool's containers, by container id, so a checkout can tell a container that was
 * already dead when the pool handed it out (fault before the hand-out) from one that died under its job.
 */
export class FaultLog {
  readonly #byId = new Map<string, FaultRecord>();

  record(id: string, record: FaultRecord): void {
    if (!this.#byId.has(id)) this.#byId.set(id, record);
  }

  of(id: string): FaultRecord | undefined {
    return this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }
}

/**
 * Holds new checkouts of a job loop while a fault is injected and for the grace the pool gets to notice it.
 * Jobs already running go on; only the next `get()`s wait. Without it, a checkout a millisecond after a kill
 * would "find" the dead container before any pool could know, which measures the race, not the pool.
 */
export class CheckoutGate {
  #closed: Promise<void> | undefined;
  #open: (() => void) | undefined;

  close(): void {
    if (this.#closed) return;
    this.#closed = new Promise((resolve) => (this.#open = resolve));
  }

  open(): void {
    this.#open?.();
    this.#closed = undefined;
    this.#open = undefined;
  }

  /** Resolves at once when open, else when it opens. */
  async pass(): Promise<void> {
    while (this.#closed) await this.#closed;
  }
}
