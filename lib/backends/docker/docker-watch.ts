import type Dockerode from 'dockerode';
import type { Readable } from 'node:stream';
import { backoffDelayMs, watchReconnectBackoff } from '../../backoff.js';
import type { BackoffPolicy } from '../../backoff.js';
import type { Clock } from '../../clock.js';
import type { ContainerDeath, WatchHandlers } from '../../container.js';
import { errorMessage } from '../../errors.js';
import { DockerDeathEvents, JsonLines, deathEventActions } from './docker-events.js';
import { poolLabel } from './docker-labels.js';

export interface DockerWatchOptions {
  /** `getEvents`; and `getContainer`, when present, to confirm an unexplained exit 137 (see `#confirmOom`). */
  readonly docker: Pick<Dockerode, 'getEvents'> & Partial<Pick<Dockerode, 'getContainer'>>;
  readonly poolId: string;
  readonly clock: Clock;
  /** @default watchReconnectBackoff (lib/backoff.ts): 125-250 ms at first, doubling up to 30 s */
  readonly backoff?: BackoffPolicy;
  /** For the jitter; tests pass their own. @default Math.random */
  readonly random?: () => number;
}

/**
 * An engine that takes the request and never answers (hung, or starting up) is as good as down; without this
 * bound one such connect would stall the watch for good.
 */
export const watchConnectTimeoutMs = 10_000;
/** A connection that stayed up this long starts the backoff again from its first step when it breaks. */
export const watchStableAfterMs = 30_000;

/**
 * Watches the engine's event stream for deaths of one pool's containers until `signal` aborts, and reconnects
 * with jittered, capped exponential backoff whenever the stream breaks or cannot be opened. The engine filters
 * the stream to the pool's label and to `die`, `oom` and `destroy` (a `kill` the container survives is no death;
 * `stop` always follows a `die`), so a busy engine's other traffic never reaches us. `handlers.connected()` runs
 * once the engine has answered the request (events from then on are seen; the pool reconciles for the gap);
 * `handlers.disconnected(error)` once per loss of the stream, not once per failed reconnect. Never throws; an
 * exception from a handler becomes a process warning and the watch goes on.
 */
export function watchDockerDeaths(options: DockerWatchOptions, handlers: WatchHandlers, signal: AbortSignal): void {
  new DockerDeathWatch(options, handlers, signal).start();
}

class DockerDeathWatch {
  readonly #options: DockerWatchOptions;
  readonly #handlers: WatchHandlers;
  readonly #signal: AbortSignal;
  readonly #deaths: DockerDeathEvents;
  /** Failed connections since the last stable one: the backoff step. */
  #attempt = 0;
  #reconnectTimer: unknown;
  /** The connection in progress or open; aborting it cancels the request and destroys its stream. */
  #connection: AbortController | undefined;
  #stream: Readable | undefined;
  #connectedAt: number | undefined;
  /** What the handlers were told last, so that a string of failed reconnects is one `disconnected`. */
  #reported: 'connected' | 'disconnected' | undefined;

  constructor(options: DockerWatchOptions, handlers: WatchHandlers, signal: AbortSignal) {
    this.#options = options;
    this.#handlers = handlers;
    this.#signal = signal;
    this.#deaths = new DockerDeathEvents(options.poolId, options.clock);
  }

  start(): void {
    if (this.#signal.aborted) return;
    this.#signal.addEventListener('abort', () => this.#stop(), { once: true });
    void this.#connect();
  }

  async #connect(): Promise<void> {
    this.#reconnectTimer = undefined;
    const { docker, poolId, clock } = this.#options;
    const connection = new AbortController();
    this.#connection = connection;
    const connectTimer = clock.setTimeout(
      () => connection.abort(new Error(`The Docker engine did not answer the event request within ${watchConnectTimeoutMs} ms`)),
      watchConnectTimeoutMs,
    );
    let stream: Readable;
    try {
      stream = (await docker.getEvents({
        filters: { type: ['container'], event: [...deathEventActions], label: [`${poolLabel}=${poolId}`] },
        abortSignal: connection.signal,
      })) as Readable;
    } catch (error) {
      if (this.#signal.aborted) return;
      this.#lost(connection.signal.aborted ? connection.signal.reason : error);
      return;
    } finally {
      clock.clearTimeout(connectTimer);
    }
    if (this.#signal.aborted || connection.signal.aborted) {
      stream.destroy();
      if (!this.#signal.aborted) this.#lost(connection.signal.reason);
      return;
    }
    this.#open(stream);
  }

  #open(stream: Readable): void {
    this.#stream = stream;
    this.#connectedAt = this.#options.clock.now();
    const lines = new JsonLines();
    let ended = false;
    const end = (error?: unknown): void => {
      if (ended) return;
      ended = true;
      stream.destroy();
      if (this.#stream === stream) this.#stream = undefined;
      if (this.#signal.aborted) return;
      this.#lost(error ?? new Error('The Docker engine closed its event stream'));
    };
    stream.on('data', (chunk: Buffer | string) => {
      if (ended) return;
      for (const event of lines.push(chunk)) {
        const death = this.#deaths.translate(event);
        if (death === undefined) continue;
        if (death.reason === 'died' && death.exitCode === 137 && !death.oomKilled) void this.#confirmOom(death);
        else this.#call(() => this.#handlers.died(death));
      }
    });
    // An 'error' after `end` must still have a listener, or it would crash the process.
    stream.on('error', (error) => end(error));
    stream.on('end', () => end());
    stream.on('close', () => end());
    this.#report('connected');
  }

  /**
   * Exit 137 is SIGKILL, from a `docker kill` or from the OOM killer. The engine's `oom` event usually comes just
   * before the `die` and marks it, but the two come from different sources and a loaded engine may send the `die`
   * first; one inspect (about a millisecond, only for a SIGKILL without an `oom`) asks the engine's own verdict.
   * If the inspect fails, the death is reported as it came: a late or missing OOM flag, never a lost death.
   */
  async #confirmOom(death: ContainerDeath): Promise<void> {
    let oomKilled = false;
    try {
      const info = await this.#options.docker.getContainer?.(death.id).inspect();
      oomKilled = info?.State.OOMKilled === true;
    } catch {
      // Reported without the flag, below.
    }
    if (this.#signal.aborted) return;
    this.#call(() => this.#handlers.died({ ...death, oomKilled }));
  }

  /** The stream broke or could not be opened: tell the handlers (once), then try again after a backoff. */
  #lost(error: unknown): void {
    const { clock } = this.#options;
    if (this.#connectedAt !== undefined && clock.now() - this.#connectedAt >= watchStableAfterMs) this.#attempt = 0;
    this.#connectedAt = undefined;
    this.#connection = undefined;
    this.#report('disconnected', error);
    if (this.#signal.aborted) return;
    const delayMs = backoffDelayMs(this.#options.backoff ?? watchReconnectBackoff, this.#attempt++, this.#options.random);
    this.#reconnectTimer = clock.setTimeout(() => void this.#connect(), delayMs);
  }

  #report(state: 'connected' | 'disconnected', error?: unknown): void {
    if (this.#reported === state) return;
    this.#reported = state;
    if (state === 'connected') this.#call(() => this.#handlers.connected());
    else this.#call(() => this.#handlers.disconnected(error));
  }

  #call(handler: () => void): void {
    if (this.#signal.aborted) return;
    try {
      handler();
    } catch (error) {
      process.emitWarning(`A Docker watch handler threw: ${errorMessage(error)}`, { type: 'WarmpoolWatchWarning' });
    }
  }

  #stop(): void {
    if (this.#reconnectTimer !== undefined) this.#options.clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#connection?.abort(this.#signal.reason);
    this.#connection = undefined;
    this.#stream?.destroy();
    this.#stream = undefined;
  }
}
