import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerFactory, CreateContainerOptions, WatchHandlers } from '../../container.js';
import { BackendError, ImageUnavailableError, errorMessage } from '../../errors.js';
import { randomSuffix } from '../owner.js';
import { waitUntilReady } from '../readiness.js';
import { runLxcCommand } from './lxc-commands.js';
import { startLxcAgent } from './lxc-agent.js';
import { LxcContainer } from './lxc-container.js';
import { destroyLxcContainer } from './lxc-destroy.js';
import { resolveLxcFactoryOptions, type LxcFactoryOptions, type ResolvedLxcFactoryOptions } from './lxc-factory-options.js';
import { buildLxcName } from './lxc-names.js';
import { listRunningLxc } from './lxc-running.js';
import { watchLxcMonitor } from './lxc-watch.js';

/**
 * Makes ready LXC containers by cloning a stopped base: `lxc-copy` (an overlayfs snapshot by default),
 * `lxc-start -d`, `lxc-wait -s RUNNING`, then the readiness command until it succeeds, within
 * `readinessTimeoutMs` (ReadinessFailedError otherwise), then (with `agent`) the agent that `execFinal` uses.
 *
 * A creation whose signal aborts, or that fails at any step, destroys its half-made clone before it rejects
 * (with the signal's reason when aborted), so a creation never leaks a clone; clones of a crashed process are
 * found by `reapLxcOrphans` through the creator pid in their names.
 */
export class LxcFactory implements ContainerFactory<LxcContainer> {
  readonly options: ResolvedLxcFactoryOptions;
  #baseCheck: Promise<void> | undefined;

  constructor(options: LxcFactoryOptions) {
    this.options = resolveLxcFactoryOptions(options);
  }

  async createContainer({ signal }: CreateContainerOptions): Promise<LxcContainer> {
    signal.throwIfAborted();
    await this.#checkBase();
    signal.throwIfAborted();
    const { lxcpath, poolId } = this.options;
    const name = buildLxcName(poolId, process.pid, randomSuffix());
    try {
      return await this.#bringUp(name, signal);
    } catch (error) {
      try {
        await destroyLxcContainer(lxcpath, name);
      } catch (destroyError) {
        if (signal.aborted) throw signal.reason;
        throw new BackendError(
          `Creating ${name} failed (${errorMessage(error)}) and removing the half-made clone failed too: ${errorMessage(destroyError)}`,
          { cause: destroyError },
        );
      }
      if (signal.aborted) throw signal.reason;
      throw error;
    }
  }

  async #bringUp(name: string, signal: AbortSignal): Promise<LxcContainer> {
    const { lxcpath, base, snapshot, startTimeoutMs, readinessCommand, env, agent } = this.options;
    const target = ['-P', lxcpath, '-n', name];
    await runLxcCommand(
      'lxc-copy',
      ['-P', lxcpath, '-n', base, '-N', name, ...(snapshot ? ['-s', '-B', 'overlayfs'] : [])],
      { signal },
    );
    // The monitor's pid, in the clone's own directory (lxc-destroy removes it): the agent finds the init from it.
    const monitorPidFile = agent ? join(lxcpath, name, 'warmpool-monitor.pid') : undefined;
    await runLxcCommand('lxc-start', [...target, '-d', ...(monitorPidFile === undefined ? [] : ['-p', monitorPidFile])], { signal });
    await runLxcCommand('lxc-wait', [...target, '-s', 'RUNNING', '-t', String(Math.ceil(startTimeoutMs / 1000))], {
      signal,
    });
    const container = new LxcContainer(lxcpath, name, { env });
    if (readinessCommand !== undefined) await this.#waitUntilReady(container, readinessCommand, signal);
    if (!agent) return container;
    // Started once the container is ready, off any job's path; without it the container still works through exec.
    const agentPath = await startLxcAgent({ lxcpath, name, env, monitorPidFile, signal });
    return agentPath === undefined ? container : new LxcContainer(lxcpath, name, { env, agentPath });
  }

  #waitUntilReady(container: LxcContainer, command: readonly string[], signal: AbortSignal): Promise<void> {
    const { readinessTimeoutMs, readinessIntervalMs } = this.options;
    return waitUntilReady({
      containerName: container.name,
      command,
      attempt: (attemptSignal) => container.exec(command, { signal: attemptSignal }),
      // An attempt rejects when lxc-attach cannot enter the container: say so if it stopped or went away.
      stopped: async () => {
        const state = await container.state();
        return state === 'running' ? undefined : new Error(`Container ${container.name} is ${state}`);
      },
      timeoutMs: readinessTimeoutMs,
      intervalMs: readinessIntervalMs,
      signal,
    });
  }

  /**
   * Watches this pool's containers with `lxc-monitor` (see `watchLxcMonitor`): a container that stops (killed
   * init, `lxc-stop`, `lxc-destroy` of a running one, a reboot) is reported as `died` within milliseconds; the
   * exit code comes with it when the init exited with a code other than 0 (a kill by a signal has none). LXC
   * says nothing when a stopped container is destroyed, and never reports OOM kills (`oomKilled` is always
   * false): the pool's reconcile through `listRunning()` after each `connected()` covers what it missed.
   */
  watch(handlers: WatchHandlers, signal: AbortSignal): void {
    const { lxcpath, poolId } = this.options;
    watchLxcMonitor({ lxcpath, poolId, handlers, signal });
  }

  /**
   * This pool's running containers (any process's), in one `lxc-ls --running` filtered to the pool's names.
   * @throws EngineUnavailableError when the lxcpath cannot be read or lxc-ls fails
   */
  listRunning(signal?: AbortSignal): Promise<ReadonlySet<string>> {
    return listRunningLxc(this.options.lxcpath, this.options.poolId, signal);
  }

  // Checked once: a missing base fails every creation at once, and the pool queues and throttles those errors.
  #checkBase(): Promise<void> {
    const { lxcpath, base } = this.options;
    const config = join(lxcpath, base, 'config');
    this.#baseCheck ??= access(config).catch((error: unknown) => {
      const reason = new Error(`no LXC container ${base} in ${lxcpath} (${config}: ${errorMessage(error)})`, {
        cause: error,
      });
      throw new ImageUnavailableError(base, reason);
    });
    return this.#baseCheck;
  }
}
