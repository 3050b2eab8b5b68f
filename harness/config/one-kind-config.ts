import { defaultReadinessTimeoutMs } from '../../lib/backends/readiness.js';
import { loadEngineConfig } from '../engine-config.js';
import type { ServiceConfig } from '../service/service-config.js';
import type { HostConfig, KindConfig, LabConfig } from './lab-config.js';

/** The kind today's flags make. */
export const oneKindName = 'default';

/**
 * Today's flat `warmpool serve` flags and config file as a LabConfig of one kind, so the service has one
 * config to run from. The pool stays as it was: its pool id is the service's own, not `<poolId>.default`, so
 * its container names and labels, and the reaping that goes by them, do not change; min = max = size with no
 * idle expiry keeps `size` ready at all times; `workers` bounds the creations. There was no host-wide bound on
 * containers, so maxContainers is Infinity, which only this conversion may give (a file needs an integer).
 */
export function labConfigFromServiceConfig(config: ServiceConfig, env: NodeJS.ProcessEnv = process.env): LabConfig {
  const engines = loadEngineConfig({ env });
  const host: HostConfig = {
    poolId: config.poolId,
    socket: config.socket,
    metricsPort: config.metricsPort,
    logLevel: config.logLevel,
    maxCreations: config.workers,
    maxContainers: Infinity,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    maxConnections: config.maxConnections,
    maxWaitingGets: config.maxWaitingGets,
    maxUnreadBytes: config.maxUnreadBytes,
    lineTimeoutMs: config.lineTimeoutMs,
    maxLineBytes: config.maxLineBytes,
    dockerSocket: config.dockerSocket ?? engines.dockerSocket,
    lxcPath: config.lxcPath ?? engines.lxcPath,
  };
  const common = {
    name: oneKindName,
    poolId: config.poolId,
    env: {},
    readinessCommand: config.readinessCommand,
    readinessTimeoutMs: config.readinessTimeoutMs ?? defaultReadinessTimeoutMs,
    creationTimeoutMs: config.creationTimeoutMs,
    maxErrorsPerHour: config.maxErrorsPerHour,
    min: config.size,
    max: config.size,
    idleTtlMs: Infinity,
    maxAgeMs: undefined,
    pauseIdle: false,
  };
  const kind: KindConfig =
    config.backend === 'lxc'
      ? { backend: 'lxc', ...common, base: config.lxcBase ?? engines.lxcBase }
      : {
          backend: 'docker',
          ...common,
          image: config.dockerImage ?? engines.dockerImage,
          command: undefined,
          labels: {},
          memoryBytes: undefined,
          cpus: undefined,
          network: 'none',
        };
  return { host, kinds: new Map([[oneKindName, kind]]) };
}
