import type { RunnableContainer } from '../../lib/container.js';
import type { KindSpec } from '../../lib/kind.js';
import { DockerFactory } from '../../lib/backends/docker/index.js';
import { LxcFactory } from '../../lib/backends/lxc/index.js';
import type { BackendSettings } from '../backend.js';
import { sizingKeys } from './config-diff.js';
import type { HostConfig, KindConfig } from './lab-config.js';

/**
 * A configured kind as the library's KindSpec: its factory (Docker or LXC, with the kind's own pool id, so its
 * containers are named, labelled and reaped as its own), its sizing, and a version that changes whenever
 * anything about its containers changes, so a reload rolls the kind over exactly then.
 */
export function kindSpecOf(kind: KindConfig, host: HostConfig): KindSpec<RunnableContainer> {
  return {
    factory: factoryOf(kind, host),
    min: kind.min,
    max: kind.max,
    idleTtlMs: kind.idleTtlMs,
    ...(kind.maxAgeMs === undefined ? {} : { maxAgeMs: kind.maxAgeMs }),
    pauseIdle: kind.pauseIdle,
    pool: { creationTimeoutMs: kind.creationTimeoutMs, maxErrorsPerHour: kind.maxErrorsPerHour, maxWorkers: host.maxCreations },
    version: containerVersion(kind, host),
  };
}

/** The kind's backend settings, for reaping what a crashed predecessor left of it. */
export function backendSettingsOfKind(kind: KindConfig, host: HostConfig): BackendSettings {
  return {
    backend: kind.backend,
    poolId: kind.poolId,
    dockerSocket: host.dockerSocket,
    dockerImage: kind.backend === 'docker' ? kind.image : '',
    lxcPath: host.lxcPath,
    lxcBase: kind.backend === 'lxc' ? kind.base : '',
  };
}

function factoryOf(kind: KindConfig, host: HostConfig): DockerFactory | LxcFactory {
  const readiness = kind.readinessCommand === undefined ? {} : { readinessCommand: kind.readinessCommand };
  if (kind.backend === 'docker') {
    return new DockerFactory({
      docker: host.dockerSocket,
      poolId: kind.poolId,
      image: kind.image,
      ...(kind.command === undefined ? {} : { command: kind.command }),
      env: kind.env,
      labels: kind.labels,
      ...(kind.memoryBytes === undefined ? {} : { memoryBytes: kind.memoryBytes }),
      ...(kind.cpus === undefined ? {} : { cpus: kind.cpus }),
      networkMode: kind.network,
      ...readiness,
      readinessTimeoutMs: kind.readinessTimeoutMs,
    });
  }
  return new LxcFactory({
    lxcpath: host.lxcPath,
    base: kind.base,
    poolId: kind.poolId,
    env: kind.env,
    ...readiness,
    readinessTimeoutMs: kind.readinessTimeoutMs,
  });
}

/** Everything but the sizing keys, and the engine endpoints: what makes the kind's containers what they are. */
function containerVersion(kind: KindConfig, host: HostConfig): string {
  const fields = Object.entries(kind).filter(([key]) => !sizingKeys.has(key));
  const engine = kind.backend === 'docker' ? host.dockerSocket : host.lxcPath;
  return JSON.stringify([engine, ...fields.sort(([a], [b]) => a.localeCompare(b))]);
}
