import type { Clock } from './clock.js';
import { InvalidOptionError } from './errors.js';

/**
 * How many warm containers one kind should keep, from the demand it sees: the "target" its pool is resized to.
 *
 * The idea (Little's law): if checkouts arrive at a rate λ and a new container takes W to create, then about
 * λ·W checkouts arrive while one replacement is being made. That is the stock the kind needs so every checkout
 * is served at once. Arrivals are bursty (roughly Poisson, whose spread is sqrt(λ·W)), so we add two standard
 * deviations of headroom:
 *
 *     needed = ceil(λ·W + 2·sqrt(λ·W))        (0 when λ·W is 0)
 *
 * - λ is the larger of two rates, so it rises within a few checkouts and falls slowly:
 *   - the window rate: the checkouts of the last `rateWindowMs` (default a minute) divided by that window. It
 *     remembers a burst for the whole window, but it sees one late: four checkouts a second for 6 s read as 0.4
 *     a second in a minute's window.
 *   - the recent rate: 3 / (time since the fifth-newest checkout), the unbiased Poisson estimate from the last
 *     four gaps (for S the sum of n gaps, E[(n-1)/S] is the rate; n/S would overstate it by a third). A ramp
 *     is seen within five checkouts, however long the window; a stray checkout after a quiet spell is one short
 *     gap among long ones and raises it little. A span shorter than one creation time counts as one: five
 *     checkouts at once ask for the stock of three per W (load 3), not for an unbounded rate. It decays as
 *     time passes without a checkout, so when a shrink is due it holds the target up only while checkouts
 *     still come at that rate.
 * - W is a moving average (EWMA, each new creation weighs 0.2) of the durations passed to `created()`. Before
 *   the first creation W is unknown, `needed` is 0, and only misses make the target grow.
 *
 * How the target moves (always kept within [min, max]):
 * - A miss (a checkout that had to wait, or found the pool empty) raises it at once to at least one more
 *   than before, or to `needed` if that is higher. Growth is never delayed: a miss is a caller kept waiting.
 * - A ready checkout raises it to `needed` if that is higher; it never lowers it.
 * - `waiting(n)`: n callers are waiting now, so the target stays at least n (up to max), now and at every
 *   later shrink, until a later `waiting()` call reports fewer.
 * - It only comes down in `review()`, and only after `idleTtlMs` without a raise (a miss, or a checkout or
 *   `waiting()` that raised it). Then it drops to `needed` (never below min or the waiting callers). After a
 *   review the wait starts again, so the target steps down one TTL at a time as the rate decays; with no
 *   checkout left in the window it falls straight to min. `idleTtlMs: Infinity` never shrinks.
 *
 * The module is pure bookkeeping: it sets no timers. Its owner calls `review()` at `nextReviewAt()` and
 * applies `target` whenever a method returns true.
 *
 * Memory is bounded: at most `checkoutTimesKept` (10,000) checkout times are kept (the recent rate needs the
 * newest five of them; with fewer than five in the window it is not counted). At a higher rate the oldest
 * are forgotten, and λ is measured over the span the kept ones cover instead of the whole window (so it is
 * still the rate, not capped at 10,000 per window).
 */

/** How a checkout went: 'ready' = served at once from stock; 'waited' and 'empty' are misses. */
export type CheckoutOutcome = 'ready' | 'waited' | 'empty';

export interface DemandSizingOptions {
  /** Containers kept even with no demand. An integer from 0 up. */
  readonly min: number;
  /** Containers never exceeded. An integer from max(min, 1) up. */
  readonly max: number;
  /** Quiet time (no raise) before the target may come down. Milliseconds, greater than 0; Infinity never shrinks. */
  readonly idleTtlMs: number;
  readonly clock: Clock;
  /** The window the checkout rate is measured over. Milliseconds, greater than 0 and finite. @default 60_000 */
  readonly rateWindowMs?: number;
}

/** The most checkout times a sizer keeps (80 KB), whatever the rate. */
export const checkoutTimesKept = 10_000;

const defaultRateWindowMs = 60_000;
/** Weight of the newest creation in the creation-time average. */
const creationTimeAlpha = 0.2;
/** Standard deviations of Poisson headroom over the mean λ·W. */
const headroomDeviations = 2;
/** The recent rate is measured over the newest this many checkouts (their gaps, one fewer). */
const recentCheckouts = 5;
/** Keeps float noise (8.000000000000002) from costing a whole container. */
const roundingSlack = 1e-9;

export class DemandSizer {
  readonly #clock: Clock;
  readonly #rateWindowMs: number;
  #min: number;
  #max: number;
  #idleTtlMs: number;
  #target: number;
  /** Last raise, or last review that was due: the target may come down `idleTtlMs` after it. */
  #quietSince: number;
  #waitingFloor = 0;
  /** Mean creation time (EWMA), undefined until the first `created()`. */
  #meanCreationMs: number | undefined;
  /** Checkout times in a ring, oldest at #head. */
  readonly #times = new Float64Array(checkoutTimesKept);
  #head = 0;
  #count = 0;

  constructor(options: DemandSizingOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object with min, max, idleTtlMs and clock');
    validateRange(options);
    const { clock, rateWindowMs = defaultRateWindowMs } = options;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') throw new InvalidOptionError('clock', clock, 'an object with now()');
    if (typeof rateWindowMs !== 'number' || !Number.isFinite(rateWindowMs) || rateWindowMs <= 0) {
      throw new InvalidOptionError('rateWindowMs', rateWindowMs, 'a finite number of milliseconds greater than 0');
    }
    this.#clock = clock;
    this.#rateWindowMs = rateWindowMs;
    this.#min = options.min;
    this.#max = options.max;
    this.#idleTtlMs = options.idleTtlMs;
    this.#target = options.min;
    this.#quietSince = clock.now();
  }

  /** The pool size this kind should have now. Starts at min. */
  get target(): number {
    return this.#target;
  }

  get min(): number {
    return this.#min;
  }

  get max(): number {
    return this.#max;
  }

  /** Every checkout of the kind. 'ready' = served at once; 'waited'/'empty' = a miss. Returns true when target changed. */
  checkout(outcome: CheckoutOutcome): boolean {
    if (outcome !== 'ready' && outcome !== 'waited' && outcome !== 'empty') throw new InvalidOptionError('outcome', outcome, "'ready', 'waited' or 'empty'");
    const now = this.#clock.now();
    this.#record(now);
    const needed = this.#needed(now);
    if (outcome === 'ready') return this.#raiseTo(needed, now);
    const before = this.#target;
    this.#target = this.#clamp(Math.max(this.#target + 1, needed));
    // Even at max: a miss is demand, so the idle wait starts again.
    this.#quietSince = now;
    return this.#target !== before;
  }

  /** A successful creation took durationMs (feeds the creation-time estimate). */
  created(durationMs: number): void {
    if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) {
      throw new InvalidOptionError('durationMs', durationMs, 'a finite number of milliseconds from 0 up');
    }
    this.#meanCreationMs = this.#meanCreationMs === undefined ? durationMs : creationTimeAlpha * durationMs + (1 - creationTimeAlpha) * this.#meanCreationMs;
  }

  /** Callers waiting now: the target never drops below what serves them (ready need not count). Returns true when target changed. */
  waiting(count: number): boolean {
    if (!Number.isInteger(count) || count < 0) throw new InvalidOptionError('count', count, 'an integer from 0 up');
    this.#waitingFloor = count;
    return this.#raiseTo(count, this.#clock.now());
  }

  /** Absolute clock time when `review()` may next lower the target; undefined when no shrink can come (target === min, or idleTtlMs Infinity). */
  nextReviewAt(): number | undefined {
    if (this.#target <= this.#min || this.#idleTtlMs === Infinity) return undefined;
    return this.#quietSince + this.#idleTtlMs;
  }

  /** Recomputes at clock.now(); returns true when the target changed. The owner calls it at nextReviewAt(). */
  review(): boolean {
    const due = this.nextReviewAt();
    const now = this.#clock.now();
    if (due === undefined || now < due) return false;
    // Due, whether or not it lowers: the next step comes a TTL later, so an owner that reschedules at
    // nextReviewAt() never spins while demand holds the target up.
    this.#quietSince = now;
    const lowered = this.#clamp(Math.max(this.#needed(now), this.#waitingFloor));
    if (lowered >= this.#target) return false;
    this.#target = lowered;
    return true;
  }

  /** Change min/max/idleTtlMs in place (config reload); clamps target into the new range; returns true when target changed. */
  reconfigure(options: Pick<DemandSizingOptions, 'min' | 'max' | 'idleTtlMs'>): boolean {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object with min, max and idleTtlMs');
    validateRange(options);
    this.#min = options.min;
    this.#max = options.max;
    this.#idleTtlMs = options.idleTtlMs;
    const before = this.#target;
    this.#target = this.#clamp(this.#target);
    return this.#target !== before;
  }

  /** Raises the target to `wanted` (clamped) if that is higher; a raise restarts the idle wait. */
  #raiseTo(wanted: number, now: number): boolean {
    const raised = this.#clamp(wanted);
    if (raised <= this.#target) return false;
    this.#target = raised;
    this.#quietSince = now;
    return true;
  }

  /** Containers needed in stock to serve every checkout at once: ceil(λW + 2·sqrt(λW)). */
  #needed(now: number): number {
    if (this.#meanCreationMs === undefined) return 0;
    this.#forgetBefore(now - this.#rateWindowMs);
    if (this.#count === 0) return 0;
    // Multiply before dividing: 600 checkouts × 400 ms / 60,000 ms is exactly 4.
    const windowLoad = this.#count < checkoutTimesKept
      ? (this.#count * this.#meanCreationMs) / this.#rateWindowMs
      // A full ring may have forgotten checkouts still in the window: measure over the span it covers, which
      // holds the checkouts after its oldest, as the window holds those after its start.
      : ((this.#count - 1) * this.#meanCreationMs) / Math.max(1, now - this.#times[this.#head]!);
    const load = Math.max(windowLoad, this.#recentLoad(now, this.#meanCreationMs));
    if (load <= 0) return 0;
    return Math.ceil(load + headroomDeviations * Math.sqrt(load) - roundingSlack);
  }

  /** λW with λ the recent rate: (gaps − 1) / (now − the oldest of the newest `recentCheckouts`); 0 with fewer kept. */
  #recentLoad(now: number, meanCreationMs: number): number {
    if (this.#count < recentCheckouts) return 0;
    const oldest = this.#times[(this.#head + this.#count - recentCheckouts) % checkoutTimesKept]!;
    // Over at least one creation time (and 1 ms): checkouts that come together are a batch whose size is known,
    // not a rate to project over the next W.
    const spanMs = Math.max(1, meanCreationMs, now - oldest);
    return ((recentCheckouts - 2) * meanCreationMs) / spanMs;
  }

  #record(now: number): void {
    if (this.#count === checkoutTimesKept) {
      this.#head = (this.#head + 1) % checkoutTimesKept;
      this.#count--;
    }
    this.#times[(this.#head + this.#count) % checkoutTimesKept] = now;
    this.#count++;
  }

  /** Drops checkout times at or before `cutoff` (they have left the window). */
  #forgetBefore(cutoff: number): void {
    while (this.#count > 0 && this.#times[this.#head]! <= cutoff) {
      this.#head = (this.#head + 1) % checkoutTimesKept;
      this.#count--;
    }
  }

  #clamp(value: number): number {
    return Math.min(this.#max, Math.max(this.#min, value));
  }
}

function validateRange(options: Pick<DemandSizingOptions, 'min' | 'max' | 'idleTtlMs'>): void {
  const { min, max, idleTtlMs } = options;
  if (!Number.isInteger(min) || min < 0) throw new InvalidOptionError('min', min, 'an integer from 0 up');
  const lowestMax = Math.max(min, 1);
  if (!Number.isInteger(max) || max < lowestMax) throw new InvalidOptionError('max', max, `an integer from ${lowestMax} up (at least 1 and at least min, ${min})`);
  if (typeof idleTtlMs !== 'number' || Number.isNaN(idleTtlMs) || idleTtlMs <= 0) {
    throw new InvalidOptionError('idleTtlMs', idleTtlMs, 'a number of milliseconds greater than 0, or Infinity');
  }
}
