import type { Clock } from './clock.js';
import type { ContainerDeath } from './container.js';
import { InvalidOptionError } from './errors.js';

export interface RecentDeathsLimits {
  /** Deaths kept at most: adding one more forgets the oldest. */
  readonly capacity: number;
  /** A death older than this (on the clock) is forgotten. */
  readonly maxAgeMs: number;
}

interface Remembered {
  readonly death: ContainerDeath;
  readonly at: number;
}

/**
 * Deaths the engine reported for containers the pool could not place, kept a short while by id.
 *
 * Why: a container can die while its creation is still running (killed right after its readiness check
 * passed, say), so the engine's event arrives before the pool knows the id. Without a memory of it, the
 * creation would then deliver a dead container into the ready set, where no event will come again. The gap
 * between such a death and the creation's delivery is short (the rest of one creation), so a small memory is
 * enough: at most `capacity` entries, none older than `maxAgeMs`.
 *
 * Every operation is O(1) amortised, with no timer: entries sit in a ring in arrival order (oldest at its
 * head) and are found through a Map by id. Expired entries are dropped from the head whenever one is added or
 * looked up. (A Map alone would do, but dropping its oldest key walks over the holes earlier deletes left.)
 */
export class RecentDeaths {
  readonly #clock: Clock;
  readonly #limits: RecentDeathsLimits;
  readonly #byId = new Map<string, Remembered>();
  /** Arrival order; a slot whose entry was taken or replaced since is stale, and only waits to be dropped. */
  readonly #ring: (Remembered | undefined)[];
  #head = 0;
  #count = 0;

  constructor(clock: Clock, limits: RecentDeathsLimits) {
    if (!Number.isInteger(limits.capacity) || limits.capacity < 1) throw new InvalidOptionError('capacity', limits.capacity, 'a positive integer');
    this.#clock = clock;
    this.#limits = limits;
    this.#ring = new Array<Remembered | undefined>(limits.capacity);
  }

  /** Deaths remembered now (expired ones may count until the next add or take). */
  get size(): number {
    return this.#byId.size;
  }

  /** Remembers `death` as the newest (a repeat for the same id replaces the older entry). */
  remember(death: ContainerDeath): void {
    const now = this.#clock.now();
    this.#forgetExpired(now);
    if (this.#count === this.#limits.capacity) this.#dropHead();
    const remembered: Remembered = { death, at: now };
    this.#ring[(this.#head + this.#count) % this.#limits.capacity] = remembered;
    this.#count++;
    this.#byId.set(death.id, remembered);
  }

  /** The remembered death of `id`, forgotten as it is returned; undefined when there is none (or it expired). */
  take(id: string): ContainerDeath | undefined {
    this.#forgetExpired(this.#clock.now());
    const remembered = this.#byId.get(id);
    if (remembered === undefined) return undefined;
    this.#byId.delete(id);
    return remembered.death;
  }

  /** Forgets everything (the pool was cleaned up). */
  clear(): void {
    this.#byId.clear();
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#count = 0;
  }

  #forgetExpired(now: number): void {
    const oldestKept = now - this.#limits.maxAgeMs;
    while (this.#count > 0 && (this.#ring[this.#head]?.at ?? oldestKept) < oldestKept) this.#dropHead();
  }

  #dropHead(): void {
    const remembered = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#limits.capacity;
    this.#count--;
    // The id may have been taken, or remembered again since (then the Map holds the newer entry).
    if (remembered !== undefined && this.#byId.get(remembered.death.id) === remembered) this.#byId.delete(remembered.death.id);
  }
}
