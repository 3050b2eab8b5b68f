import type Dockerode from 'dockerode';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { ContainerDescriptor, ContainerState, ExecOptions, ExecResult, RunnableContainer } from '../../container.js';
import { BackendError, EngineUnavailableError, InvalidOptionError, errorMessage } from '../../errors.js';
import { engineStatusCode, isEngineDown, resolveDockerEngine } from './docker-engine.js';
import type { DockerEngine } from './docker-engine.js';
import { runDockerExec } from './docker-exec.js';
import { runDockerFinalExec } from './docker-final-exec.js';
import { setDockerPaused } from './docker-pause.js';
import { validateClock } from './docker-factory-options.js';
import { forceRemove } from './docker-remove.js';
import { maxTarNameBytes, packSingleFile, readFirstTarEntry } from './docker-tar.js';
import type { TarEntry } from './docker-tar.js';

/** Symlinks `readFile` follows before it gives up (a loop, most likely). */
const maxSymlinkHops = 8;

/** A running Docker container made by DockerFactory (or found again with `openDockerContainer`). */
export class DockerContainer implements RunnableContainer, AsyncDisposable {
  readonly backend = 'docker' as const;
  readonly #docker: Dockerode;
  readonly #clock: Clock;
  #destroyed: Promise<void> | undefined;
  /** Set by `execFinal`: resolves once the container stopped by itself (or a grace passed), for `destroy()` to await. */
  #stopping: Promise<void> | undefined;
  /**
   * Only on a container whose main process is the agent: runs `argv` through it instead of a new engine exec (see
   * `runDockerFinalExec`). It starts in milliseconds, and the container stops when it ends, so it is the last
   * thing run in the container (reading files out still works).
   */
  readonly execFinal?: (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

  constructor(
    docker: Dockerode,
    readonly id: string,
    readonly name: string,
    clock: Clock = systemClock,
    /** Its main process is the agent (docker-agent.ts), so `execFinal` can run a command through it. */
    readonly hasAgent = false,
  ) {
    this.#docker = docker;
    this.#clock = clock;
    if (hasAgent) {
      this.execFinal = (argv, options) =>
        runDockerFinalExec(docker, this, argv, options, (stopping) => {
          this.#stopping = stopping;
        });
    }
  }

  describe(): ContainerDescriptor {
    return { backend: this.backend, id: this.id, name: this.name, ...(this.hasAgent ? { agent: true } : {}) };
  }

  /** See `runDockerExec`: a timeout resolves with `timedOut: true` and exit code 124; an abort rejects. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return runDockerExec(this.#docker, this.id, argv, options);
  }

  async writeFile(path: string, data: string | Uint8Array): Promise<void> {
    const { dir, base } = splitFilePath(path);
    const container = this.#docker.getContainer(this.id);
    try {
      const archive = await packSingleFile(base, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      try {
        await container.putArchive(archive, { path: dir });
      } catch (error) {
        // 404: the directory is missing. Creating it only then keeps the common case at one engine call.
        if (engineStatusCode(error) !== 404) throw error;
        const mkdir = await this.exec(['mkdir', '-p', dir]);
        if (mkdir.exitCode !== 0) throw new Error(`mkdir -p ${dir} exited ${mkdir.exitCode}: ${mkdir.stderr.trim()}`);
        await container.putArchive(archive, { path: dir });
      }
    } catch (error) {
      const message = `Writing ${path} in container ${this.name} failed: ${errorMessage(error)}`;
      throw new BackendError(message, { cause: error });
    }
  }

  async readFile(path: string): Promise<Buffer> {
    let current = path;
    for (let hop = 0; hop <= maxSymlinkHops; hop++) {
      splitFilePath(current);
      const entry = await this.#readArchiveEntry(current, path);
      if (entry.type === 'file' || entry.type === 'contiguous-file') return entry.data;
      if (entry.type !== 'symlink') {
        throw new BackendError(
          `Reading ${path} in container ${this.name} failed: not a regular file (tar type ${entry.type})`,
        );
      }
      current = posix.resolve(posix.dirname(current), entry.linkName);
    }
    throw new BackendError(`Reading ${path} in container ${this.name} failed: more than ${maxSymlinkHops} symlinks`);
  }

  /**
   * One inspect. `running` while the engine says so, paused or not: a paused container (a pool's idle one) is
   * alive, and `resume()` makes it take commands again (`listRunning` lists it too).
   */
  async state(): Promise<ContainerState> {
    try {
      const info = await this.#docker.getContainer(this.id).inspect();
      return info.State.Running ? 'running' : 'stopped';
    } catch (error) {
      if (engineStatusCode(error) === 404) return 'gone';
      const message = `Asking the engine about container ${this.name} failed: ${errorMessage(error)}`;
      if (await isEngineDown(this.#docker, error)) throw new EngineUnavailableError(message, { cause: error });
      throw new BackendError(message, { cause: error });
    }
  }

  /**
   * `docker pause`: freezes every process of the container; commands fail until `resume()`. Idempotent. Rejects
   * with EngineUnavailableError when the engine cannot be reached, with BackendError when the container is gone
   * or not running.
   */
  pause(): Promise<void> {
    return setDockerPaused(this.#docker, this.id, this.name, true);
  }

  /**
   * `docker unpause`. Resuming a container that is not paused succeeds (a stopped one included: its death is the
   * watch's and `state()`'s to tell). Rejects with EngineUnavailableError when the engine cannot be reached,
   * with BackendError when the container is gone.
   */
  resume(): Promise<void> {
    return setDockerPaused(this.#docker, this.id, this.name, false);
  }

  /**
   * Force-removes the container, and resolves only once the engine says it is gone. Idempotent: a container
   * already gone counts as destroyed; one being removed by another call is waited for (up to 30 s, see
   * `forceRemove`), because that removal may still fail. Rejects with EngineUnavailableError when the engine
   * cannot be reached, also in the middle of that wait (the container may still be there: call again later),
   * with BackendError for any other failure, a removal still in progress after the wait included. After
   * `execFinal` it first waits, at most 2 s, for the container to stop by itself (see `runDockerFinalExec`).
   */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#remove().catch(async (error: unknown) => {
      this.#destroyed = undefined;
      const message = `Removing container ${this.name} failed: ${errorMessage(error)}`;
      if (await isEngineDown(this.#docker, error)) throw new EngineUnavailableError(message, { cause: error });
      throw new BackendError(message, { cause: error });
    });
    return this.#destroyed;
  }

  async #remove(): Promise<void> {
    if (this.#stopping !== undefined) await this.#stopping;
    await forceRemove(this.#docker, this.id, { clock: this.#clock });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  async #readArchiveEntry(path: string, requested: string): Promise<TarEntry> {
    try {
      const stream = (await this.#docker.getContainer(this.id).getArchive({ path })) as Readable;
      // Streamed, and only up to the first entry: a directory asked for by mistake is not downloaded whole.
      const entry = await readFirstTarEntry(stream);
      if (entry === undefined) throw new Error('the engine sent an empty archive');
      return entry;
    } catch (error) {
      const reason = engineStatusCode(error) === 404 ? `no such file: ${path}` : errorMessage(error);
      throw new BackendError(`Reading ${requested} in container ${this.name} failed: ${reason}`, { cause: error });
    }
  }
}

export interface OpenDockerContainerOptions {
  /** The engine the container lives on. @default as DockerFactory's `docker` option */
  readonly docker?: DockerEngine;
  /** Time for `destroy()`'s wait for a removal in progress. @default the system clock */
  readonly clock?: Clock;
}

/** A DockerContainer for a descriptor from `describe()`, possibly made by another process. Does not call the engine. */
export function openDockerContainer(
  descriptor: ContainerDescriptor,
  options: OpenDockerContainerOptions = {},
): DockerContainer {
  const valid =
    typeof descriptor === 'object' &&
    (descriptor as unknown) !== null &&
    descriptor.backend === 'docker' &&
    typeof descriptor.id === 'string' &&
    descriptor.id !== '' &&
    typeof descriptor.name === 'string';
  if (!valid) {
    const expected = 'a Docker container descriptor ({ backend: "docker", id, name })';
    throw new InvalidOptionError('descriptor', descriptor, expected);
  }
  const clock = validateClock(options.clock);
  return new DockerContainer(resolveDockerEngine(options.docker), descriptor.id, descriptor.name, clock, descriptor.agent === true);
}

function splitFilePath(path: unknown): { dir: string; base: string } {
  if (typeof path !== 'string' || !path.startsWith('/') || path.endsWith('/') || path.includes('\0')) {
    throw new InvalidOptionError('path', path, 'an absolute path to a file');
  }
  const normalized = posix.normalize(path);
  const base = posix.basename(normalized);
  if (Buffer.byteLength(base) > maxTarNameBytes || base === '..' || base === '.') {
    throw new InvalidOptionError('path', path, `a file path whose last part is at most ${maxTarNameBytes} bytes`);
  }
  return { dir: posix.dirname(normalized), base };
}
