import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunnableContainer } from '../../lib/container.js';
import { HostPools } from '../../lib/host-pools.js';
import { parseLabConfig, type LabConfig } from '../config/lab-config.js';
import { LabWorker } from '../lab/lab-worker.js';
import { defaultCheckoutTimeoutMs } from '../scheduler/scheduler.js';
import { LabInstantFactory, type CommandListener } from './lab-instant-factory.js';

/** The one kind of the bench's hosts. */
export const benchKind = 'bench';

export interface LabHostsOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  /** Hosts (`warmpool worker`s) to start, each with its own connections. */
  readonly count: number;
  /** Jobs each host takes at once: its kind's max, and so its BullMQ concurrency. */
  readonly concurrency: number;
  /** Each host's job logs go under `<outDir>/<host id>/`. */
  readonly outDir: string;
  /** Told of every command each host's containers run. */
  readonly listener: (hostId: string) => CommandListener;
  /** Each host's events (job-started, job-ended), as `warmpool worker` prints them. */
  readonly emit: (event: Record<string, unknown>) => void;
  /** Each host's lines for the operator. */
  readonly say: (line: string) => void;
}

/**
 * The host config every bench host runs: one kind of `concurrency` containers kept ready (min = max, never
 * shrinking), room for as many again held by running jobs, so the kind's concurrency is `concurrency`, as
 * `warmpool worker` would take it from a lab.json. The kind says docker, but its pools get instant containers.
 */
export function benchLabConfig(concurrency: number): LabConfig {
  return parseLabConfig(
    {
      host: { poolId: 'bench-lab', maxContainers: 2 * concurrency },
      kinds: { [benchKind]: { backend: 'docker', min: concurrency, max: concurrency, idleTtlMs: 'Infinity', maxErrorsPerHour: 'Infinity' } },
    },
    "the lab part's host config",
  );
}

/** The pools of one bench host: its config's one kind, sized as the config says, of instant containers. */
function instantPools(config: LabConfig, listener: CommandListener): HostPools<RunnableContainer> {
  const kind = config.kinds.get(benchKind);
  if (kind === undefined) throw new Error(`the bench's host config has no kind ${benchKind}`);
  const spec = {
    factory: new LabInstantFactory(listener),
    min: kind.min,
    max: kind.max,
    idleTtlMs: kind.idleTtlMs,
    pool: { maxErrorsPerHour: kind.maxErrorsPerHour, maxWorkers: config.host.maxCreations },
  };
  return new HostPools<RunnableContainer>(new Map([[benchKind, spec]]), { maxCreations: config.host.maxCreations, maxContainers: config.host.maxContainers });
}

/**
 * Starts `count` hosts in this process, each a LabWorker as `warmpool worker` runs it (host registry, one BullMQ
 * worker per kind and one for suites, each with its own Redis connections, the job processor) with pools of
 * instant containers, and resolves once every host's pool is full. If one cannot start, those started are
 * stopped and the error thrown.
 */
export async function startLabHosts(options: LabHostsOptions): Promise<LabWorker[]> {
  const config = benchLabConfig(options.concurrency);
  const started = await Promise.allSettled(
    Array.from({ length: options.count }, (_, index) => {
      const hostId = `bench-host${index + 1}`;
      return LabWorker.start({
        config,
        redisUrl: options.redisUrl,
        prefix: options.prefix,
        hostId,
        graceMs: 5_000,
        outDir: join(options.outDir, hostId),
        checkoutTimeoutMs: defaultCheckoutTimeoutMs,
        say: options.say,
        emit: options.emit,
        pools: instantPools(config, options.listener(hostId)),
      });
    }),
  );
  const hosts = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await stopLabHosts(hosts);
    throw failed.reason;
  }
  // Instant containers fill a pool within a few turns of the event loop; a bound, in case a pool never fills.
  for (let waited = 0; hosts.some((host) => host.ready < options.concurrency); waited += 5) {
    if (waited > 10_000) {
      const ready = hosts.map((host) => host.ready).join(', ');
      await stopLabHosts(hosts);
      throw new Error(`the bench hosts' pools did not fill within 10 s (${ready} ready)`);
    }
    await sleep(5);
  }
  return hosts;
}

/** Stops every host as SIGTERM stops `warmpool worker` (instant containers always go). */
export async function stopLabHosts(hosts: readonly LabWorker[]): Promise<void> {
  await Promise.all(hosts.map((host) => host.shutdown()));
}
