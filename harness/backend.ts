import type { ContainerDescriptor, ContainerFactory, RunnableContainer } from '../lib/container.js';
import { InvalidOptionError } from '../lib/errors.js';
import { DockerFactory, openDockerContainer, reapDockerOrphans } from '../lib/backends/docker/index.js';
import { LxcFactory, openLxcContainer, reapLxcOrphans } from '../lib/backends/lxc/index.js';
import { loadEngineConfig } from './engine-config.js';

export const backendNames = ['docker', 'lxc'] as const;
export type BackendName = (typeof backendNames)[number];

/**
 * Everything the harness (service, scheduler, benchmarks) needs to reach one backend. Defaults come from
 * `loadEngineConfig()` (the package's `.engines/engines.env`, which the fixtures write, overridable by the environment).
 */
export interface BackendSettings {
  readonly backend: BackendName;
  readonly poolId: string;
  /** Docker: the engine's unix socket path. */
  readonly dockerSocket: string;
  /** Docker: the image containers run. */
  readonly dockerImage: string;
  /** LXC: the lxcpath. */
  readonly lxcPath: string;
  /** LXC: the base container clones are made from. */
  readonly lxcBase: string;
  /** Run until it exits 0 before a container counts as ready. */
  readonly readinessCommand?: readonly string[];
  /** Give up on a container whose readiness command has not succeeded after this many ms (`--readiness-timeout-ms`). */
  readonly readinessTimeoutMs?: number;
}

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (backendNames as readonly string[]).includes(value);
}

export function resolveBackendSettings(given: Partial<BackendSettings> & { backend?: unknown }): BackendSettings {
  const backend = given.backend ?? 'docker';
  if (!isBackendName(backend)) throw new InvalidOptionError('backend', backend, `one of ${backendNames.join(', ')}`);
  const engines = loadEngineConfig();
  return {
    backend,
    poolId: given.poolId ?? 'default',
    dockerSocket: given.dockerSocket ?? engines.dockerSocket,
    dockerImage: given.dockerImage ?? engines.dockerImage,
    lxcPath: given.lxcPath ?? engines.lxcPath,
    lxcBase: given.lxcBase ?? engines.lxcBase,
    ...(given.readinessCommand ? { readinessCommand: given.readinessCommand } : {}),
    ...(given.readinessTimeoutMs === undefined ? {} : { readinessTimeoutMs: given.readinessTimeoutMs }),
  };
}

export function createBackendFactory(settings: BackendSettings): ContainerFactory<RunnableContainer> {
  // Only what was given: each factory validates the values and applies its own defaults.
  const readinessCommand = settings.readinessCommand ? { readinessCommand: settings.readinessCommand } : {};
  const readinessTimeoutMs = settings.readinessTimeoutMs === undefined ? {} : { readinessTimeoutMs: settings.readinessTimeoutMs };
  if (settings.backend === 'docker') {
    return new DockerFactory({
      docker: settings.dockerSocket,
      poolId: settings.poolId,
      image: settings.dockerImage,
      ...readinessCommand,
      ...readinessTimeoutMs,
    });
  }
  return new LxcFactory({
    lxcpath: settings.lxcPath,
    base: settings.lxcBase,
    poolId: settings.poolId,
    ...readinessCommand,
    ...readinessTimeoutMs,
  });
}

/** A handle on a container described by another process (the pool service), using the same backend code. */
export function openBackendContainer(descriptor: ContainerDescriptor, settings: Pick<BackendSettings, 'dockerSocket'>): RunnableContainer {
  if (descriptor.backend === 'docker') return openDockerContainer(descriptor, { docker: settings.dockerSocket });
  return openLxcContainer(descriptor);
}

/** Removes the containers of `settings.poolId` whose creator process is gone (all of them with `force`). */
export async function reapBackendOrphans(settings: BackendSettings, force = false): Promise<{ removed: string[]; kept: string[] }> {
  if (settings.backend === 'docker') return reapDockerOrphans({ docker: settings.dockerSocket, poolId: settings.poolId, force });
  return reapLxcOrphans({ lxcpath: settings.lxcPath, poolId: settings.poolId, force });
}
