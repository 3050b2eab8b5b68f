/**
 * The contract between the pool and its backends. A pool knows only these two interfaces; Docker, LXC and the
 * fake factories in `fixtures/` all implement them.
 */
export interface Container {
  readonly id: string;
  readonly name: string;
  /** Removes the container. Idempotent: destroying a container that is already gone succeeds. */
  destroy(): Promise<void>;
}

export interface CreateContainerOptions {
  /**
   * Aborted when the creation runs past the pool's `creationTimeoutMs` or the pool is cleaned up. A factory
   * should stop work and remove anything half made; if it still resolves, the pool destroys what it returns.
   */
  readonly signal: AbortSignal;
}

export interface ContainerFactory<C extends Container = Container> {
  /** Resolves with a container that is ready to use. */
  createContainer(options: CreateContainerOptions): Promise<C>;
}

/** What a caller needs to find a container again, possibly from another process (the pool service's client). */
export interface ContainerDescriptor {
  readonly backend: 'docker' | 'lxc';
  readonly id: string;
  readonly name: string;
  /** LXC only: the lxcpath the container lives in. */
  readonly lxcpath?: string;
}

export interface ExecOptions {
  readonly signal?: AbortSignal;
  /** Kill the command after this long; the result then has `timedOut: true`. Default: no limit. */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** The exit code every backend reports for an exec that ran past its timeout (and was killed), as `timeout(1)` does. */
export const timedOutExitCode = 124;

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** A container of a real backend: commands and files can go in, output and files can come out. */
export interface RunnableContainer extends Container {
  readonly backend: ContainerDescriptor['backend'];
  describe(): ContainerDescriptor;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Writes `data` to `path` inside the container, creating parent directories. */
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  /** Reads the file at `path` inside the container. */
  readFile(path: string): Promise<Buffer>;
}
