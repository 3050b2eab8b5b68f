import type { RunnableContainer } from '../../lib/container.js';
import { CheckoutTimeoutError } from '../../lib/errors.js';
import { PoolClient } from '../client/pool-client.js';
import type { CheckoutOptions, ContainerSource } from './container-source.js';

/** What the scheduler needs of the pool service's client (`harness/client/pool-client.ts`). */
export interface ServiceClient {
  get(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<RunnableContainer | null>;
  status(): Promise<{ readonly ready: number; readonly capacity: number }>;
  close(): Promise<void>;
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
 * Containers checked out of a running `warmpool serve`. Destroying one hands it back to the service, which
 * removes it. The ready count is the service's last answer, refreshed in the background.
 */
export class ServiceSource implements ContainerSource {
  readonly #client: ServiceClient;
  readonly capacity: number;
  #ready: number;
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;
  #closing: Promise<void> | undefined;

  private constructor(client: ServiceClient, status: { ready: number; capacity: number }) {
    this.#client = client;
    this.capacity = status.capacity;
    this.#ready = status.ready;
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

  async checkout({ timeoutMs, signal }: CheckoutOptions): Promise<RunnableContainer> {
    signal?.throwIfAborted();
    const container = await this.#client.get({ timeoutMs, ...(signal ? { signal } : {}) });
    if (container === null) throw new CheckoutTimeoutError(`The pool service had no container ready within ${timeoutMs} ms`);
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
