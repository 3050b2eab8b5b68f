import type { Clock } from './clock.js';
import type { Container, ContainerFactory } from './container.js';
import { WorkerTimeoutError } from './errors.js';

export interface WorkerHandlers<C extends Container> {
  /** The creation succeeded in time. */
  created(worker: CreationWorker<C>, container: C): void;
  /** The creation failed in time. */
  failed(worker: CreationWorker<C>, error: unknown): void;
  /** The deadline passed: the worker's signal has been aborted with `error`. */
  timedOut(worker: CreationWorker<C>, error: WorkerTimeoutError): void;
  /** A container arrived after the worker timed out or was cancelled. The returned promise destroys it. */
  late(worker: CreationWorker<C>, container: C): Promise<void>;
  /** The worker's promise settled after it had stopped counting (timed out or cancelled). */
  settledAfterwards(worker: CreationWorker<C>): void;
}

type WorkerState = 'running' | 'timed-out' | 'cancelled' | 'settled';

/**
 * One container creation: it owns its AbortController and its deadline. When the deadline passes or the pool
 * cancels it, the worker stops counting at once but lives on as a straggler until the factory's promise
 * settles, so whatever the factory still delivers can be destroyed rather than leaked.
 */
export class CreationWorker<C extends Container> {
  readonly startedAt: number;
  /** Settles when the factory's promise has settled and any late container has been destroyed. */
  readonly done: Promise<void>;
  readonly #controller = new AbortController();
  readonly #clock: Clock;
  readonly #handlers: WorkerHandlers<C>;
  #deadline: unknown;
  #state: WorkerState = 'running';

  constructor(factory: ContainerFactory<C>, clock: Clock, timeoutMs: number, handlers: WorkerHandlers<C>) {
    this.#clock = clock;
    this.#handlers = handlers;
    this.startedAt = clock.now();
    if (Number.isFinite(timeoutMs)) this.#deadline = clock.setTimeout(() => this.#expire(timeoutMs), timeoutMs);
    this.done = this.#run(factory);
  }

  /** True while the creation counts against the pool's size and worker cap. */
  get isRunning(): boolean {
    return this.#state === 'running';
  }

  /** Aborts the creation; what it still delivers will be destroyed. */
  cancel(reason: Error): void {
    if (this.#state !== 'running') return;
    this.#state = 'cancelled';
    this.#clearDeadline();
    this.#controller.abort(reason);
  }

  async #run(factory: ContainerFactory<C>): Promise<void> {
    let container: C;
    try {
      // Called inside the try so a factory that throws synchronously is handled like one that rejects.
      container = await factory.createContainer({ signal: this.#controller.signal });
    } catch (error) {
      this.#clearDeadline();
      if (this.#state === 'running') {
        this.#state = 'settled';
        this.#handlers.failed(this, error);
      } else {
        this.#handlers.settledAfterwards(this);
      }
      return;
    }
    this.#clearDeadline();
    if (this.#state === 'running') {
      this.#state = 'settled';
      this.#handlers.created(this, container);
      return;
    }
    try {
      await this.#handlers.late(this, container);
    } finally {
      this.#handlers.settledAfterwards(this);
    }
  }

  #expire(timeoutMs: number): void {
    this.#deadline = undefined;
    if (this.#state !== 'running') return;
    this.#state = 'timed-out';
    const error = new WorkerTimeoutError(`Container creation took longer than ${timeoutMs} ms and was cancelled`, timeoutMs);
    this.#controller.abort(error);
    this.#handlers.timedOut(this, error);
  }

  #clearDeadline(): void {
    if (this.#deadline === undefined) return;
    this.#clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }
}
