import Dockerode from 'dockerode';
import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { poolLabel } from '../../lib/backends/docker/index.js';
import { errorMessage } from '../../lib/errors.js';
import { reapBackendOrphans, type BackendSettings } from '../backend.js';

/** One of a pool's containers as the engine sees it, independent of the pool that made it. */
export interface EngineContainer {
  /** What `RunnableContainer.id` holds for it: the Docker id, or the LXC name. */
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  /** The engine's word for its state (`running`, `exited`, `created`; LXC: `RUNNING`, `STOPPED`), for notes. */
  readonly state: string;
}

/** How long a container the engine is removing by itself may take before it counts as left. */
const removingGraceMs = 15_000;

/**
 * The fault suite's own view of the engine: it lists a pool's containers straight from Docker (by the pool
 * label) or from the lxcpath (by the name prefix), never through the pool it is judging.
 */
export class EngineView {
  readonly #settings: BackendSettings;
  readonly #docker: Dockerode | undefined;

  constructor(settings: BackendSettings) {
    this.#settings = settings;
    this.#docker = settings.backend === 'docker' ? new Dockerode({ socketPath: settings.dockerSocket }) : undefined;
  }

  get settings(): BackendSettings {
    return this.#settings;
  }

  /** The Docker client (Docker settings only). */
  get docker(): Dockerode {
    if (!this.#docker) throw new Error('not a Docker engine');
    return this.#docker;
  }

  /** Every container of `poolId` now, stopped ones included. */
  async containersOf(poolId: string): Promise<EngineContainer[]> {
    if (this.#docker) {
      const list = await this.#docker.listContainers({ all: true, filters: { label: [`${poolLabel}=${poolId}`] } });
      return list.map((info) => ({ id: info.Id, name: (info.Names[0] ?? info.Id).replace(/^\//, ''), running: info.State === 'running', state: info.State }));
    }
    const prefix = `warmpool-${poolId}-`;
    const names = (await readdir(this.#settings.lxcPath)).filter((name) => name.startsWith(prefix));
    return Promise.all(
      names.map(async (name) => {
        const state = await lxcState(this.#settings.lxcPath, name);
        return { id: name, name, running: state === 'RUNNING', state };
      }),
    );
  }

  /** Names of every container whose pool id starts with `prefix` (all pools of one fault run), stopped ones included. */
  async namesWithPoolPrefix(prefix: string): Promise<string[]> {
    if (this.#docker) {
      const list = await this.#docker.listContainers({ all: true, filters: { label: [poolLabel] } });
      return list.filter((info) => info.Labels[poolLabel]?.startsWith(prefix)).map((info) => (info.Names[0] ?? info.Id).replace(/^\//, ''));
    }
    return (await readdir(this.#settings.lxcPath)).filter((name) => name.startsWith(`warmpool-${prefix}`));
  }

  /**
   * Waits until no process on this host still works on one of the pool's LXC containers (an `lxc-copy` whose
   * parent was SIGKILLed goes on to finish its clone): counting before that would miss what it leaves. Docker
   * creations live in the engine, where a short settle is all one can do.
   */
  async settle(poolId: string, timeoutMs = 30_000): Promise<void> {
    if (this.#docker) {
      await sleep(500);
      return;
    }
    const needle = `warmpool-${poolId}-`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await processesMentioning(needle, this.#settings.lxcPath)) > 0) await sleep(200);
  }

  /**
   * Counts what the pool left, then removes it (force-reap: the pool id is this run's own), so the next
   * scenario and the engine start clean. Resolves with the count before the reap.
   */
  async countLeftAndReap(poolId: string): Promise<{ left: number; names: string[]; reapError?: string }> {
    await this.settle(poolId);
    let left = await this.containersOf(poolId);
    // A removal the engine was doing when it stopped is finished by the engine itself after its restart (the
    // container shows `removing` meanwhile, and removing it again is refused as already in progress): wait for
    // it rather than count it. One that never finishes is counted.
    const deadline = Date.now() + removingGraceMs;
    while (left.some((container) => container.state === 'removing') && Date.now() < deadline) {
      await sleep(250);
      left = await this.containersOf(poolId);
    }
    let reapError: string | undefined;
    if (left.length > 0) {
      try {
        await reapBackendOrphans({ ...this.#settings, poolId }, true);
      } catch (error) {
        reapError = errorMessage(error);
      }
    }
    const names = left.map((container) => `${container.name} (${container.state})`);
    return { left: left.length, names, ...(reapError === undefined ? {} : { reapError }) };
  }
}

async function lxcState(lxcpath: string, name: string): Promise<string> {
  const result = await execa('lxc-info', ['-P', lxcpath, '-n', name, '-s', '-H'], { reject: false, env: { LC_ALL: 'C' } });
  return result.stdout.trim() || 'unknown';
}

/** The LXC tools that make, start, stop or remove containers: what is still in flight after a SIGKILL. */
const workingTools = new Set(['lxc-copy', 'lxc-start', 'lxc-wait', 'lxc-attach', 'lxc-stop', 'lxc-destroy', 'lxc-create']);

/**
 * Processes on this host running one of `tools` (by the basename of argv[0]) with `needle` and `lxcpath` on
 * their command line. A running container's own monitor (`[lxc monitor] ...`) is never one of them.
 */
async function processesMentioning(needle: string, lxcpath: string, tools: ReadonlySet<string> = workingTools): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const commandLine = argv.join(' ');
      if (tools.has(basename(argv[0] ?? '')) && commandLine.includes(needle) && commandLine.includes(lxcpath)) count++;
    } catch {
      // The process ended while we looked.
    }
  }
  return count;
}

/** `lxc-monitor` processes watching a pool's containers (LXC's watch), for counting the ones a SIGKILL orphaned. */
export function lxcWatchersOf(lxcpath: string, poolId: string): Promise<number> {
  return processesMentioning(`warmpool-${poolId}-`, lxcpath, new Set(['lxc-monitor']));
}
