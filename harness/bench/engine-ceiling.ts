import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import type { Container, ContainerFactory } from '../../lib/index.js';
import { perSecond } from './stats.js';

export interface EngineCeilingResult {
  readonly count: number;
  readonly createWallMs: number;
  readonly createPerSecond: number;
  /** Each creation, from its call to its ready container, in the order they ended. */
  readonly createMs: readonly number[];
  readonly destroyWallMs: number;
  readonly destroyPerSecond: number;
}

export interface EngineCeilingOptions {
  readonly count: number;
  /** Creations in flight at once: the pool's worker count, so the pool's refill can be compared with it. */
  readonly workers: number;
  readonly signal: AbortSignal;
}

/**
 * How fast the backend alone makes ready containers: `count` creations through the factory, `workers` at a
 * time, no pool. Then destroys them all, as many at a time, and times that too. Whatever happens, everything
 * created is destroyed before this returns or throws.
 */
export async function measureEngineCeiling<C extends Container>(
  factory: ContainerFactory<C>,
  { count, workers, signal }: EngineCeilingOptions,
): Promise<EngineCeilingResult> {
  const created: C[] = [];
  const createMs: number[] = [];
  try {
    const creations = new PQueue({ concurrency: workers });
    const createStart = performance.now();
    // allSettled, not addAll: when one creation fails the others are still running, and what they make must be
    // in `created` before the finally block removes it.
    const results = await Promise.allSettled(
      Array.from({ length: count }, () =>
        creations.add(async () => {
          const start = performance.now();
          created.push(await factory.createContainer({ signal }));
          createMs.push(performance.now() - start);
        }),
      ),
    );
    const createWallMs = performance.now() - createStart;
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;

    const destroyStart = performance.now();
    await destroyAll(created.splice(0), workers);
    const destroyWallMs = performance.now() - destroyStart;
    return {
      count,
      createWallMs,
      createPerSecond: perSecond(count, createWallMs),
      createMs,
      destroyWallMs,
      destroyPerSecond: perSecond(count, destroyWallMs),
    };
  } finally {
    await destroyAll(created, workers).catch(() => undefined);
  }
}

/** Destroys every container, `concurrency` at a time; rejects with the first failure after trying them all. */
export async function destroyAll(containers: readonly Container[], concurrency: number): Promise<void> {
  const removals = new PQueue({ concurrency });
  const results = await Promise.allSettled(containers.map((container) => removals.add(() => container.destroy())));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}
