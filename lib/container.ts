/**
 * The contract between the pool and its backends. A pool knows only these two interfaces; Docker, LXC and the
 * fake factories in `fixtures/` all implement them.
 */
export interface Container {
  readonly id: string;
  readonly name: string;
  /** Removes the container. Idempotent: destroying a container that is already gone succeeds. */
  destroy(): Promise<void>;
  /**
   * Optional. Freezes every process of the container (Docker: `docker pause`; LXC: `lxc-freeze`), so an idle
   * ready container burns no CPU. A pool with `pauseIdle` calls it on ready containers and `resume()` before it
   * hands one out. Rejects with EngineUnavailableError when the engine cannot be reached.
   */
  pause?(): Promise<void>;
  /** Optional, with `pause()`: thaws a paused container. Resuming one that is not paused succeeds. */
  resume?(): Promise<void>;
}

export interface CreateContainerOptions {
  /**
   * Aborted when the creation runs past the pool's `creationTimeoutMs` or the pool is cleaned up. A factory
   * should stop work and remove anything half made; if it still resolves, the pool destroys what it returns.
   */
  readonly signal: AbortSignal;
}

/** How a container of the pool stopped running, as the engine reported it. */
export interface ContainerDeath {
  /** The container's `id` (the same string as `Container.id`). */
  readonly id: string;
  /** `died`: its main process exited or was killed; `removed`: it is gone from the engine. */
  readonly reason: 'died' | 'removed';
  /** The main process's exit code, when the engine reports one (Docker does; LXC's monitor only sometimes). */
  readonly exitCode?: number;
  /** True when the engine says the kernel's OOM killer ended it. */
  readonly oomKilled: boolean;
}

export interface WatchHandlers {
  /** A container of this factory died or was removed. Called once per engine event; may repeat for one id. */
  died(death: ContainerDeath): void;
  /**
   * The watch is (again) receiving events. Called after the first connection and after every reconnection:
   * deaths that happened while it was not connected were missed, so the pool reconciles with `listRunning()`.
   */
  connected(): void;
  /** The watch lost its event source (engine restart); it reconnects by itself with backoff. */
  disconnected(error: unknown): void;
}

export interface ContainerFactory<C extends Container = Container> {
  /** Resolves with a container that is ready to use. */
  createContainer(options: CreateContainerOptions): Promise<C>;
  /**
   * Optional. Watches the engine for deaths of this factory's containers until `signal` aborts, reconnecting by
   * itself (jittered exponential backoff, capped) whenever the event source breaks. Must not throw.
   */
  watch?(handlers: WatchHandlers, signal: AbortSignal): void;
  /**
   * Optional. The ids of this factory's containers that run now, in one cheap engine call. Rejects with
   * EngineUnavailableError when the engine cannot be reached; the pool uses it to reconcile and to probe.
   */
  listRunning?(signal?: AbortSignal): Promise<ReadonlySet<string>>;
}

/** What the engine says of one container now. `gone`: the engine no longer knows it. */
export type ContainerState = 'running' | 'stopped' | 'gone';

/** What a caller needs to find a container again, possibly from another process (the pool service's client). */
export interface ContainerDescriptor {
  readonly backend: 'docker' | 'lxc';
  readonly id: string;
  readonly name: string;
  /** LXC only: the lxcpath the container lives in. */
  readonly lxcpath?: string;
  /** Docker only: its main process is warmpool's agent, which `execFinal` runs commands through. */
  readonly agent?: boolean;
  /**
   * LXC only: where warmpool's agent in the container is, as the host reaches it (`/proc/<init pid>/root/...`);
   * `execFinal` runs commands through it.
   */
  readonly agentPath?: string;
  /**
   * LXC only: the environment every command run in it gets (its factory's `env`). LXC commands start from a clean
   * environment, so whoever opens the container again needs it to run commands as its factory would.
   */
  readonly env?: Readonly<Record<string, string>>;
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
  /**
   * Optional. Like `exec`, for the last command a container runs: a backend may run it in a faster way after
   * which the container stops (Docker runs it through the container's main process, with no engine exec).
   * Reading files out still works afterwards; running more commands does not. Rejects with ContainerDiedError
   * when the container died under the command.
   */
  execFinal?(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Writes `data` to `path` inside the container, creating parent directories. */
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  /** Reads the file at `path` inside the container. */
  readFile(path: string): Promise<Buffer>;
  /**
   * Liveness in one cheap engine call (Docker: inspect; LXC: its state). Rejects with EngineUnavailableError
   * when the engine cannot be reached, never with a wrong answer.
   */
  state(): Promise<ContainerState>;
}
