import type { Clock } from '../../lib/clock.js';
import { LinkedQueue, type QueueEntry } from '../../lib/linked-queue.js';
import type { RequestId } from './protocol.js';

/** How a get's turn came: with the time it has left to wait in the pool, or its deadline passed while queued. */
export type TurnStart = { readonly kind: 'turn'; readonly remainingMs: number } | { readonly kind: 'timeout' };

/**
 * One `get` of a connection: it waits for its turn behind the connection's earlier gets, then (while active)
 * waits in the pool with `signal`. Its owner calls `finish()` once the pool has answered, which starts the
 * next get's turn.
 */
export class GetTurn {
  readonly id: RequestId;
  /** Aborted when the get is cancelled or the connection goes while it waits in the pool. */
  readonly signal: AbortSignal;
  /** Resolves when it is this get's turn (or its deadline passed first); rejects if it is cancelled before. */
  readonly started: Promise<TurnStart>;
  readonly deadline: number;
  entry: QueueEntry<GetTurn> | undefined;
  timer: unknown;
  readonly #controller = new AbortController();
  readonly #finish: (turn: GetTurn) => void;
  #resolve!: (start: TurnStart) => void;
  #reject!: (reason: unknown) => void;

  constructor(id: RequestId, deadline: number, finish: (turn: GetTurn) => void) {
    this.id = id;
    this.deadline = deadline;
    this.signal = this.#controller.signal;
    this.#finish = finish;
    this.started = new Promise<TurnStart>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A get cancelled before its turn is answered by whoever awaits `started`; never an unhandled rejection.
    this.started.catch(() => undefined);
  }

  /** The pool has answered (or the get was refused): the connection's next get may start. Idempotent. */
  finish(): void {
    this.#finish(this);
  }

  begin(now: number): void {
    this.#resolve({ kind: 'turn', remainingMs: Math.max(0, this.deadline - now) });
  }

  expire(): void {
    this.#resolve({ kind: 'timeout' });
  }

  /** Cancelled while queued. */
  withdraw(reason: unknown): void {
    this.#reject(reason);
  }

  /** Cancelled while waiting in the pool. */
  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }
}

/**
 * The waiting `get`s of one connection, in the order they came: only the oldest (the active one) waits in the
 * pool, the others wait for their turn here. This is what makes the service fair between clients. The pool
 * serves its waiters first come, first served; since each connection has at most one get in the pool's line,
 * a connection whose get was just served goes to the back of that line with its next one. So when demand
 * exceeds supply, new containers go round-robin across the connections that are waiting, and within one
 * connection in the order of its requests: a client with 200,000 gets waiting gets one container per round,
 * like a client with one.
 *
 * A get's timeout counts from when it arrived, not from its turn: one that times out while queued is answered
 * `container: null` at its deadline, as the pool would have. At most `limit` gets (active and queued) are held
 * per connection; `enter` refuses more.
 */
export class GetTurns {
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #queued = new LinkedQueue<GetTurn>();
  readonly #byId = new Map<RequestId, GetTurn>();
  #active: GetTurn | undefined;
  #closedReason: unknown;
  #closed = false;

  constructor(clock: Clock, limit: number) {
    this.#clock = clock;
    this.#limit = limit;
  }

  /** Gets of this connection not yet answered: the active one and the queued ones. */
  get count(): number {
    return this.#byId.size;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Takes a get in line, or returns undefined when the connection already has `limit` of them. */
  enter(id: RequestId, timeoutMs: number): GetTurn | undefined {
    // Checked first: a flood of refused gets must cost no more than its answers.
    if (!this.#closed && this.#byId.size >= this.#limit) return undefined;
    const now = this.#clock.now();
    const turn = new GetTurn(id, now + timeoutMs, (finished) => this.#leave(finished));
    if (this.#closed) {
      turn.withdraw(this.#closedReason);
      return turn;
    }
    this.#byId.set(id, turn);
    if (this.#active === undefined) {
      this.#active = turn;
      turn.begin(now);
    } else {
      // Even a get that may not wait (timeoutMs 0) is queued, if only until the timers run: the gets before it
      // may be answered from ready containers within this turn of the event loop, and then it gets one too.
      turn.entry = this.#queued.push(turn);
      if (Number.isFinite(turn.deadline)) turn.timer = this.#clock.setTimeout(() => this.#expire(turn), turn.deadline - now);
    }
    return turn;
  }

  /** Cancels the get with this id, queued or waiting in the pool; false if there is none. */
  cancel(id: RequestId, reason: unknown): boolean {
    const turn = this.#byId.get(id);
    if (!turn) return false;
    if (turn === this.#active) {
      turn.abort(reason);
    } else {
      this.#unqueue(turn);
      turn.withdraw(reason);
    }
    return true;
  }

  /** Cancels every get; with `close`, later gets are refused at once with the same reason. */
  cancelAll(reason: unknown, close = false): void {
    if (close) {
      this.#closed = true;
      this.#closedReason = reason;
    }
    for (const id of [...this.#byId.keys()]) this.cancel(id, reason);
  }

  #expire(turn: GetTurn): void {
    turn.timer = undefined;
    if (this.#unqueue(turn)) turn.expire();
  }

  #unqueue(turn: GetTurn): boolean {
    if (turn.timer !== undefined) this.#clock.clearTimeout(turn.timer);
    turn.timer = undefined;
    if (!turn.entry || !this.#queued.remove(turn.entry)) return false;
    this.#byId.delete(turn.id);
    return true;
  }

  #leave(turn: GetTurn): void {
    if (turn !== this.#active) return;
    this.#byId.delete(turn.id);
    const next = this.#queued.shift();
    this.#active = next;
    if (next) {
      if (next.timer !== undefined) this.#clock.clearTimeout(next.timer);
      next.timer = undefined;
      next.begin(this.#clock.now());
    }
  }
}
