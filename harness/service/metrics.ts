import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Container } from '../../lib/container.js';
import type { KindStatus } from '../../lib/kind.js';
import type { Pool } from '../../lib/pool.js';
import type { PoolService } from './pool-service.js';

export interface ServiceMetrics {
  readonly registry: Registry;
  /** Stops listening to the pool and the service. */
  dispose(): void;
}

/** Seconds; creations take about 0.2 s on Docker and 0.02 s on LXC here, much longer with readiness checks. */
const creationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const waitBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Prometheus metrics of one service, in a registry of its own (never prom-client's global one, so two
 * services or a test in one process do not collide). Gauges are read at scrape time; counters and histograms
 * are fed by the pools' and the service's events. Every pool figure has a `kind` label (a service of one pool
 * has the one kind `default`); a kind removed by a reload drops out of the gauges at the next scrape.
 */
export function createServiceMetrics<C extends Container>(service: PoolService<C>, labels: { pool: string; backend: string }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'warmpool_process_' });
  const kinds = service.kinds;

  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  /** A gauge with a value per kind, read from the kinds' status (or from their pools) at scrape time. */
  const kindGauge = (name: string, help: string, read: (kind: KindStatus, pools: Pool<C>[]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        const pools = kinds.pools();
        for (const kind of kinds.status()) {
          this.set({ kind: kind.name }, read(kind, pools.filter((entry) => entry.kind === kind.name).map((entry) => entry.pool)));
        }
      },
    });
  };
  kindGauge('warmpool_ready_containers', 'Ready containers of the kind', (kind) => kind.ready);
  kindGauge('warmpool_capacity', 'Containers the kind keeps ready now (its target, between min and max)', (kind) => kind.target);
  kindGauge('warmpool_kind_min', 'The kind\'s min', (kind) => kind.min);
  kindGauge('warmpool_kind_max', 'The kind\'s max', (kind) => kind.max);
  kindGauge('warmpool_creation_workers', 'Container creations in flight', (kind) => kind.creating);
  kindGauge('warmpool_paused_containers', 'Ready containers paused while idle', (kind) => kind.paused);
  kindGauge('warmpool_oldest_ready_age_seconds', 'Age of the kind\'s oldest ready container', (kind) => kind.oldestAgeMs / 1000);
  gauge('warmpool_waiting_checkouts', 'get requests waiting for a container, across all connections', () => service.status().waiting);
  kindGauge('warmpool_throttled', '1 while creation is paused after too many failures in an hour', (_kind, pools) => (pools.some((pool) => pool.isThrottled) ? 1 : 0));
  gauge('warmpool_held_containers', 'Containers handed out and not yet released', () => service.status().held);
  gauge('warmpool_connections', 'Open client connections', () => service.status().connections);
  gauge('warmpool_max_connections', 'Client connections the service takes at once (lowered by the open-file limit)', () => service.status().maxConnections);
  gauge('warmpool_pending_removals', 'Containers the service or its pool must still remove (failed removals are retried)', () => service.status().pendingRemovals);
  kindGauge('warmpool_engine_available', '1 while the kind\'s pools can reach their engine, 0 during an outage (creation paused)', (_kind, pools) =>
    pools.some((pool) => pool.engineState === 'unavailable') ? 0 : 1,
  );
  kindGauge('warmpool_set_aside_containers', 'Ready containers held back during an engine outage', (_kind, pools) => pools.reduce((sum, pool) => sum + pool.setAside, 0));

  const creations = new Counter({ name: 'warmpool_creations_total', help: 'Container creations, by kind and result', labelNames: ['kind', 'result'], registers: [registry] });
  const errors = new Counter({ name: 'warmpool_errors_total', help: 'Errors queued: failed or timed-out creations, failed destroys', registers: [registry] });
  const destroyed = new Counter({
    name: 'warmpool_destroyed_total',
    help: 'Removal attempts of containers, by kind, reason and result (a removal that failed is retried until it succeeds)',
    labelNames: ['kind', 'reason', 'result'],
    registers: [registry],
  });
  const checkouts = new Counter({ name: 'warmpool_checkouts_total', help: 'get requests ended, by kind and outcome', labelNames: ['kind', 'outcome'], registers: [registry] });
  const creationSeconds = new Histogram({
    name: 'warmpool_creation_duration_seconds',
    help: 'Time from the start of a creation to its result, by kind and result',
    labelNames: ['kind', 'result'],
    buckets: creationBuckets,
    registers: [registry],
  });
  const waitSeconds = new Histogram({
    name: 'warmpool_checkout_wait_seconds',
    help: 'Time a get waited, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: waitBuckets,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'warmpool_refusals_total',
    help: 'Connections and requests refused by a limit, by the code they were answered with',
    labelNames: ['code'],
    registers: [registry],
  });
  const acceptErrors = new Counter({
    name: 'warmpool_accept_errors_total',
    help: 'Connections the listening socket failed to accept, by errno code (EMFILE, ENFILE, ...)',
    labelNames: ['code'],
    registers: [registry],
  });
  const deaths = new Counter({
    name: 'warmpool_container_deaths_total',
    help: 'Ready containers found dead (and replaced), by kind, reason and whether the OOM killer ended them',
    labelNames: ['kind', 'reason', 'oom'],
    registers: [registry],
  });
  const outages = new Counter({ name: 'warmpool_engine_outages_total', help: 'Times a kind\'s engine became unreachable', labelNames: ['kind'], registers: [registry] });
  for (const kind of kinds.kinds) for (const result of ['created', 'failed', 'timeout']) creations.inc({ kind, result }, 0);

  const unsubscribe = [
    kinds.on('creation', ({ outcome, durationMs }, kind) => {
      creations.inc({ kind, result: outcome });
      creationSeconds.observe({ kind, result: outcome }, durationMs / 1000);
      if (outcome !== 'created') errors.inc();
    }),
    kinds.on('checkout', ({ outcome, waitMs }, kind) => {
      checkouts.inc({ kind, outcome });
      waitSeconds.observe({ kind, outcome }, waitMs / 1000);
    }),
    kinds.on('destroy', ({ reason, ok }, kind) => {
      destroyed.inc({ kind, reason, result: ok ? 'ok' : 'failed' });
      if (!ok) errors.inc();
    }),
    service.on('destroy', ({ container, reason, ok, attempt }) => {
      destroyed.inc({ kind: service.kindOf(container) ?? '', reason, result: ok ? 'ok' : 'failed' });
      // Every failed attempt is in destroyed_total; only the first of each container is a queued error.
      if (!ok && attempt === 0) errors.inc();
    }),
    kinds.on('death', ({ reason, oomKilled }, kind) => deaths.inc({ kind, reason, oom: oomKilled ? 'yes' : 'no' })),
    kinds.on('engine', ({ state }, kind) => {
      if (state === 'unavailable') outages.inc({ kind });
    }),
    service.on('refusal', ({ code }) => refusals.inc({ code })),
    service.on('acceptError', ({ code }) => acceptErrors.inc({ code })),
  ];
  return {
    registry,
    dispose: () => {
      for (const stop of unsubscribe) stop();
    },
  };
}

export interface MetricsServer {
  /** `http://127.0.0.1:<port>/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on 127.0.0.1 only: the numbers are harmless, but a lab's service has no business
 * listening on other interfaces. Port 0 picks a free port (see `url`).
 */
export async function startMetricsServer(registry: Registry, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: try GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
