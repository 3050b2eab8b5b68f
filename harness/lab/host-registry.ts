import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isProcessAlive } from '../../lib/backends/owner.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { errorMessage, WarmpoolError } from '../../lib/errors.js';
import { registryKeys } from './lab-keys.js';
import { labTiming } from './lab-timing.js';

/**
 * The hosts of a lab, in Redis: each worker writes a hash about itself (kinds, capacity, jobs running, ready
 * containers) and refreshes a key that expires `aliveTtlMs` after its last heartbeat. Alive means that key exists:
 * Redis's clock decides, so the hosts' clocks need not agree. A host that dies keeps its hash, so the lab shows
 * it dead with the time of its last heartbeat; a host that stops cleanly says `stopped`.
 */

/** The Redis commands the registry uses (an ioredis client, or a fake in tests). */
export interface RegistryRedis {
  hset(key: string, fields: Record<string, string>): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
  sadd(key: string, member: string): Promise<unknown>;
  smembers(key: string): Promise<string[]>;
  exists(key: string): Promise<number>;
}

/** A kind a host serves, and how many of its jobs it takes at once. */
export interface HostKind {
  readonly name: string;
  readonly backend: string;
  readonly concurrency: number;
}

export type HostState = 'running' | 'stopping' | 'stopped';

/** What the lab knows of a host. */
export interface HostView {
  readonly id: string;
  readonly hostname: string;
  readonly pid: number;
  readonly kinds: readonly HostKind[];
  /** Jobs it takes at once, all kinds together. */
  readonly capacity: number;
  /** Jobs it is running now (as of its last heartbeat). */
  readonly running: number;
  /** Ready containers in its pools (as of its last heartbeat). */
  readonly ready: number;
  readonly state: HostState;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Its heartbeat key has not expired. */
  readonly alive: boolean;
}

/** Another live worker has this host id. */
export class HostIdTakenError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_HOST_ID_TAKEN';

  constructor(
    readonly hostId: string,
    readonly holder: { readonly hostname: string; readonly pid: number },
  ) {
    super(`host id ${JSON.stringify(hostId)} is alive in the lab (pid ${holder.pid} on ${holder.hostname}); give this worker another --host-id`);
  }
}

export interface HostRegistryOptions {
  readonly redis: RegistryRedis;
  readonly prefix: string;
  readonly id: string;
  readonly kinds: readonly HostKind[];
  /** Read at each heartbeat. */
  readonly load: () => { readonly running: number; readonly ready: number };
  readonly clock?: Clock;
  /** Told when a heartbeat fails (Redis unreachable), and when one works again; never throws. */
  readonly onTrouble?: (message: string) => void;
  /** @default os.hostname() */
  readonly hostname?: string;
  /** @default process.pid */
  readonly pid?: number;
  /** Whether a pid runs on this machine (to take over the id of a killed worker of this host). */
  readonly pidAlive?: (pid: number) => boolean;
}

/** One worker's entry in the registry: `register()` at start, a heartbeat every second, `stop()` at the end. */
export class HostRegistry {
  readonly #options: HostRegistryOptions;
  readonly #clock: Clock;
  readonly #instance = randomBytes(8).toString('hex');
  readonly #startedAt: string;
  #timer: unknown;
  #state: HostState = 'running';
  #failing = false;
  #beating: Promise<void> | undefined;

  constructor(options: HostRegistryOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#startedAt = new Date(this.#clock.now()).toISOString();
  }

  /**
   * Writes the host's entry and starts the heartbeat.
   * @throws HostIdTakenError when a live worker has the id, unless it was this machine's and its process is gone
   *   (a worker killed and started again takes its id back at once)
   */
  async register(): Promise<void> {
    const { redis, prefix, id } = this.#options;
    await this.claim();
    await redis.sadd(registryKeys.hosts(prefix), id);
    await this.#beat();
    this.#schedule();
  }

  /**
   * Checks that no other live worker has the host id.
   * @throws HostIdTakenError, unless the holder was this machine's and its process is gone
   */
  async claim(): Promise<void> {
    const { redis, prefix, id } = this.#options;
    const holder = await redis.get(registryKeys.alive(prefix, id));
    if (holder !== null && holder !== this.#instance) {
      const entry = await redis.hgetall(registryKeys.host(prefix, id));
      const pid = Number(entry['pid']);
      const sameMachine = entry['hostname'] === this.#hostname;
      const pidAlive = this.#options.pidAlive ?? isProcessAlive;
      if (!sameMachine || pidAlive(pid)) throw new HostIdTakenError(id, { hostname: entry['hostname'] ?? '?', pid });
    }
  }

  /** Says the host drains: it takes no more jobs (shown by `lab status`). */
  async stopping(): Promise<void> {
    this.#state = 'stopping';
    await this.#beating;
    await this.#beat();
  }

  /** Stops the heartbeat and marks the host stopped (no longer alive). Never throws. */
  async stop(): Promise<void> {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = 'stopped';
    await this.#beating;
    const { redis, prefix, id } = this.#options;
    try {
      await redis.hset(registryKeys.host(prefix, id), { ...this.#fields(), state: 'stopped' });
      await redis.del(registryKeys.alive(prefix, id));
    } catch (error) {
      this.#options.onTrouble?.(`could not mark host ${id} stopped in Redis (${errorMessage(error)}); it shows as dead once its heartbeat expires`);
    }
  }

  get #hostname(): string {
    return this.#options.hostname ?? hostname();
  }

  #schedule(): void {
    if (this.#state === 'stopped') return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#beating = this.#beat().finally(() => {
        this.#beating = undefined;
        this.#schedule();
      });
    }, labTiming.heartbeatMs);
  }

  #fields(): Record<string, string> {
    const { id, kinds } = this.#options;
    const { running, ready } = this.#options.load();
    return {
      id,
      hostname: this.#hostname,
      pid: String(this.#options.pid ?? process.pid),
      kinds: JSON.stringify(kinds),
      capacity: String(kinds.reduce((sum, kind) => sum + kind.concurrency, 0)),
      running: String(running),
      ready: String(ready),
      state: this.#state,
      startedAt: this.#startedAt,
      heartbeatAt: new Date(this.#clock.now()).toISOString(),
    };
  }

  async #beat(): Promise<void> {
    const { redis, prefix, id } = this.#options;
    try {
      await redis.hset(registryKeys.host(prefix, id), this.#fields());
      if (this.#state !== 'stopped') await redis.set(registryKeys.alive(prefix, id), this.#instance, 'PX', labTiming.aliveTtlMs);
      if (this.#failing) this.#options.onTrouble?.(`heartbeat of host ${id} written again`);
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#options.onTrouble?.(`heartbeat of host ${id} failed (${errorMessage(error)}); retrying every ${labTiming.heartbeatMs} ms`);
      this.#failing = true;
    }
  }
}

/** Every host the lab has seen, alive or not, sorted by id. */
export async function readHosts(redis: RegistryRedis, prefix: string): Promise<HostView[]> {
  const ids = (await redis.smembers(registryKeys.hosts(prefix))).sort();
  const hosts: HostView[] = [];
  for (const id of ids) {
    const entry = await redis.hgetall(registryKeys.host(prefix, id));
    if (entry['id'] === undefined) continue;
    hosts.push(hostView(entry, (await redis.exists(registryKeys.alive(prefix, id))) === 1));
  }
  return hosts;
}

/** A registry hash as a HostView; fields a newer or broken writer left out get neutral values. */
export function hostView(entry: Readonly<Record<string, string>>, alive: boolean): HostView {
  let kinds: HostKind[] = [];
  try {
    const parsed: unknown = JSON.parse(entry['kinds'] ?? '[]');
    if (Array.isArray(parsed)) kinds = parsed.filter(isHostKind);
  } catch {
    // A broken entry shows no kinds.
  }
  const state = entry['state'];
  return {
    id: entry['id'] ?? '?',
    hostname: entry['hostname'] ?? '?',
    pid: Number(entry['pid'] ?? 0),
    kinds,
    capacity: Number(entry['capacity'] ?? 0),
    running: Number(entry['running'] ?? 0),
    ready: Number(entry['ready'] ?? 0),
    state: state === 'stopping' || state === 'stopped' ? state : 'running',
    startedAt: entry['startedAt'] ?? '',
    heartbeatAt: entry['heartbeatAt'] ?? '',
    alive: alive && state !== 'stopped',
  };
}

function isHostKind(value: unknown): value is HostKind {
  if (typeof value !== 'object' || value === null) return false;
  const kind = value as Record<string, unknown>;
  return typeof kind['name'] === 'string' && typeof kind['backend'] === 'string' && typeof kind['concurrency'] === 'number';
}
