import { basename } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import { HostPools } from '../../lib/host-pools.js';
import type { RunnableContainer } from '../../lib/container.js';
import type { KindSpec } from '../../lib/kind.js';
import { createBackendFactory, reapBackendOrphans, resolveBackendSettings, type BackendSettings } from '../backend.js';
import { backendSettingsOfKind, kindSpecOf } from '../config/kind-spec.js';
import { loadLabConfig, type LabConfig } from '../config/lab-config.js';
import { oneKindName } from '../config/one-kind-config.js';
import { PoolSource, type ContainerSource } from './container-source.js';
import { HostSource } from './host-source.js';
import type { RunDescription } from './results-writer.js';
import type { RunSettings } from './run-settings.js';
import { connectServiceSource } from './service-source.js';

/** Where `warmpool run` gets its containers, decided (and its config file read) before anything is created. */
export type SourcePlan =
  | { readonly from: 'service'; readonly socket: string; readonly dockerSocket: string | undefined }
  /** One pool of its own, made from the flags: one kind, `default`. */
  | { readonly from: 'flags'; readonly backend: BackendSettings; readonly size: number }
  /** A pool of its own per kind of a host config file, under the host's caps. */
  | { readonly from: 'config'; readonly file: string; readonly config: LabConfig };

export interface OpenedSource {
  readonly source: ContainerSource;
  readonly description: RunDescription;
}

/**
 * The source a run's settings ask for. Reads the config file, if any.
 * @throws ConfigFileError (a UsageError: exit 2) naming the file, the key and the value, when it cannot be used
 */
export function planSource(settings: RunSettings, jobs: number): SourcePlan {
  if (settings.socket !== undefined) return { from: 'service', socket: settings.socket, dockerSocket: settings.dockerSocket };
  if (settings.config !== undefined) return { from: 'config', file: settings.config, config: loadLabConfig(settings.config) };
  return {
    from: 'flags',
    backend: resolveBackendSettings({ backend: settings.backend, poolId: settings.poolId }),
    size: settings.size ?? Math.max(1, Math.min(settings.concurrency, jobs)),
  };
}

/** The kinds the source will have, its default first; undefined for a service, which says so once connected. */
export function plannedKinds(plan: SourcePlan): readonly string[] | undefined {
  if (plan.from === 'flags') return [oneKindName];
  if (plan.from === 'config') return [...plan.config.kinds.keys()];
  return undefined;
}

/** The engines and pool ids of the run's own containers (none for a service, whose containers are its own). */
export function poolsOf(plan: SourcePlan): BackendSettings[] {
  if (plan.from === 'flags') return [plan.backend];
  if (plan.from === 'config') return [...plan.config.kinds.values()].map((kind) => backendSettingsOfKind(kind, plan.config.host));
  return [];
}

/**
 * Removes what an earlier run of the same pool ids left when it was killed (its process is gone), as `serve`
 * does at start: every kind's pool id with a config. Containers of a live process (a run going on in parallel)
 * are left alone. Not being able to look is not fatal: the run says so and goes on (the pool waits for an engine
 * that is down).
 */
export async function reapEarlierRuns(plan: SourcePlan, say: { removed(line: string): void; failed(line: string): void }): Promise<void> {
  for (const settings of poolsOf(plan)) {
    try {
      const { removed } = await reapBackendOrphans(settings);
      if (removed.length > 0) say.removed(`Removed ${removed.length} container(s) an earlier run of pool ${settings.poolId} left behind: ${removed.join(', ')}`);
    } catch (error) {
      say.failed(`could not look for containers an earlier run of pool ${settings.poolId} left behind: ${errorMessage(error)}`);
    }
  }
}

/**
 * Opens the planned source: connects to the service, or starts the pools (which begin creating at once).
 * @throws ServiceUnavailableError when no service answers on the socket
 */
export async function openSource(plan: SourcePlan, base: RunDescription, signal: AbortSignal): Promise<OpenedSource> {
  if (plan.from === 'service') {
    const source = await connectServiceSource({ socketPath: plan.socket, ...(plan.dockerSocket === undefined ? {} : { dockerSocket: plan.dockerSocket }), signal });
    return { source, description: { ...base, source: 'service', socket: plan.socket, ...(source.kinds === undefined ? {} : { kinds: source.kinds }) } };
  }
  if (plan.from === 'config') {
    const { config } = plan;
    const specs = new Map<string, KindSpec<RunnableContainer>>();
    for (const [name, kind] of config.kinds) specs.set(name, kindSpecOf(kind, config.host));
    const host = new HostPools<RunnableContainer>(specs, { maxCreations: config.host.maxCreations, maxContainers: config.host.maxContainers });
    const source = new HostSource(host);
    return { source, description: { ...base, source: 'in-process', config: plan.file, poolId: config.host.poolId, kinds: host.kinds } };
  }
  // Validated before anything is created: the pool's constructor starts creating at once.
  const factory = createBackendFactory(plan.backend);
  const source = PoolSource.start(factory, { size: plan.size });
  return {
    source,
    description: { ...base, source: 'in-process', backend: plan.backend.backend, poolId: plan.backend.poolId, poolSize: plan.size },
  };
}

/** Where the containers come from, in words, for the run's first line. */
export function describePlan(plan: SourcePlan): string {
  if (plan.from === 'service') return `the service at ${plan.socket}`;
  if (plan.from === 'flags') return `an in-process ${plan.backend.backend} pool of ${plan.size}`;
  const kinds = [...plan.config.kinds.values()].map((kind) => `${kind.name} (${kind.backend})`);
  return `in-process pools of ${basename(plan.file)}'s kinds ${kinds.join(', ')}`;
}

/** How to remove the containers a run could not, once it has exited. */
export function reapHint(plan: SourcePlan): string {
  if (plan.from === 'service') return 'the service that handed them out removes them when it shuts down';
  const commands = poolsOf(plan).map((settings) => `\`warmpool reap --pool-id ${settings.poolId} --backend ${settings.backend}\``);
  if (commands.length === 1) return `${commands.join('')} removes them once this run has exited (so does the next run of this pool id)`;
  return `${commands.join(' and ')} remove them once this run has exited (so does the next run of these pool ids)`;
}
