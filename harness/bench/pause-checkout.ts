import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Container, type ContainerFactory } from '../../lib/index.js';
import { PauseTrackingFactory } from './pause-tracking-factory.js';
import { whenFull } from './when-full.js';

export interface PauseCheckoutSamples {
  /** `get()` from a full pool whose ready containers are paused: the resume is in it. */
  readonly pausedMs: readonly number[];
  /** `get()` from a full pool of running ready containers. */
  readonly unpausedMs: readonly number[];
}

/** After the pool is full and its pauses are done, before the sample: the engine's own bookkeeping settles. */
export const quietBeforeSampleMs = 50;

interface Side<C extends Container> {
  readonly pool: Pool<C>;
  readonly tracking: PauseTrackingFactory<C>;
  readonly samples: number[];
}

/**
 * `get()` latency from a full pool of `size` with `pauseIdle` and from one without, `samples` each (after one
 * unmeasured get per pool), the two pools sampled in turn, the order swapped every round, so drift in the
 * machine weighs on both alike. Before each sample the pool is full again and every pause has settled; after it
 * the container is destroyed, untimed. Both pools are cleaned up before this returns.
 */
export async function measurePauseCheckout<C extends Container>(
  factory: ContainerFactory<C>,
  { size, workers, samples, signal }: { size: number; workers: number; samples: number; signal: AbortSignal },
): Promise<PauseCheckoutSamples> {
  const sides: Side<C>[] = [false, true].map((pauseIdle) => {
    const tracking = new PauseTrackingFactory(factory);
    return { pool: new Pool(tracking, { size, maxWorkers: workers, pauseIdle }), tracking, samples: [] };
  });
  const [unpaused, paused] = sides as [Side<C>, Side<C>];
  try {
    for (let round = 0; round <= samples; round++) {
      for (const side of round % 2 === 0 ? [unpaused, paused] : [paused, unpaused]) {
        const elapsedMs = await sampleOnce(side, side === paused, signal);
        // Round 0 is the warm-up: the first get() of each pool pays for compiling its code path.
        if (round > 0) side.samples.push(elapsedMs);
      }
    }
    return { pausedMs: paused.samples, unpausedMs: unpaused.samples };
  } finally {
    await Promise.all(sides.map((side) => side.pool.cleanup({ timeoutMs: 60_000 })));
  }
}

async function sampleOnce<C extends Container>({ pool, tracking }: Side<C>, pausedSide: boolean, signal: AbortSignal): Promise<number> {
  await whenFull(pool, { failOnError: true, signal });
  await tracking.whenPausesSettled();
  if (pausedSide && pool.paused !== pool.size) throw new Error(`pauseIdle paused ${pool.paused} of ${pool.size} ready containers (see the pool's warnings)`);
  await sleep(quietBeforeSampleMs, undefined, { signal });
  const start = performance.now();
  const container = await pool.get();
  const elapsedMs = performance.now() - start;
  if (container === null) throw new Error('get() found no ready container in a full pool');
  await container.destroy();
  return elapsedMs;
}
