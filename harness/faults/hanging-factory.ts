import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerDescriptor, ContainerFactory, ContainerState, CreateContainerOptions, ExecResult, RunnableContainer } from '../../lib/container.js';
import { randomSuffix } from '../../lib/backends/owner.js';

/**
 * An in-memory container: it "runs" `echo WORD; ...` by answering WORD, until destroyed. Enough for the job loop,
 * with no engine behind it, so the hanging-factory scenario measures the pool alone.
 */
class MemoryContainer implements RunnableContainer {
  readonly backend = 'docker' as const;
  readonly id = `memory-${randomSuffix()}`;
  readonly name = this.id;
  #alive = true;

  constructor(private readonly onDestroy: (container: MemoryContainer) => void) {}

  describe(): ContainerDescriptor {
    return { backend: this.backend, id: this.id, name: this.name };
  }

  exec(argv: readonly string[]): Promise<ExecResult> {
    if (!this.#alive) return Promise.reject(new Error(`${this.name} was destroyed`));
    const word = /echo ([^\s;]+)/.exec(argv.join(' '))?.[1] ?? '';
    return Promise.resolve({ exitCode: 0, stdout: `${word}\n`, stderr: '', timedOut: false });
  }

  writeFile(): Promise<void> {
    return this.#alive ? Promise.resolve() : Promise.reject(new Error(`${this.name} was destroyed`));
  }

  readFile(): Promise<Buffer> {
    return this.#alive ? Promise.resolve(Buffer.alloc(0)) : Promise.reject(new Error(`${this.name} was destroyed`));
  }

  state(): Promise<ContainerState> {
    return Promise.resolve(this.#alive ? 'running' : 'gone');
  }

  destroy(): Promise<void> {
    if (this.#alive) {
      this.#alive = false;
      this.onDestroy(this);
    }
    return Promise.resolve();
  }
}

export interface HangingFactoryOptions {
  /** Every n-th creation hangs, starting with the first. */
  readonly hangEvery: number;
  /** Hung creations in all; later ones do not hang. */
  readonly hangs: number;
  /** How long a hung creation takes, ignoring its signal, before it delivers a container anyway. */
  readonly hangMs: number;
  /** How long a healthy creation takes. */
  readonly createMs: number;
}

/**
 * A factory that, now and then, hangs and ignores its abort signal, then delivers its container long after
 * the pool gave up on it: the late container must be destroyed, and the pool must keep serving meanwhile.
 */
export class HangingFactory implements ContainerFactory<RunnableContainer> {
  readonly #options: HangingFactoryOptions;
  readonly #live = new Set<MemoryContainer>();
  readonly #pending = new Set<Promise<unknown>>();
  #created = 0;
  #hung = 0;

  constructor(options: HangingFactoryOptions) {
    this.#options = options;
  }

  /** Creations that hung. */
  get hung(): number {
    return this.#hung;
  }

  /** Containers made and not destroyed. */
  get live(): number {
    return this.#live.size;
  }

  createContainer({ signal }: CreateContainerOptions): Promise<RunnableContainer> {
    const index = this.#created++;
    const hangs = this.#hung < this.#options.hangs && index % this.#options.hangEvery === 0;
    const creation = hangs ? this.#hang() : this.#create(signal);
    this.#pending.add(creation);
    void creation.finally(() => this.#pending.delete(creation)).catch(() => undefined);
    return creation;
  }

  /** Resolves once every creation, hung ones included, has settled. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #hang(): Promise<RunnableContainer> {
    this.#hung++;
    await sleep(this.#options.hangMs); // the signal is ignored on purpose
    return this.#make();
  }

  async #create(signal: AbortSignal): Promise<RunnableContainer> {
    await sleep(this.#options.createMs, undefined, { signal });
    return this.#make();
  }

  #make(): MemoryContainer {
    const container = new MemoryContainer((gone) => this.#live.delete(gone));
    this.#live.add(container);
    return container;
  }
}
