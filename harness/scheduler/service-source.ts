import type { RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError } from '../../lib/errors.js';
import { PoolClient } from '../client/pool-client.js';
import type { CheckoutOptions, ContainerSource } from './container-source.js';

/** What the scheduler needs of the pool service's client (`harness/client/pool-client.ts`). */
export interface ServiceClient {
  get(options?: { timeoutMs?: number; signal?: AbortSignal; kind?: string }): Promise<RunnableContainer | null>;
  status(): Promise<ServiceSourceStatus>;
  close(): Promise<void>;
}

/** What the scheduler reads of the service's status: its totals, and its kinds (a service from before kinds has none). */
export interface ServiceSourceStatus {
  readonly ready: number;
  readonly capacity: number;
  readonly kinds?: readonly { readonly name: string }[];
}

export interface ConnectServiceOptions {
  readonly socketPath: string;
  /** The Docker engine the service's containers are on, for a Docker-backed service. */
  readonly dockerSocket?: string;
  readonly signal?: AbortSignal;
}

/** How often the ready count shown in the progress bar is asked of the service. */
const statusRefreshMs = 1_000;

/**
 * Containers checked out of a running `warmpool serve`, of the kind each checkout names (the service's default
 * when none). Destroying one hands it back to the service, which removes it. The ready count is the service's
 * last answer, refreshed in the background.
 */
export class ServiceSource implements ContainerSource {
  readonly #client: ServiceClient;
  readonly capacity: number;
  /** The service's kinds as its status gave them at start; absent from a service that does not report kinds. */
  readonly kinds?: readonly string[];
  #ready: number;
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;
  #closing: Promise<void> | undefined;

  private constructor(client: ServiceClient, status: ServiceSourceStatus) {
    this.#client = client;
    this.capacity = status.capacity;
    this.#ready = status.ready;
    const kinds = kindNames(status);
    if (kinds !== undefined) this.kinds = kinds;
    this.#timer = setInterval(() => void this.#refresh(), statusRefreshMs);
    this.#timer.unref();
  }

  /** Wraps a connected client; asks the service for its status once, so a dead socket fails here. */
  static async open(client: ServiceClient): Promise<ServiceSource> {
    return new ServiceSource(client, await client.status());
  }

  ready(): number {
    return this.#ready;
  }

  /** An unknown kind is refused by the service (ServiceRequestError, ERR_WARMPOOL_UNKNOWN_KIND, naming the kinds). */
  async checkout({ timeoutMs, signal, kind }: CheckoutOptions): Promise<RunnableContainer> {
    signal?.throwIfAborted();
    const container = await this.#client.get({ timeoutMs, ...(signal ? { signal } : {}), ...(kind === undefined ? {} : { kind }) });
    if (container === null) {
      throw new CheckoutTimeoutError(`The pool service had no container${kind === undefined ? '' : ` of kind ${kind}`} ready within ${timeoutMs} ms`);
    }
    return container;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      this.#timer = undefined;
      await this.#client.close();
    })();
    return this.#closing;
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#closing !== undefined) return;
    this.#refreshing = true;
    try {
      this.#ready = (await this.#client.status()).ready;
    } catch {
      // A missed refresh only leaves the display a second behind; a real outage shows in the checkouts.
    } finally {
      this.#refreshing = false;
    }
  }
}

/** The kinds a status names, in its order; undefined when it names none (a service from before kinds). */
function kindNames(status: ServiceSourceStatus): string[] | undefined {
  const kinds: readonly { readonly name?: unknown }[] = Array.isArray(status.kinds) ? status.kinds : [];
  const names = kinds.map((kind) => kind.name).filter((name): name is string => typeof name === 'string' && name !== '');
  return names.length > 0 ? names : undefined;
}

/**
 * Connects to the pool service at `socketPath`. Rejects with ServiceUnavailableError when no service answers
 * there.
 */
export async function connectServiceSource(options: ConnectServiceOptions): Promise<ServiceSource> {
  const client = await PoolClient.connect(options);
  try {
    return await ServiceSource.open(client);
  } catch (error) {
    await client.close();
    throw error;
  }
}
