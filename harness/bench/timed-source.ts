import { performance } from 'node:perf_hooks';
import type { ContainerDescriptor, ContainerState, ExecOptions, ExecResult, RunnableContainer } from '../../lib/index.js';
import type { CheckoutOptions, ContainerSource } from '../scheduler/container-source.js';

/** The wall clock in milliseconds with sub-millisecond precision, comparable with a container's clock (same kernel). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One job's container, as the bench saw it go by. Times are wall clock, in ms. */
export interface CheckoutRecord {
  /** The job asked for a container: the job's start. */
  readonly startedAtMs: number;
  /** It had one. */
  gotAtMs: number;
  /** The job's command came back from the container: its stdout carries the time it ran there. */
  stdout?: string;
}

/**
 * Wraps a source to note, per checkout, when the job asked for a container, when it got it, and what its
 * command printed, without touching the scheduler: the scheduler runs the same code with either source.
 */
export class TimedSource implements ContainerSource {
  readonly records: CheckoutRecord[] = [];
  readonly #inner: ContainerSource;

  constructor(inner: ContainerSource) {
    this.#inner = inner;
  }

  get capacity(): number {
    return this.#inner.capacity;
  }

  async checkout(options: CheckoutOptions): Promise<RunnableContainer> {
    const record: CheckoutRecord = { startedAtMs: wallClockMs(), gotAtMs: Number.NaN };
    const container = await this.#inner.checkout(options);
    record.gotAtMs = wallClockMs();
    this.records.push(record);
    return new RecordingContainer(container, record);
  }

  ready(): number {
    return this.#inner.ready();
  }

  expectCheckouts(kind: string, count: number): void {
    this.#inner.expectCheckouts?.(kind, count);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** Passes everything through; keeps the stdout of the commands run in it. */
class RecordingContainer implements RunnableContainer {
  readonly #inner: RunnableContainer;
  readonly #record: CheckoutRecord;
  /** Only where the inner container has it, so the job runner takes the same path as without the recording. */
  readonly execFinal?: (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

  constructor(inner: RunnableContainer, record: CheckoutRecord) {
    this.#inner = inner;
    this.#record = record;
    const final = inner.execFinal?.bind(inner);
    if (final) this.execFinal = (argv, options) => this.#recorded(final(argv, options));
  }

  get id(): string {
    return this.#inner.id;
  }

  get name(): string {
    return this.#inner.name;
  }

  get backend(): RunnableContainer['backend'] {
    return this.#inner.backend;
  }

  describe(): ContainerDescriptor {
    return this.#inner.describe();
  }

  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return this.#recorded(this.#inner.exec(argv, options));
  }

  async #recorded(running: Promise<ExecResult>): Promise<ExecResult> {
    const result = await running;
    this.#record.stdout = (this.#record.stdout ?? '') + result.stdout;
    return result;
  }

  writeFile(path: string, data: string | Uint8Array): Promise<void> {
    return this.#inner.writeFile(path, data);
  }

  readFile(path: string): Promise<Buffer> {
    return this.#inner.readFile(path);
  }

  state(): Promise<ContainerState> {
    return this.#inner.state();
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}
