import { performance } from 'node:perf_hooks';
import type { Container, ContainerFactory } from '../../lib/index.js';
import { summarize, type Summary } from './stats.js';

export interface OnDemandResult {
  /** create + start + ready, what a job that makes its own container waits before it can run anything. */
  readonly createMs: Summary;
  /** The removal such a job pays afterwards (or leaves to someone else). */
  readonly destroyMs: Summary;
}

/**
 * What a create-per-test library costs a job: one container at a time, made through the backend's factory and
 * destroyed after, with nothing else running, so each sample is the latency of one uncontended creation.
 */
export async function measureOnDemand<C extends Container>(
  factory: ContainerFactory<C>,
  samples: number,
  signal: AbortSignal,
): Promise<OnDemandResult> {
  const createMs: number[] = [];
  const destroyMs: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const createStart = performance.now();
    const container = await factory.createContainer({ signal });
    createMs.push(performance.now() - createStart);
    const destroyStart = performance.now();
    await container.destroy();
    destroyMs.push(performance.now() - destroyStart);
  }
  return { createMs: summarize(createMs), destroyMs: summarize(destroyMs) };
}
