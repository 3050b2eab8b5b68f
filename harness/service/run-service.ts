import { BackendError, errorMessage } from '../../lib/errors.js';
import { createLogger, type PoolLogger } from '../../lib/logger.js';
import { Pool } from '../../lib/pool.js';
import type { RunnableContainer } from '../../lib/container.js';
import { createBackendFactory, reapBackendOrphans, resolveBackendSettings, type BackendSettings } from '../backend.js';
import { createServiceMetrics, startMetricsServer, type MetricsServer, type ServiceMetrics } from './metrics.js';
import { PoolService, type ShutdownReport } from './pool-service.js';
import type { ServiceConfig } from './service-config.js';
import { defaultFdReserve } from './fd-budget.js';
import { ServiceRunningError } from './service-errors.js';
import { ServiceLock } from './service-lock.js';
import { probeSocket } from './socket-file.js';
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
}

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
 * crashed predecessor of this pool id left on the engine, fill the pool, serve until shut down (signal or
 * `shutdown` request), then clean up. Resolves with the shutdown report.
 * @throws ServiceRunningError, BackendError (the engine cannot be reached), InvalidOptionError.
 */
export async function runService(config: ServiceConfig, options: RunServiceOptions = {}): Promise<ShutdownReport> {
  const logger = options.logger ?? createLogger({ name: 'warmpool-serve', level: config.logLevel });
  const settings = backendSettingsOf(config);
  // Taken before reaping, so that of two services started together exactly one goes on, and the other does
  // nothing at all. A service of a version without the lock may still answer on the socket: that refuses too.
  const lock = await ServiceLock.acquire(config.socket);
  let service: PoolService<RunnableContainer>;
  let pool: Pool<RunnableContainer>;
  try {
    if ((await probeSocket(config.socket)) === 'live') throw new ServiceRunningError(config.socket);
    await reapPredecessor(settings, logger);
    pool = new Pool<RunnableContainer>(createBackendFactory(settings), {
      size: config.size,
      maxWorkers: config.workers,
      creationTimeoutMs: config.creationTimeoutMs,
      maxErrorsPerHour: config.maxErrorsPerHour,
      logger,
    });
    service = new PoolService<RunnableContainer>({
      pool,
      backend: config.backend,
      poolId: config.poolId,
      socketPath: config.socket,
      ...(config.backend === 'docker' ? { dockerSocket: settings.dockerSocket } : {}),
      logger,
      lock,
      limits: {
        maxConnections: config.maxConnections,
        maxWaitingGets: config.maxWaitingGets,
        maxUnreadBytes: config.maxUnreadBytes,
        lineTimeoutMs: config.lineTimeoutMs,
        maxLineBytes: config.maxLineBytes,
      },
      fdReserve: defaultFdReserve(config.workers),
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    });
  } catch (error) {
    // Until a service owns the lock, it is ours to drop.
    lock.release();
    throw error;
  }
  // Subscribed before any creation can finish (they all take at least a tick), so the counters miss nothing.
  const metrics: ServiceMetrics | undefined =
    config.metricsPort === undefined ? undefined : createServiceMetrics(pool, service, { pool: config.poolId, backend: config.backend });
  let metricsServer: MetricsServer | undefined;
  try {
    await service.listen();
    if (metrics && config.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(metrics.registry, config.metricsPort);
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
  options.onListening?.({ socket: config.socket, pid: process.pid, metricsUrl: service.metricsUrl });
  // Ready means: the socket listens (and the metrics port), and the pool has started: its monitor runs and began
  // its first creations in the Pool constructor, after the engine answered the reaping. Not "the pool is full": on
  // a slow or failing engine that can take minutes, and the unit must not hang in "activating" meanwhile;
  // clients are served as containers arrive, and `warmpool status` shows how full the pool is.
  if (notifier && !service.isShuttingDown) {
    tell('that the service is ready', () => notifier.ready(`serving pool ${config.poolId} (${config.backend}, size ${config.size}) on ${config.socket}`));
  }
  try {
    return await service.closed;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    metrics?.dispose();
    await metricsServer?.close();
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
