import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunnableContainer } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import { HostPools } from '../../lib/host-pools.js';
import type { KindSpec } from '../../lib/kind.js';
import { redactText } from '../../lib/redact.js';
import { reapBackendOrphans } from '../backend.js';
import { backendSettingsOfKind, kindSpecOf } from '../config/kind-spec.js';
import type { LabConfig } from '../config/lab-config.js';
import { HostSource } from '../scheduler/host-source.js';
import type { LeftBehindContainer } from '../scheduler/job-result.js';
import { BackgroundLogWrites } from '../scheduler/log-files.js';
import { RemovalQueue } from '../scheduler/removal-queue.js';
import { HostRegistry, type HostKind } from './host-registry.js';
import { kindConcurrency } from './kind-concurrency.js';
import { kindQueueName, suitesQueueName } from './lab-keys.js';
import { LabJobProcessor, type LabJobEvent } from './lab-job-processor.js';
import { labTiming } from './lab-timing.js';
import { labRedis, probeRedis } from './redis-client.js';
import { connectionOptions } from './redis-url.js';

export interface LabWorkerOptions {
  readonly config: LabConfig;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly hostId: string;
  /** At shutdown, how long running jobs may go on before they are handed back to their queues. */
  readonly graceMs: number;
  /**
   * Where each job's artifacts, and the whole copy of any log the output cap cut, go:
   * `<outDir>/<suite id>/jobs/<job>/attempt-<n>/`. Every log travels with its result (capped) and the submitter
   * writes it.
   */
  readonly outDir: string;
  readonly checkoutTimeoutMs: number;
  /** Lines for the operator (stderr); never holding the Redis password. */
  readonly say: (line: string) => void;
  /** Events for machines (JSON lines on stdout). */
  readonly emit: (event: Record<string, unknown>) => void;
  /**
   * The host's pools when the caller makes them (the bench: in-memory containers, no engine), one kind per kind
   * of the config; taken over (cleaned up at shutdown). Nothing is then reaped on the engines at start.
   * @default the config's kinds on their engines
   */
  readonly pools?: HostPools<RunnableContainer>;
}

export interface LabWorkerReport {
  /** Jobs given back to their queues at shutdown, unfinished. */
  readonly handedBack: number;
  /** Containers the worker could not remove. */
  readonly leftBehind: readonly LeftBehindContainer[];
}

/** How long shutdown waits for container removals still being retried. */
const removalDrainMs = 60_000;

/**
 * `warmpool worker`: one host of the lab. It keeps the host's kinds warm (HostPools of its config), takes jobs
 * from one BullMQ queue per kind (so it only takes jobs it has warm containers for), as many at once as each
 * kind's pool can serve, runs each in a fresh container and registers itself with a heartbeat.
 */
export class LabWorker {
  readonly #options: LabWorkerOptions;
  readonly #source: HostSource;
  readonly #removals: RemovalQueue;
  readonly #logs: BackgroundLogWrites;
  readonly #processor: LabJobProcessor;
  readonly #registry: HostRegistry;
  readonly #redis: Redis;
  readonly #workers: Worker[] = [];
  readonly #handedBack: string[] = [];
  #stopping: Promise<LabWorkerReport> | undefined;

  private constructor(options: LabWorkerOptions, source: HostSource, redis: Redis, registry: HostRegistry) {
    this.#options = options;
    this.#source = source;
    this.#redis = redis;
    this.#registry = registry;
    this.#removals = new RemovalQueue({
      onFirstFailure: (name, error) => options.say(`removing container ${name} failed (${errorMessage(error)}); retrying in the background`),
      onRemoved: (container) => source.removed(container),
    });
    this.#logs = new BackgroundLogWrites((dir, message) => options.say(`writing the logs in ${dir} failed: ${message}`));
    this.#processor = new LabJobProcessor({
      logs: this.#logs,
      hostId: options.hostId,
      source,
      removals: this.#removals,
      outDir: options.outDir,
      checkoutTimeoutMs: options.checkoutTimeoutMs,
      onEvent: (event: LabJobEvent) => {
        if (event.event === 'job-handed-back') this.#handedBack.push(event.jobId);
        options.emit({ ...event, host: options.hostId });
      },
    });
  }

  /**
   * Checks Redis, claims the host id, reaps what a killed worker of these pool ids left, starts the pools,
   * registers the host and starts taking jobs.
   * @throws RedisUnavailableError; HostIdTakenError when a live worker has the host id
   */
  static async start(options: LabWorkerOptions): Promise<LabWorker> {
    const { config } = options;
    await probeRedis(options.redisUrl);
    const shares = kindConcurrency(config.kinds, config.host.maxContainers);
    const kinds: HostKind[] = [...config.kinds.values()].map((kind) => ({ name: kind.name, backend: kind.backend, concurrency: shares.get(kind.name) ?? 1 }));
    const redis = labRedis(options.redisUrl, `warmpool-registry-${options.hostId}`, options.say);
    let worker: LabWorker | undefined;
    const registry = new HostRegistry({
      redis,
      prefix: options.prefix,
      id: options.hostId,
      kinds,
      load: () => ({ running: worker?.running ?? 0, ready: worker?.ready ?? 0 }),
      onTrouble: options.say,
    });
    try {
      // Before reaping: a live worker with this id (and so maybe these pool ids) must not lose its containers.
      await registry.claim();
      if (options.pools === undefined) await reapKilledWorkers(config, options.say);
      const source = new HostSource(options.pools ?? hostPoolsOf(config));
      worker = new LabWorker(options, source, redis, registry);
      try {
        await registry.register();
        worker.#startWorkers(kinds);
      } catch (error) {
        await source.close();
        throw error;
      }
      return worker;
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }

  get hostId(): string {
    return this.#options.hostId;
  }

  #startWorkers(kinds: readonly HostKind[]): void {
    const { prefix, redisUrl, hostId, say } = this.#options;
    const common = {
      prefix,
      name: hostId,
      lockDuration: labTiming.lockDurationMs,
      lockRenewTime: labTiming.lockRenewTimeMs,
      stalledInterval: labTiming.stalledIntervalMs,
      maxStalledCount: labTiming.maxStalledCount,
      removeOnComplete: { age: labTiming.keepFinishedSeconds },
      removeOnFail: { age: labTiming.keepFinishedSeconds },
    };
    for (const kind of kinds) {
      const worker = new Worker(kindQueueName(kind.name), this.#processor.processorOf(kind.name), {
        ...common,
        connection: connectionOptions(redisUrl, `warmpool-worker-${hostId}-${kind.name}`),
        concurrency: kind.concurrency,
      });
      this.#watch(worker, `kind ${kind.name}`);
      this.#workers.push(worker);
    }
    // A suite (the flow's parent) becomes processable once all its jobs are done; completing it lets it expire.
    const suites = new Worker(suitesQueueName, () => Promise.resolve({ finishedAt: new Date().toISOString() }), {
      ...common,
      connection: connectionOptions(redisUrl, `warmpool-worker-${hostId}-suites`),
      concurrency: 1,
    });
    this.#watch(suites, 'suites');
    this.#workers.push(suites);
    say(`host ${hostId} takes ${kinds.map((kind) => `${kind.name} x${kind.concurrency}`).join(', ')}`);
  }

  #watch(worker: Worker, what: string): void {
    let reported = '';
    worker.on('error', (error) => {
      // Redis going away makes every connection report; one line per distinct problem.
      const message = redactText(errorMessage(error));
      if (message === reported) return;
      reported = message;
      this.#options.say(`${what}: ${message}`);
    });
    worker.on('failed', (job, error) => {
      if (job !== undefined) this.#options.say(`${what}: job ${job.id ?? '?'} failed in BullMQ: ${redactText(errorMessage(error))}`);
    });
  }

  /** Jobs running now. */
  get running(): number {
    return this.#processor.running;
  }

  /** Ready containers in the host's pools now. */
  get ready(): number {
    return this.#source.ready();
  }

  /**
   * Stops taking jobs, lets running ones finish for up to the grace period, hands the rest back to their queues,
   * removes the pools' containers and deregisters. Idempotent.
   */
  shutdown(): Promise<LabWorkerReport> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<LabWorkerReport> {
    const { say, graceMs } = this.#options;
    await this.#registry.stopping();
    const running = this.#processor.running;
    say(`stopping: taking no more jobs; ${running} running job(s) get ${graceMs} ms to finish, then go back to their queues`);
    const grace = setTimeout(() => this.#processor.handBackAll(), graceMs);
    try {
      await Promise.all(this.#workers.map((worker) => worker.close().catch((error: unknown) => say(`closing a queue worker failed: ${redactText(errorMessage(error))}`))));
    } finally {
      clearTimeout(grace);
    }
    const leftBehind = await this.#removals.drain(removalDrainMs);
    await this.#logs.drain();
    await this.#source.close();
    const notRemoved = this.#source.notRemoved.map((name) => ({ name, reason: "the pool's cleanup could not remove it" }));
    await this.#registry.stop();
    this.#redis.disconnect();
    return { handedBack: this.#handedBack.length, leftBehind: [...leftBehind, ...notRemoved] };
  }
}

/** The config's kinds as pools on their engines. */
function hostPoolsOf(config: LabConfig): HostPools<RunnableContainer> {
  const specs = new Map<string, KindSpec<RunnableContainer>>();
  for (const [name, kind] of config.kinds) specs.set(name, kindSpecOf(kind, config.host));
  return new HostPools<RunnableContainer>(specs, { maxCreations: config.host.maxCreations, maxContainers: config.host.maxContainers });
}

/** Removes the containers of the config's pool ids whose creating process is gone: a killed worker's. */
async function reapKilledWorkers(config: LabConfig, say: (line: string) => void): Promise<void> {
  for (const kind of config.kinds.values()) {
    const settings = backendSettingsOfKind(kind, config.host);
    try {
      const { removed } = await reapBackendOrphans(settings);
      if (removed.length > 0) say(`removed ${removed.length} container(s) a killed worker of pool ${settings.poolId} left: ${removed.join(', ')}`);
    } catch (error) {
      say(`could not look for containers a killed worker of pool ${settings.poolId} left: ${errorMessage(error)}`);
    }
  }
}
