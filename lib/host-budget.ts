import { InvalidOptionError } from './errors.js';

/** What the budget asks of a pool that shares it. */
export interface BudgetMember {
  /** `get()` calls waiting on this pool now: a pool whose callers wait goes before one that only refills. */
  waitingCount(): number;
  /** Ready containers this pool could give up to make room for another pool's waiting callers. */
  idleReadyCount(): number;
  /** Room may have freed: try to start creations again. */
  wake(): void;
  /** Remove one idle ready container (the oldest) so another pool can create; false when it has none. */
  evictIdle(): boolean;
}

export interface HostBudgetOptions {
  /** Creations in flight at once across every pool of the host. An integer from 1 up. */
  readonly maxCreations: number;
  /**
   * Containers that exist at once across every pool of the host: being created, ready, or held by a caller
   * until it is returned. An integer from 1 up, or Infinity.
   */
  readonly maxContainers: number;
}

/**
 * One engine budget for the pools of one host (`HostPools` gives one to each of its kinds): a cap on the
 * creations in flight and one on the containers that exist, both shared, so the sum over the pools never
 * exceeds them.
 *
 * Fairness is about callers, not pools: while a pool with waiting callers is held back, a pool with none gets no
 * room; whenever room frees, the pools with waiting callers are woken first, most waiters first. And when the
 * container cap is what holds a waiting pool back, the budget asks the pool with the most idle ready containers
 * to give one up, so a kind that filled the host while it was quiet cannot starve a kind whose callers wait.
 *
 * A seat's counts follow its containers' lives: a creation takes a creation and a container; the creation is
 * given back when it ends (`creationEnded`), the container when it failed or was destroyed (`containerGone`).
 */
export class HostBudget {
  readonly maxCreations: number;
  readonly maxContainers: number;
  readonly #seats = new Set<BudgetSeat>();
  /** Seats refused since room last freed: they are woken when it does. */
  readonly #blocked = new Set<BudgetSeat>();
  #creations = 0;
  #containers = 0;
  /** An eviction asked for and not yet done: one at a time, so a burst of refusals evicts one container, not many. */
  #evicting = false;
  #wakeScheduled = false;

  constructor(options: HostBudgetOptions) {
    const { maxCreations, maxContainers } = options;
    if (!Number.isInteger(maxCreations) || maxCreations < 1) throw new InvalidOptionError('maxCreations', maxCreations, 'an integer from 1 up');
    if (!(maxContainers === Infinity || (Number.isInteger(maxContainers) && maxContainers >= 1))) {
      throw new InvalidOptionError('maxContainers', maxContainers, 'an integer from 1 up, or Infinity');
    }
    this.maxCreations = maxCreations;
    this.maxContainers = maxContainers;
  }

  /** Creations in flight across the host. */
  get creations(): number {
    return this.#creations;
  }

  /** Containers that exist across the host (creating, ready or held). */
  get containers(): number {
    return this.#containers;
  }

  join(member: BudgetMember): BudgetSeat {
    const seat = new BudgetSeat(this, member);
    this.#seats.add(seat);
    return seat;
  }

  /** @internal (BudgetSeat) */
  tryStart(seat: BudgetSeat): boolean {
    const atCreationCap = this.#creations >= this.maxCreations;
    const atContainerCap = this.#containers >= this.maxContainers;
    if (atCreationCap || atContainerCap || (seat.member.waitingCount() === 0 && this.#someoneWaitsBlocked(seat))) {
      this.#blocked.add(seat);
      // Evict only for callers no creation of theirs is already on the way for: not for the pool's own refill.
      if (atContainerCap && seat.member.waitingCount() > seat.creations) this.#evictFor(seat);
      return false;
    }
    this.#blocked.delete(seat);
    this.#creations++;
    this.#containers++;
    return true;
  }

  /** @internal (BudgetSeat) */
  release(creations: number, containers: number): void {
    this.#creations -= creations;
    this.#containers -= containers;
    if (containers > 0) this.#evicting = false;
    this.#scheduleWake();
  }

  /** @internal (BudgetSeat) */
  leave(seat: BudgetSeat): void {
    this.#seats.delete(seat);
    this.#blocked.delete(seat);
  }

  #someoneWaitsBlocked(asking: BudgetSeat): boolean {
    for (const seat of this.#blocked) if (seat !== asking && seat.member.waitingCount() > 0) return true;
    return false;
  }

  #evictFor(asking: BudgetSeat): void {
    if (this.#evicting) return;
    let victim: BudgetSeat | undefined;
    for (const seat of this.#seats) {
      if (seat === asking || seat.member.waitingCount() > 0 || seat.member.idleReadyCount() === 0) continue;
      if (victim === undefined || seat.member.idleReadyCount() > victim.member.idleReadyCount()) victim = seat;
    }
    if (victim?.member.evictIdle()) this.#evicting = true;
  }

  /**
   * Wakes the refused seats once the current turn is over: a release often happens inside a pool's own event
   * handling, and waking another pool from there would run its refill in the middle of it.
   */
  #scheduleWake(): void {
    if (this.#wakeScheduled || this.#blocked.size === 0) return;
    this.#wakeScheduled = true;
    queueMicrotask(() => {
      this.#wakeScheduled = false;
      const blocked = [...this.#blocked].sort((a, b) => b.member.waitingCount() - a.member.waitingCount());
      this.#blocked.clear();
      for (const seat of blocked) seat.member.wake();
    });
  }
}

/** One pool's share of a HostBudget. */
export class BudgetSeat {
  readonly #budget: HostBudget;
  #creations = 0;
  #containers = 0;

  constructor(
    budget: HostBudget,
    readonly member: BudgetMember,
  ) {
    this.#budget = budget;
  }

  /** Creations this seat has in flight. */
  get creations(): number {
    return this.#creations;
  }

  /** Containers of this seat that exist (creating, ready or held). */
  get containers(): number {
    return this.#containers;
  }

  /** Takes a creation and a container if the budget has room and no waiting pool comes first. */
  tryStartCreation(): boolean {
    if (!this.#budget.tryStart(this)) return false;
    this.#creations++;
    this.#containers++;
    return true;
  }

  /** A creation ended (created, failed or timed out): its creation is free again. */
  creationEnded(): void {
    if (this.#creations === 0) return;
    this.#creations--;
    this.#budget.release(1, 0);
  }

  /** A container of this seat no longer exists (its creation failed, or it was destroyed). */
  containerGone(): void {
    if (this.#containers === 0) return;
    this.#containers--;
    this.#budget.release(0, 1);
  }

  /** The pool is gone: whatever it still counts stays counted until released; it is just never woken again. */
  leave(): void {
    this.#budget.leave(this);
  }
}
