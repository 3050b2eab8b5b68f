import { BackendError, errorMessage } from '../../lib/errors.js';
import { HostPools } from '../../lib/host-pools.js';
import { createLogger, type PoolLogger } from '../../lib/logger.js';
import type { RunnableContainer } from '../../lib/container.js';
import { reapBackendOrphans, resolveBackendSettings, type BackendName, type BackendSettings } from '../backend.js';
import { backendSettingsOfKind, kindSpecOf } from '../config/kind-spec.js';
import { diffLabConfigs } from '../config/config-diff.js';
import type { LabConfig } from '../config/lab-config.js';
import { createServiceMetrics, startMetricsServer, type MetricsServer, type ServiceMetrics } from './metrics.js';
import { PoolService, type ShutdownReport } from './pool-service.js';
import { defaultFdReserve } from './fd-budget.js';
import { ServiceRunningError } from './service-errors.js';
import { ServiceLock } from './service-lock.js';
import { probeSocket } from './socket-file.js';
import type { ServiceConfig } from './service-config.js';
import type { ServiceNotifier } from './systemd-notify.js';

export interface RunServiceOptions {
  /** Aborting it shuts the service down (the CLI aborts it on SIGTERM and SIGINT). */
  readonly signal?: AbortSignal;
  readonly logger?: PoolLogger;
  /** Called once the socket (and the metrics port, if any) are listening. */
  readonly onListening?: (info: { socket: string; pid: number; metricsUrl: string | null }) => void;
  /**
   * Told when the service is ready and when it begins to stop (`warmpool serve` passes systemd's, when it runs
   * under a Type=notify unit). Its failures are logged; they never stop the service.
   */
  readonly notifier?: ServiceNotifier;
  /**
   * Reloading (`warmpool serve` reloads on SIGHUP): `listen` is given the function to call on each request and
   * returns its unsubscribe; `load` reads the config again. A config that does not load is logged, and the
   * service goes on with the one it has.
   */
  readonly reload?: {
    readonly load: () => LabConfig;
    readonly listen: (reload: () => void) => () => void;
  };
}

/** The backend settings today's flat flags give (`warmpool doctor` checks them). */
export function backendSettingsOf(config: ServiceConfig): BackendSettings {
  return resolveBackendSettings({
    backend: config.backend,
    poolId: config.poolId,
    ...(config.dockerSocket === undefined ? {} : { dockerSocket: config.dockerSocket }),
    ...(config.dockerImage === undefined ? {} : { dockerImage: config.dockerImage }),
    ...(config.lxcPath === undefined ? {} : { lxcPath: config.lxcPath }),
    ...(config.lxcBase === undefined ? {} : { lxcBase: config.lxcBase }),
    ...(config.readinessCommand === undefined ? {} : { readinessCommand: config.readinessCommand }),
    ...(config.readinessTimeoutMs === undefined ? {} : { readinessTimeoutMs: config.readinessTimeoutMs }),
  });
}

/**
 * `warmpool serve` from start to exit: take the socket's lock (refuse if another service holds it), reap what a
 * crashed predecessor of each kind's pool id left on the engine, start the kinds' pools, serve until shut down
 * (signal or `shutdown` request), reloading the config when asked, then clean up. Resolves with the shutdown report.
 * @throws ServiceRunningError, BackendError (an engine cannot be reached), InvalidOptionError.
 */
export async function runService(config: LabConfig, options: RunServiceOptions = {}): Promise<ShutdownReport> {
  const { host } = config;
  const logger = options.logger ?? createLogger({ name: 'warmpool-serve', level: host.logLevel });
  // Taken before reaping, so that of two services started together exactly one goes on, and the other does
  // nothing at all. A service of a version without the lock may still answer on the socket: that refuses too.
  const lock = await ServiceLock.acquire(host.socket);
  let service: PoolService<RunnableContainer>;
  let kinds: HostPools<RunnableContainer>;
  const [firstKind] = config.kinds.values();
  const backend: BackendName = firstKind?.backend ?? 'docker';
  try {
    if ((await probeSocket(host.socket)) === 'live') throw new ServiceRunningError(host.socket);
    for (const kind of config.kinds.values()) await reapPredecessor(backendSettingsOfKind(kind, host), logger);
    kinds = new HostPools<RunnableContainer>(kindSpecsOf(config), { maxCreations: host.maxCreations, maxContainers: host.maxContainers, logger });
    service = new PoolService<RunnableContainer>({
      kinds,
      backend,
      kindBackends: kindBackendsOf(config),
      poolId: host.poolId,
      socketPath: host.socket,
      dockerSocket: host.dockerSocket,
      logger,
      lock,
      limits: {
        maxConnections: host.maxConnections,
        maxWaitingGets: host.maxWaitingGets,
        maxUnreadBytes: host.maxUnreadBytes,
        lineTimeoutMs: host.lineTimeoutMs,
        maxLineBytes: host.maxLineBytes,
      },
      fdReserve: defaultFdReserve(host.maxCreations),
      shutdownTimeoutMs: host.shutdownTimeoutMs,
    });
  } catch (error) {
    // Until a service owns the lock, it is ours to drop.
    lock.release();
    throw error;
  }
  // Subscribed before any creation can finish (they all take at least a tick), so the counters miss nothing.
  const metrics: ServiceMetrics | undefined = host.metricsPort === undefined ? undefined : createServiceMetrics(service, { pool: host.poolId, backend });
  let metricsServer: MetricsServer | undefined;
  try {
    await service.listen();
    if (metrics && host.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(metrics.registry, host.metricsPort);
      service.metricsUrl = metricsServer.url;
      logger.info(`metrics on ${metricsServer.url}`);
    }
  } catch (error) {
    await service.shutdown();
    metrics?.dispose();
    throw error;
  }

  const { notifier } = options;
  const tell = (what: string, send: () => Promise<void>): void => {
    send().catch((error: unknown) => logger.warn(`could not tell the service manager ${what}: ${errorMessage(error)}`));
  };
  const onAbort = (): void => {
    if (notifier) tell('that the service is stopping', () => notifier.stopping());
    void service.shutdown();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const stopReloading = options.reload?.listen(() => void reload(options.reload?.load, config, kinds, service, logger).then((next) => (config = next)));
  options.onListening?.({ socket: host.socket, pid: process.pid, metricsUrl: service.metricsUrl });
  // Ready means: the socket listens (and the metrics port), and the pools have started: their monitors run and
  // began their first creations, after the engine answered the reaping. Not "the pools are full": on a slow or
  // failing engine that can take minutes, and the unit must not hang in "activating" meanwhile; clients are
  // served as containers arrive, and `warmpool status` shows how full each kind is.
  if (notifier && !service.isShuttingDown) {
    const summary = [...config.kinds.values()].map((kind) => `${kind.name} (${kind.backend}, ${kind.min}-${kind.max})`).join(', ');
    tell('that the service is ready', () => notifier.ready(`serving ${host.poolId}: ${summary} on ${host.socket}`));
  }
  try {
    return await service.closed;
  } finally {
    stopReloading?.();
    options.signal?.removeEventListener('abort', onAbort);
    metrics?.dispose();
    await metricsServer?.close();
  }
}

function kindSpecsOf(config: LabConfig): Map<string, ReturnType<typeof kindSpecOf>> {
  return new Map([...config.kinds].map(([name, kind]) => [name, kindSpecOf(kind, config.host)]));
}

function kindBackendsOf(config: LabConfig): Map<string, BackendName> {
  return new Map([...config.kinds].map(([name, kind]) => [name, kind.backend]));
}

/**
 * Applies a config read again: new kinds start (after reaping their pool ids), removed kinds drain, changed kinds
 * roll over, resized kinds are resized; containers handed out are kept. Resolves with the config now in force.
 */
async function reload(
  load: (() => LabConfig) | undefined,
  current: LabConfig,
  kinds: HostPools<RunnableContainer>,
  service: PoolService<RunnableContainer>,
  logger: PoolLogger,
): Promise<LabConfig> {
  if (load === undefined || service.isShuttingDown) return current;
  let next: LabConfig;
  try {
    next = load();
  } catch (error) {
    logger.error(`reload: the config could not be loaded, nothing changed: ${errorMessage(error)}`);
    return current;
  }
  // The host's settings (socket, pool id, caps, limits, engines) are the service's own: they change with a restart.
  const { hostChanged } = diffLabConfigs(current, next);
  if (hostChanged.length > 0) logger.warn(`reload: host ${hostChanged.join(', ')} changed; that takes a restart, the running values stay`);
  const applied: LabConfig = { host: current.host, kinds: next.kinds };
  try {
    for (const kind of applied.kinds.values()) {
      if (!current.kinds.has(kind.name)) await reapPredecessor(backendSettingsOfKind(kind, applied.host), logger);
    }
    const report = await kinds.reconfigure(kindSpecsOf(applied));
    service.setKindBackends(kindBackendsOf(applied));
    logger.info(
      `reload: added ${report.added.join(', ') || 'none'}; removed ${report.removed.join(', ') || 'none'}; ` +
        `rolled over ${report.rolledOver.join(', ') || 'none'}; resized ${report.resized.join(', ') || 'none'}`,
    );
    return applied;
  } catch (error) {
    logger.error(`reload failed: ${errorMessage(error)}`);
    return current;
  }
}

/** Removes what a crashed service of this pool id left on the engine (its creator process is gone). */
async function reapPredecessor(settings: BackendSettings, logger: PoolLogger): Promise<void> {
  const reaped = await reapBackendOrphans(settings).catch((error: unknown) => {
    if (error instanceof BackendError) throw error;
    throw new BackendError(`Looking for orphans of pool ${settings.poolId} failed: ${errorMessage(error)}`, { cause: error });
  });
  if (reaped.removed.length > 0) {
    logger.warn(`reaped ${reaped.removed.length} container(s) a previous service of pool ${settings.poolId} left behind: ${reaped.removed.join(', ')}`);
  }
  if (reaped.kept.length > 0) logger.info(`pool ${settings.poolId} has ${reaped.kept.length} container(s) of live processes; left alone`);
}
