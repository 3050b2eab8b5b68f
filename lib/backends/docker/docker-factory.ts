import type Dockerode from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerFactory, CreateContainerOptions, WatchHandlers } from '../../container.js';
import {
  BackendError,
  ContainerNotReadyError,
  EngineUnavailableError,
  ImageUnavailableError,
  WarmpoolError,
  errorMessage,
} from '../../errors.js';
import { waitUntilReady } from '../readiness.js';
import { DockerContainer } from './docker-container.js';
import {
  engineAnswers,
  engineStatusCode,
  isEngineDown,
  isEngineUnreachable,
  neverReachedEngine,
} from './docker-engine.js';
import { runDockerExec } from './docker-exec.js';
import { resolveDockerFactoryOptions } from './docker-factory-options.js';
import type { DockerFactoryOptions, ResolvedDockerFactoryOptions } from './docker-factory-options.js';
import { DockerImageSupply } from './docker-image.js';
import { loopbackAgentCommand } from './docker-agent.js';
import { isLoopbackOnly, startLoopbackContainer } from './docker-loopback.js';
import { dockerContainerName, ownerLabels, poolLabel, poolLabelFilter } from './docker-labels.js';
import { LeftoverRemovals } from './docker-leftover-removals.js';
import { forceRemove } from './docker-remove.js';
import { watchDockerDeaths } from './docker-watch.js';

/**
 * Makes ready Docker containers for a pool: create, start, wait for readiness. Whatever goes wrong, and whenever
 * the signal aborts, the half-made container is removed before the promise rejects, so a creation never leaks;
 * if the engine is away just then, the removal is retried in the background until the engine is back.
 */
export class DockerFactory implements ContainerFactory<DockerContainer> {
  readonly #options: ResolvedDockerFactoryOptions;
  readonly #image: DockerImageSupply;
  readonly #leftovers: LeftoverRemovals;
  #nextNetwork = 0;

  /** @throws InvalidOptionError naming the first bad option. Does not call the engine. */
  constructor(options: DockerFactoryOptions) {
    this.#options = resolveDockerFactoryOptions(options);
    this.#image = new DockerImageSupply(this.#options.docker, this.#options.image);
    this.#leftovers = new LeftoverRemovals(this.#options.docker, this.#options.clock);
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

  /**
   * Creates, starts and readies a container. Rejects with `signal.reason` when the signal aborts,
   * EngineUnavailableError when the engine cannot be reached (an outage, not this creation's fault),
   * ImageUnavailableError, ReadinessFailedError, ContainerNotReadyError (no readiness command, and it stopped at
   * once), or BackendError.
   */
  async createContainer({ signal }: CreateContainerOptions): Promise<DockerContainer> {
    signal.throwIfAborted();
    try {
      const image = await this.#image.ensure(signal);
      const networkMode = this.#nextNetworkMode();
      const loopbackOnly = isLoopbackOnly(networkMode, this.#options.agent, image.user);
      const container = await this.#create(networkMode, loopbackOnly);
      try {
        // Start and the ready checks are not interrupted mid-call: a started container is removed below anyway.
        signal.throwIfAborted();
        if (loopbackOnly) await this.#startLoopback(container, signal);
        else await this.#start(container);
        signal.throwIfAborted();
        await this.#waitUntilReady(container, signal, { runningKnown: loopbackOnly });
        return container;
      } catch (error) {
        await this.#removeHalfMade(container.id);
        throw error;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw await this.#creationFailure(error);
    }
  }

  /**
   * Watches the engine for deaths of this pool's containers (see `watchDockerDeaths`). Each (re)connection also
   * retries at once the removals of half-made containers that failed while the engine was away.
   */
  watch(handlers: WatchHandlers, signal: AbortSignal): void {
    const { docker, poolId, clock } = this.#options;
    const withRetries: WatchHandlers = {
      died: (death) => handlers.died(death),
      connected: () => {
        this.#leftovers.retryNow();
        handlers.connected();
      },
      disconnected: (error) => handlers.disconnected(error),
    };
    watchDockerDeaths({ docker, poolId, clock }, withRetries, signal);
  }

  /**
   * The full ids of this pool's running containers, in one engine call. Paused ones count as running (the engine
   * gives them a status of their own): they are alive, and a pool that pauses its idle containers must not take
   * them for dead when it reconciles.
   */
  async listRunning(signal?: AbortSignal): Promise<ReadonlySet<string>> {
    const { docker, poolId } = this.#options;
    try {
      const listed = await docker.listContainers({
        filters: { ...poolLabelFilter(poolId), status: ['running', 'paused'] },
        ...(signal === undefined ? {} : { abortSignal: signal }),
      });
      return new Set(listed.filter((info) => info.Labels[poolLabel] === poolId).map((info) => info.Id));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const message = `Listing the running containers of pool ${poolId} failed: ${errorMessage(error)}`;
      if (await isEngineDown(docker, error)) throw new EngineUnavailableError(message, { cause: error });
      throw new BackendError(message, { cause: error });
    }
  }

  /** Half-made containers whose removal failed (the engine was away) and is being retried in the background. */
  get pendingRemovals(): readonly string[] {
    return this.#leftovers.pending;
  }

  /** The network mode of the next container: the one mode, or the next of `networks` round robin. */
  #nextNetworkMode(): string {
    const { networkModes } = this.#options;
    return networkModes[this.#nextNetwork++ % networkModes.length] ?? 'none';
  }

  /** A loopback-only container (docker-loopback.ts) runs the loopback agent and has no network of the engine's. */
  async #create(networkMode: string, loopbackOnly: boolean): Promise<DockerContainer> {
    const { docker, poolId, image, command, env, labels, memoryBytes, nanoCpus } = this.#options;
    const name = dockerContainerName(poolId);
    let created: Dockerode.Container;
    try {
      // Not raced against the signal: the engine finishes a create it has received even if we stop listening, so
      // an abort waits for the container to exist and then removes it.
      created = await docker.createContainer({
        name,
        Image: image,
        Cmd: [...(loopbackOnly ? loopbackAgentCommand : command)],
        NetworkDisabled: loopbackOnly,
        Env: [...env],
        Labels: { ...labels, ...ownerLabels({ poolId }) },
        Tty: false,
        // The agent waits for its one command on stdin; StdinOnce false: a client that attaches and goes keeps it open.
        OpenStdin: this.#options.agent,
        StdinOnce: false,
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
      // A failed call may still have made the container (dockerd answers 500 to creates while it shuts down, and
      // a dropped connection hides the answer): look it up by name. Unless the request never got there.
      if (!neverReachedEngine(error)) await this.#removeHalfMade(name);
      if (engineStatusCode(error) === 404) throw new ImageUnavailableError(image, error);
      throw new BackendError(`Creating container ${name} failed: ${errorMessage(error)}`, { cause: error });
    }
    return new DockerContainer(docker, created.id, name, this.#options.clock, this.#options.agent);
  }

  async #start(container: DockerContainer): Promise<void> {
    try {
      await this.#options.docker.getContainer(container.id).start();
    } catch (error) {
      throw new BackendError(`Starting container ${container.name} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Starts a loopback-only container and waits for its agent's ready line (see `startLoopbackContainer`). */
  async #startLoopback(container: DockerContainer, signal: AbortSignal): Promise<void> {
    const { docker, readinessTimeoutMs } = this.#options;
    const outcome = await startLoopbackContainer(docker, container, { timeoutMs: readinessTimeoutMs, signal });
    if (outcome === 'ready') return;
    throw (
      (await this.#notRunning(container)) ??
      new ContainerNotReadyError(`Container ${container.name}: its output ended before its agent said it was ready`)
    );
  }

  /**
   * Runs the readiness command, if any. Without one, a container is ready when it runs: asked of the engine,
   * unless its start already proved it (`runningKnown`: a loopback agent said it waits for its command).
   */
  async #waitUntilReady(container: DockerContainer, signal: AbortSignal, { runningKnown }: { runningKnown: boolean }): Promise<void> {
    const { docker, readinessCommand, readinessTimeoutMs, readinessIntervalMs, clock } = this.#options;
    if (readinessCommand === undefined) {
      if (runningKnown) return;
      const notRunning = await this.#notRunning(container);
      if (notRunning !== undefined) throw notRunning;
      return;
    }
    // A container that exits at once fails its first attempt, so that too ends in ReadinessFailedError.
    await waitUntilReady({
      containerName: container.name,
      command: readinessCommand,
      attempt: (attemptSignal) => runDockerExec(docker, container.id, readinessCommand, { signal: attemptSignal }),
      // An exec fails when the container stopped: say that rather than the engine's 409.
      stopped: () => this.#notRunning(container),
      timeoutMs: readinessTimeoutMs,
      intervalMs: readinessIntervalMs,
      signal,
      clock,
    });
  }

  /** Why the container does not run (status, exit code, OOM), or undefined while it runs. */
  async #notRunning(container: DockerContainer): Promise<ContainerNotReadyError | undefined> {
    let state: Dockerode.ContainerInspectInfo['State'];
    try {
      ({ State: state } = await this.#options.docker.getContainer(container.id).inspect());
    } catch (error) {
      if (engineStatusCode(error) !== 404) throw error;
      return new ContainerNotReadyError(`Container ${container.name} is gone (removed while it was being readied)`);
    }
    if (state.Running && !state.Paused) return undefined;
    return new ContainerNotReadyError(
      `Container ${container.name} is not running (status ${state.Status}, exit code ${state.ExitCode}` +
        `${state.OOMKilled ? ', killed by the OOM killer' : ''}${state.Error === '' ? '' : `, ${state.Error}`})`,
    );
  }

  /**
   * Removes a container a failed or cancelled creation made. One quick retry covers a remove that races the
   * engine finishing the start; if the engine is away, the removal goes on in the background.
   */
  async #removeHalfMade(idOrName: string): Promise<void> {
    const { docker } = this.#options;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await forceRemove(docker, idOrName, { clock: this.#options.clock });
        return;
      } catch (error) {
        if (isEngineUnreachable(error)) break;
        await sleep(100);
      }
    }
    this.#leftovers.add(idOrName);
  }

  /**
   * What a failed creation rejects with: EngineUnavailableError when the engine cannot be reached or no longer
   * answers a ping, else the failure itself. Pinging after any failure also catches what an engine does while
   * it shuts down: it stops its containers (a readiness failure, seemingly) and answers 500s before its socket
   * goes away. One ping per failed creation; failures are few, and the throttle bounds them.
   */
  async #creationFailure(error: unknown): Promise<Error> {
    if (error instanceof EngineUnavailableError) return error;
    const { docker, poolId } = this.#options;
    if (isEngineUnreachable(error) || !(await engineAnswers(docker))) {
      return new EngineUnavailableError(`The Docker engine cannot be reached: ${errorMessage(error)}`, { cause: error });
    }
    if (error instanceof WarmpoolError) return error;
    return new BackendError(`Creating a container of pool ${poolId} failed: ${errorMessage(error)}`, { cause: error });
  }
}
