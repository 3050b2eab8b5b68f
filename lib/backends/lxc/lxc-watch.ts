import { backoffDelayMs, watchReconnectBackoff } from '../../backoff.js';
import { systemClock, type Clock } from '../../clock.js';
import type { WatchHandlers } from '../../container.js';
import { BackendError, errorMessage } from '../../errors.js';
import { isLxcNameOfPool, escapeExtendedRegex, lxcPoolNamePattern } from './lxc-names.js';
import { LxcMonitorParser } from './lxc-monitor-parser.js';
import { encodeMonitorStateMessage, monitorFifoPath, monitorProbeName, sendMonitorProbe } from './lxc-monitor-probe.js';
import { spawnLxcMonitor, type SpawnMonitor } from './lxc-monitor-process.js';

export interface LxcWatchOptions {
  readonly lxcpath: string;
  readonly poolId: string;
  readonly handlers: WatchHandlers;
  readonly signal: AbortSignal;
  /** For the reconnect backoff and the probe timers. @default the system clock */
  readonly clock?: Clock;
  /** The backoff's jitter source. @default Math.random */
  readonly random?: () => number;
  /** @default spawns the real lxc-monitor */
  readonly spawnMonitor?: SpawnMonitor;
  /** Sends the watch's probe (see lxc-monitor-probe.ts). @default writes it into lxc-monitord's FIFO */
  readonly sendProbe?: (probeName: string) => Promise<void>;
  /** An lxc-monitor whose probe has not come back by then is killed and started again. @default 10_000 */
  readonly subscribeTimeoutMs?: number;
}

/** The first probes go out quickly (it comes back after 10-15 ms here), then less often. */
const firstProbeIntervalMs = 10;
const maxProbeIntervalMs = 500;

/**
 * Watches the pool's containers through `lxc-monitor -P <lxcpath> -n '(<pool's names>|<probe>)'` until `signal`
 * aborts. Only this pool's names match, so other pools' containers never reach the parser.
 *
 * Each run of lxc-monitor: lines are parsed as they come (deaths go to `handlers.died` at once, even before the
 * probe is back); probes are written until one comes back, and then `handlers.connected()` is called: from
 * that moment on no state change is missed, so the pool's reconcile after `connected()` sees everything the
 * watch will not. When lxc-monitor exits (it crashed, was killed, its lxc-monitord died) or its probe does not
 * come back within `subscribeTimeoutMs`, `handlers.disconnected(error)` is called, also for a run that never
 * got connected (so an lxc-monitor that cannot start is not silent), and a new one starts after the shared
 * jittered backoff (`watchReconnectBackoff`: 125-250 ms, doubling, at most 30 s). The backoff starts over after
 * a run that stayed connected at least as long as the longest delay; a monitor that fails right after
 * connecting keeps backing off.
 *
 * Never throws and never rejects. A handler that throws does not stop the watch: its exception becomes a process
 * warning. On abort the lxc-monitor is killed and nothing is restarted; its lxc-monitord, which LXC shares
 * between all monitors of the lxcpath, exits by itself 30 s after its last client.
 */
export function watchLxcMonitor(options: LxcWatchOptions): void {
  if (options.signal.aborted) return;
  void runWatch(options).catch((error: unknown) => {
    // runWatch catches everything it expects; this is a bug, surfaced without an unhandled rejection.
    process.emitWarning(`The LXC watch of pool ${options.poolId} stopped: ${errorMessage(error)}`);
  });
}

async function runWatch(options: LxcWatchOptions): Promise<void> {
  const { signal, handlers, clock = systemClock, random = Math.random } = options;
  let attempt = 0;
  while (!signal.aborted) {
    const outcome = await runMonitor(options);
    if (signal.aborted) return;
    callHandler(options, 'disconnected', () => handlers.disconnected(outcome.error));
    if (outcome.connectedMs !== undefined && outcome.connectedMs >= watchReconnectBackoff.maxMs) attempt = 0;
    await sleep(backoffDelayMs(watchReconnectBackoff, attempt++, random), signal, clock);
  }
}

interface MonitorOutcome {
  /** Why this run ended. */
  readonly error: Error;
  /** How long it was connected, if it was. */
  readonly connectedMs: number | undefined;
}

/** One run of lxc-monitor, from spawn to exit. Never rejects. */
async function runMonitor(options: LxcWatchOptions): Promise<MonitorOutcome> {
  const { lxcpath, poolId, handlers, signal, clock = systemClock, subscribeTimeoutMs = 10_000 } = options;
  const probeName = monitorProbeName(poolId);
  const spawnMonitor = options.spawnMonitor ?? spawnLxcMonitor;

  // Killing this run (abort, or a probe that never came back) kills its lxc-monitor.
  const run = new AbortController();
  const forwardAbort = (): void => run.abort(signal.reason);
  signal.addEventListener('abort', forwardAbort, { once: true });
  let connectedAt: number | undefined;
  let timeoutError: Error | undefined;
  try {
    const sendProbe = options.sendProbe ?? (await defaultProbeSender(lxcpath));
    run.signal.throwIfAborted();
    const pattern = `(${lxcPoolNamePattern(poolId)}|${escapeExtendedRegex(probeName)})`;
    const parser = new LxcMonitorParser({ isWatched: (name) => isLxcNameOfPool(name, poolId), probeName });
    const monitor = spawnMonitor(['-P', lxcpath, '-n', pattern], run.signal);
    monitor.onLine((line) => {
      const event = parser.parse(line);
      if (event === undefined) return;
      if (event.kind === 'died') {
        callHandler(options, 'died', () => handlers.died(event.death));
      } else if (connectedAt === undefined && !run.signal.aborted) {
        connectedAt = clock.now();
        callHandler(options, 'connected', () => handlers.connected());
      }
    });
    let exited = false;
    const exit = monitor.exited.finally(() => {
      exited = true;
    });
    const started = clock.now();
    let lastProbeError: unknown;
    let interval = firstProbeIntervalMs;
    while (connectedAt === undefined && !exited && !run.signal.aborted) {
      if (clock.now() - started >= subscribeTimeoutMs) {
        timeoutError = new BackendError(
          `lxc-monitor for ${lxcpath} did not pass on its probe within ${String(subscribeTimeoutMs)} ms` +
            `${lastProbeError === undefined ? '' : ` (last probe: ${errorMessage(lastProbeError)})`}`,
          { cause: lastProbeError },
        );
        run.abort(timeoutError);
        break;
      }
      try {
        await sendProbe(probeName);
      } catch (error) {
        // No lxc-monitord yet (this lxc-monitor starts it), or the FIFO is not there: try again shortly.
        lastProbeError = error;
      }
      await Promise.race([sleep(interval, run.signal, clock), exit]);
      interval = Math.min(interval * 2, maxProbeIntervalMs);
    }
    const error = await exit;
    const connectedMs = connectedAt === undefined ? undefined : clock.now() - connectedAt;
    return { error: timeoutError ?? error, connectedMs };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)), connectedMs: undefined };
  } finally {
    signal.removeEventListener('abort', forwardAbort);
    run.abort();
  }
}

async function defaultProbeSender(lxcpath: string): Promise<(probeName: string) => Promise<void>> {
  const fifo = await monitorFifoPath(lxcpath);
  return (probeName) => sendMonitorProbe(fifo, encodeMonitorStateMessage(probeName));
}

function callHandler(options: LxcWatchOptions, name: keyof WatchHandlers, call: () => void): void {
  try {
    call();
  } catch (error) {
    process.emitWarning(`The ${name}() handler of the LXC watch of pool ${options.poolId} threw: ${errorMessage(error)}`);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
