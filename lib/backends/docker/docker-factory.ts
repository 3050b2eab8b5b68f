import type Dockerode from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerFactory, CreateContainerOptions, ExecResult } from '../../container.js';
import {
  BackendError,
  ContainerNotReadyError,
  ImageUnavailableError,
  WarmpoolError,
  errorMessage,
} from '../../errors.js';
import { DockerContainer } from './docker-container.js';
import { engineStatusCode, forceRemove } from './docker-engine.js';
import { runDockerExec } from './docker-exec.js';
import { resolveDockerFactoryOptions } from './docker-factory-options.js';
import type { DockerFactoryOptions, ResolvedDockerFactoryOptions } from './docker-factory-options.js';
import { DockerImageSupply } from './docker-image.js';
import { dockerContainerName, ownerLabels } from './docker-labels.js';

/**
 * Makes ready Docker containers for a pool: create, start, wait for readiness. Whatever goes wrong, and whenever
 * the signal aborts, the half-made container is removed before the promise rejects, so a creation never leaks.
 */
export class DockerFactory implements ContainerFactory<DockerContainer> {
  readonly #options: ResolvedDockerFactoryOptions;
  readonly #image: DockerImageSupply;
  #nextNetwork = 0;

  /** @throws InvalidOptionError naming the first bad option. Does not call the engine. */
  constructor(options: DockerFactoryOptions) {
    this.#options = resolveDockerFactoryOptions(options);
    this.#image = new DockerImageSupply(this.#options.docker, this.#options.image);
  }

  get poolId(): string {
    return this.#options.poolId;
  }

  get image(): string {
    return this.#options.image;
  }

  /** The engine client, for reaping and inspection with the same connection. */
  get docker(): Dockerode {
    return this.#options.docker;
  }

  async createContainer({ signal }: CreateContainerOptions): Promise<DockerContainer> {
    signal.throwIfAborted();
    await this.#image.ensure(signal);
    const container = await this.#create(signal);
    try {
      // Start and the ready checks are not interrupted mid-call: a started container is removed below anyway.
      signal.throwIfAborted();
      await this.#options.docker.getContainer(container.id).start();
      signal.throwIfAborted();
      await this.#waitUntilReady(container, signal);
      return container;
    } catch (error) {
      await removeQuietly(container);
      if (signal.aborted) throw signal.reason;
      if (error instanceof WarmpoolError) throw error;
      throw new BackendError(`Starting container ${container.name} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async #create(signal: AbortSignal): Promise<DockerContainer> {
    const { docker, poolId, image, command, env, labels, memoryBytes, nanoCpus, networkModes } = this.#options;
    const name = dockerContainerName(poolId);
    const networkMode = networkModes[this.#nextNetwork++ % networkModes.length] ?? 'none';
    let created: Dockerode.Container;
    try {
      // Not raced against the signal: the engine finishes a create it has received even if we stop listening, so
      // an abort waits for the container to exist and then removes it.
      created = await docker.createContainer({
        name,
        Image: image,
        Cmd: [...command],
        Env: [...env],
        Labels: { ...labels, ...ownerLabels({ poolId }) },
        Tty: false,
        OpenStdin: false,
        HostConfig: {
          NetworkMode: networkMode,
          ...(memoryBytes === undefined ? {} : { Memory: memoryBytes }),
          ...(nanoCpus === undefined ? {} : { NanoCpus: nanoCpus }),
          // Pool containers are for exec; nobody reads their logs, so don't pay for writing them.
          LogConfig: { Type: 'none', Config: {} },
          AutoRemove: false,
        },
      });
    } catch (error) {
      // A failed call (a dropped connection, say) may still have made the container: look it up by name.
      await forceRemove(docker, name).catch(() => undefined);
      if (signal.aborted) throw signal.reason;
      if (engineStatusCode(error) === 404) throw new ImageUnavailableError(image, error);
      throw new BackendError(`Creating container ${name} failed: ${errorMessage(error)}`, { cause: error });
    }
    return new DockerContainer(docker, created.id, name);
  }

  async #waitUntilReady(container: DockerContainer, signal: AbortSignal): Promise<void> {
    await this.#assertRunning(container);
    const { readinessCommand, readinessTimeoutMs, readinessIntervalMs } = this.#options;
    if (readinessCommand === undefined) return;
    const deadline = Date.now() + readinessTimeoutMs;
    // The last attempt that finished: an attempt cut short by the deadline says nothing about why it failed.
    let lastFinished: ExecResult | undefined;
    for (;;) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        throw new ContainerNotReadyError(
          `Container ${container.name}: readiness command ${JSON.stringify(readinessCommand)} did not succeed ` +
            `within ${readinessTimeoutMs} ms (${describeAttempt(lastFinished)})`,
        );
      }
      let result: ExecResult;
      try {
        result = await runDockerExec(this.#options.docker, container.id, readinessCommand, {
          signal,
          ...(Number.isFinite(remainingMs) ? { timeoutMs: remainingMs } : {}),
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // An exec fails when the container stopped: say that rather than the engine's 409.
        await this.#assertRunning(container);
        throw error;
      }
      if (result.timedOut) continue;
      if (result.exitCode === 0) return;
      lastFinished = result;
      await sleep(Math.min(readinessIntervalMs, Math.max(1, deadline - Date.now())), undefined, { signal });
    }
  }

  async #assertRunning(container: DockerContainer): Promise<void> {
    const { State: state } = await this.#options.docker.getContainer(container.id).inspect();
    if (!state.Running) {
      throw new ContainerNotReadyError(
        `Container ${container.name} is not running (status ${state.Status}, exit code ${state.ExitCode}` +
          `${state.Error === '' ? '' : `, ${state.Error}`})`,
      );
    }
  }
}

function describeAttempt(result: ExecResult | undefined): string {
  if (result === undefined) return 'no attempt finished';
  const stderr = result.stderr.trim().slice(0, 200);
  return `last exit code ${result.exitCode}${stderr === '' ? '' : `: ${stderr}`}`;
}

async function removeQuietly(container: DockerContainer): Promise<void> {
  // One retry: a remove can race the engine still finishing the start.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await container.destroy();
      return;
    } catch {
      await sleep(100);
    }
  }
}
