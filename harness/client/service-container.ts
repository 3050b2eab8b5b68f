import type { ContainerDescriptor, ContainerState, ExecOptions, ExecResult, RunnableContainer } from '../../lib/container.js';

/** What a ServiceContainer needs from the client that got it. */
export interface ContainerReleaser {
  /** Asks the service to destroy the container; rejects if the service cannot (gone, not held, failed). */
  releaseById(id: string): Promise<void>;
}

/**
 * A container checked out from the pool service. Commands and files go straight to the engine through the
 * backend's own container code (the service is not in that path); `destroy()` asks the service to release it,
 * and if the service cannot (it is gone, or already destroyed the container), destroys it through the backend.
 * Idempotent.
 */
export class ServiceContainer implements RunnableContainer, AsyncDisposable {
  readonly backend: ContainerDescriptor['backend'];
  readonly id: string;
  readonly name: string;
  readonly lxcpath: string | undefined;
  readonly #descriptor: ContainerDescriptor;
  readonly #handle: RunnableContainer;
  readonly #releaser: ContainerReleaser;
  #destroyed: Promise<void> | undefined;
  /** The backend's own `execFinal`, where it has one (a Docker container with the agent). */
  readonly execFinal?: (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

  constructor(descriptor: ContainerDescriptor, handle: RunnableContainer, releaser: ContainerReleaser) {
    this.#descriptor = { ...descriptor };
    this.backend = descriptor.backend;
    this.id = descriptor.id;
    this.name = descriptor.name;
    this.lxcpath = descriptor.lxcpath;
    this.#handle = handle;
    this.#releaser = releaser;
    const final = handle.execFinal?.bind(handle);
    if (final) this.execFinal = final;
  }

  describe(): ContainerDescriptor {
    return { ...this.#descriptor };
  }

  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return this.#handle.exec(argv, options);
  }

  writeFile(path: string, data: string | Uint8Array): Promise<void> {
    return this.#handle.writeFile(path, data);
  }

  readFile(path: string): Promise<Buffer> {
    return this.#handle.readFile(path);
  }

  /** Asks the engine directly, like `exec`: the service is not in that path. */
  state(): Promise<ContainerState> {
    return this.#handle.state();
  }

  destroy(): Promise<void> {
    this.#destroyed ??= this.#releaser
      .releaseById(this.id)
      .catch(() => this.#handle.destroy())
      .catch((error: unknown) => {
        // A failed destroy may be retried.
        this.#destroyed = undefined;
        throw error;
      });
    return this.#destroyed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
