import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostPools, type Container, type ContainerFactory } from '../../lib/index.js';
import { ReadyTimeline, idleContainerSeconds } from './demand-idle.js';
import type { DemandArrival } from './demand-trace.js';
import { whenFull } from './when-full.js';

/** How one strategy sizes its pool: fixed (min = max, never shrinks) or reactive (DemandSizer between min and max). */
export interface DemandStrategy {
  readonly min: number;
  readonly max: number;
  readonly idleTtlMs: number;
  /** The sizer's checkout-rate window; its default (a minute) when undefined. */
  readonly rateWindowMs?: number;
}

export interface DemandReplayOptions {
  /** The trace's length: the window the idle integral and the creations are counted over. */
  readonly durationMs: number;
  /** Creations at once (the host budget's maxCreations and the pool's maxWorkers). */
  readonly workers: number;
  readonly signal: AbortSignal;
}

export interface DemandReplay {
  /** Checkouts the pool served from its ready containers, waiting for no creation (its `checkout` event's `ready`). */
  readonly servedAtOnce: number;
  /** Each checkout's `get()`, call to container in hand, in arrival order. */
  readonly waitsMs: readonly number[];
  /** How late the harness called each `get()` after its arrival time: its own timers, not the pool. */
  readonly dispatchLagMs: readonly number[];
  /** Ready containers integrated over the trace, in container-seconds. */
  readonly idleContainerSeconds: number;
  /** Creations that delivered a container during the trace (the fill before it not counted). */
  readonly created: number;
  /** Ready containers removed unused because the kind shrank (removal reason `surplus`), during the trace or after it. */
  readonly removedSurplus: number;
  /** Creations that failed or timed out during the trace. */
  readonly failedCreations: number;
  /** The highest target the kind had during the trace, and its target when the trace ended. */
  readonly maxTarget: number;
  readonly endTarget: number;
  /** Containers cleanup could not remove. */
  readonly notRemoved: number;
}

/** How often the ready count is read besides on every pool event: a shrink no event marks is this late at most. */
const sampleIntervalMs = 100;
/** Time between the call and the first arrival: the schedule starts from a quiet event loop, not mid-setup. */
const leadMs = 20;
const kindName = 'demand';

/**
 * Replays `arrivals` against a HostPools with one kind sized by `strategy`, full (at `min`) before the first
 * arrival. Each checkout is `get(kind, { timeoutMs: Infinity })` at its arrival time whatever is still running
 * (open loop), holds its container for its `holdMs` without running anything in it, then `release()`s it, which
 * removes it. Fixed pools go through the same code as the reactive kind: a kind with min = max and an infinite
 * idle TTL never resizes. Everything made is removed before this returns.
 */
export async function replayDemand<C extends Container>(
  factory: ContainerFactory<C>,
  arrivals: readonly DemandArrival[],
  strategy: DemandStrategy,
  options: DemandReplayOptions,
): Promise<DemandReplay> {
  const { workers } = options;
  // Every checkout waits on the signal at once (its get(), then its hold): a signal of the replay's own, which
  // may have that many listeners, follows the caller's.
  const replay = new AbortController();
  setMaxListeners(arrivals.length + 10, replay.signal);
  const stopFollowing = followAbort(options.signal, replay);
  const { signal } = replay;
  const host = new HostPools<C>(
    { [kindName]: { factory, min: strategy.min, max: strategy.max, idleTtlMs: strategy.idleTtlMs, ...(strategy.rateWindowMs === undefined ? {} : { rateWindowMs: strategy.rateWindowMs }), pool: { maxWorkers: workers } } },
    { maxCreations: workers },
  );
  const pool = host.pool(kindName);
  let maxTarget = 0;
  const timeline = new ReadyTimeline(
    () => performance.now(),
    () => {
      const [status] = host.status();
      maxTarget = Math.max(maxTarget, status?.target ?? 0);
      return status?.ready ?? 0;
    },
  );
  let counting = false;
  let created = 0;
  let failedCreations = 0;
  let servedAtOnce = 0;
  let removedSurplus = 0;
  const stops = [
    pool.on('creation', (event) => {
      if (counting && event.outcome === 'created') created++;
      else if (counting) failedCreations++;
      timeline.sample();
    }),
    pool.on('checkout', (event) => {
      // The kind asks its pool with timeoutMs 0 only when it has a ready container: `ready` is served at once,
      // a checkout that waited ends `waited` when a creation delivers.
      if (counting && event.outcome === 'ready') servedAtOnce++;
      timeline.sample();
    }),
    pool.on('destroy', (event) => {
      if (event.ok && event.reason === 'surplus') removedSurplus++;
      timeline.sample();
    }),
  ];
  const running: Promise<{ waitMs: number; lagMs: number }>[] = [];
  try {
    await whenFull(pool, { failOnError: true, signal });
    const startMs = performance.now() + leadMs;
    const endMs = startMs + options.durationMs;
    await sleep(leadMs, undefined, { signal });
    counting = true;
    timeline.start(sampleIntervalMs);
    for (const arrival of arrivals) {
      const dueAt = startMs + arrival.atMs;
      const waitMs = dueAt - performance.now();
      // Arrivals already due (the loop was late, or they share a millisecond) all start now, in this turn.
      if (waitMs > 0) await sleep(waitMs, undefined, { signal });
      running.push(checkOut(host, arrival, dueAt, timeline, signal));
    }
    const untilEndMs = endMs - performance.now();
    if (untilEndMs > 0) await sleep(untilEndMs, undefined, { signal });
    counting = false;
    timeline.sample();
    timeline.stop();
    const endTarget = host.status()[0]?.target ?? 0;
    const checkouts = await Promise.all(running);
    return {
      servedAtOnce,
      waitsMs: checkouts.map((checkout) => checkout.waitMs),
      dispatchLagMs: checkouts.map((checkout) => checkout.lagMs),
      idleContainerSeconds: idleContainerSeconds(timeline.samples, startMs, endMs),
      created,
      removedSurplus,
      failedCreations,
      maxTarget,
      endTarget,
      notRemoved: (await host.cleanup({ timeoutMs: 60_000 })).notRemoved.length,
    };
  } finally {
    timeline.stop();
    for (const stop of stops) stop();
    // On an abort: the checkouts end on the same signal, each releasing what it held; then everything is removed.
    await Promise.allSettled(running);
    stopFollowing();
    if (!host.isClosed) await host.cleanup({ timeoutMs: 60_000 });
  }
}

/** Aborts `follower` when `signal` aborts (at once if it has); returns the function that stops following. */
function followAbort(signal: AbortSignal, follower: AbortController): () => void {
  const abort = (): void => follower.abort(signal.reason);
  if (signal.aborted) abort();
  signal.addEventListener('abort', abort, { once: true });
  return () => signal.removeEventListener('abort', abort);
}

async function checkOut<C extends Container>(
  host: HostPools<C>,
  arrival: DemandArrival,
  dueAt: number,
  timeline: ReadyTimeline,
  signal: AbortSignal,
): Promise<{ waitMs: number; lagMs: number }> {
  const start = performance.now();
  const container = await host.get(kindName, { timeoutMs: Infinity, signal });
  const waitMs = performance.now() - start;
  timeline.sample();
  if (container === null) throw new Error('get() with timeoutMs Infinity resolved with no container');
  try {
    await sleep(arrival.holdMs, undefined, { signal });
  } finally {
    host.release(container);
  }
  return { waitMs, lagMs: start - dueAt };
}
