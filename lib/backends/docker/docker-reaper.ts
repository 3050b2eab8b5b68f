import { hostname } from 'node:os';
import { BackendError, InvalidOptionError, errorMessage } from '../../errors.js';
import { isProcessAlive, validatePoolId } from '../owner.js';
import { resolveDockerEngine } from './docker-engine.js';
import type { DockerEngine } from './docker-engine.js';
import { hostLabel, pidLabel, poolLabel, poolLabelFilter } from './docker-labels.js';
import { forceRemove } from './docker-remove.js';

export interface ReapDockerOrphansOptions {
  /** @default as DockerFactory's `docker` option */
  readonly docker?: DockerEngine;
  readonly poolId: string;
  /** Remove every container of the pool, also those whose creator still runs. @default false */
  readonly force?: boolean;
}

export interface ReapResult {
  /** Names of the containers removed. */
  readonly removed: string[];
  /** Names of the pool's containers left alone: their creator runs, or runs on another host. */
  readonly kept: string[];
}

/** Removals at once: enough to be quick, few enough not to swamp the engine. */
const removeConcurrency = 4;

/**
 * Removes the containers a pool's dead creators left behind (a crash, a SIGKILL). Only containers labelled
 * `warmpool.pool=<poolId>` are looked at; one is an orphan when its `warmpool.host` is this host and its
 * `warmpool.pid` no longer runs. A container without our labels is never touched, even with `force`.
 * @throws BackendError if listing fails, or after trying all, if some removals failed.
 */
export async function reapDockerOrphans(options: ReapDockerOrphansOptions): Promise<ReapResult> {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const poolId = validatePoolId(options.poolId);
  const force = options.force ?? false;
  if (typeof force !== 'boolean') throw new InvalidOptionError('force', force, 'a boolean');
  const docker = resolveDockerEngine(options.docker);

  let listed;
  try {
    listed = await docker.listContainers({ all: true, filters: poolLabelFilter(poolId) });
  } catch (error) {
    throw new BackendError(`Listing containers of pool ${poolId} failed: ${errorMessage(error)}`, { cause: error });
  }
  const thisHost = hostname();
  const removable: { id: string; name: string }[] = [];
  const kept: string[] = [];
  for (const info of listed) {
    const labels = info.Labels;
    const name = (info.Names[0] ?? info.Id).replace(/^\//, '');
    // The engine filtered on the label already; checking again costs nothing and guards against a loose filter.
    if (labels[poolLabel] !== poolId) continue;
    const pid = Number(labels[pidLabel]);
    const orphaned = labels[hostLabel] === thisHost && Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid);
    if (force || orphaned) removable.push({ id: info.Id, name });
    else kept.push(name);
  }

  const removed: string[] = [];
  const failures: { name: string; error: unknown }[] = [];
  const queue = [...removable];
  const removeNext = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      try {
        await forceRemove(docker, next.id);
        removed.push(next.name);
      } catch (error) {
        failures.push({ name: next.name, error });
      }
    }
  };
  await Promise.all(Array.from({ length: removeConcurrency }, removeNext));
  if (failures.length > 0) {
    const names = failures.map((failure) => failure.name).join(', ');
    const cause = failures[0]?.error;
    throw new BackendError(`Removing orphans of pool ${poolId} failed for ${names}: ${errorMessage(cause)}`, { cause });
  }
  return { removed, kept };
}
