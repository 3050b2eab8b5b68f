import { BackendError, errorMessage } from '../../lib/errors.js';
import { createLogger, type PoolLogger } from '../../lib/logger.js';
import { Pool } from '../../lib/pool.js';
import type { RunnableContainer } from '../../lib/container.js';
import { createBackendFactory, reapBackendOrphans, resolveBackendSettings, type BackendSettings } from '../backend.js';
import { createServiceMetrics, startMetricsServer, type MetricsServer, type ServiceMetrics } from './metrics.js';
import { PoolService, type ShutdownReport } from './pool-service.js';
import type { ServiceConfig } from './service-config.js';
import { ServiceRunningError } from './service-errors.js';
import { probeSocket } from './socket-file.js';

export interface RunServiceOptions {
  /** Aborting it shuts the service down (the CLI aborts it on SIGTERM and SIGINT). */
  readonly signal?: AbortSignal;
  readonly logger?: PoolLogger;
  /** Called once the socket (and the metrics port, if any) are listening. */
  readonly onListening?: (info: { socket: string; pid: number; metricsUrl: string | null }) => void;
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
  });
}

/**
 * `warmpool serve` from start to exit: refuse if a live service holds the socket, reap what a crashed
 * predecessor of this pool id left on the engine, fill the pool, serve until shut down (signal or `shutdown`
 * request), then clean up. Resolves with the shutdown report.
 * @throws ServiceRunningError, BackendError (the engine cannot be reached), InvalidOptionError.
 */
export async function runService(config: ServiceConfig, options: RunServiceOptions = {}): Promise<ShutdownReport> {
  const logger = options.logger ?? createLogger({ name: 'warmpool-serve', level: config.logLevel });
  const settings = backendSettingsOf(config);
  // Checked before reaping too, so a second `serve` by mistake does nothing at all.
  if ((await probeSocket(config.socket)) === 'live') throw new ServiceRunningError(config.socket);
  const reaped = await reapBackendOrphans(settings).catch((error: unknown) => {
    if (error instanceof BackendError) throw error;
    throw new BackendError(`Looking for orphans of pool ${config.poolId} failed: ${errorMessage(error)}`, { cause: error });
  });
  if (reaped.removed.length > 0) {
    logger.warn(`reaped ${reaped.removed.length} container(s) a previous service of pool ${config.poolId} left behind: ${reaped.removed.join(', ')}`);
  }
  if (reaped.kept.length > 0) logger.info(`pool ${config.poolId} has ${reaped.kept.length} container(s) of live processes; left alone`);

  const pool = new Pool<RunnableContainer>(createBackendFactory(settings), {
    size: config.size,
    maxWorkers: config.workers,
    creationTimeoutMs: config.creationTimeoutMs,
    maxErrorsPerHour: config.maxErrorsPerHour,
    logger,
  });
  const service = new PoolService<RunnableContainer>({
    pool,
    backend: config.backend,
    poolId: config.poolId,
    socketPath: config.socket,
    ...(config.backend === 'docker' ? { dockerSocket: settings.dockerSocket } : {}),
    logger,
  });
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

  const onAbort = (): void => void service.shutdown();
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  options.onListening?.({ socket: config.socket, pid: process.pid, metricsUrl: service.metricsUrl });
  try {
    return await service.closed;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    metrics?.dispose();
    await metricsServer?.close();
  }
}
