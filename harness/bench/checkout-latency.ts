import { performance } from 'node:perf_hooks';
import type { Container, Pool } from '../../lib/index.js';
import { summarize, type Summary } from './stats.js';
import { whenFull } from './when-full.js';

export interface CheckoutResult {
  /** The first get(), before the samples: it pays for compiling the code path once. */
  readonly firstMs: number;
  /** `get()` alone, each from a full pool. */
  readonly getMs: Summary;
  /** From destroying the checked-out container to the pool being full again: the refill between samples. */
  readonly refillMs: Summary;
}

/**
 * In-process checkout latency: one first `get()` reported apart, then `samples` more. Each waits for the pool to
 * be full, times one `get()`, then destroys the
 * container it got (outside the timing) and waits for the pool to refill before the next sample, so every
 * sample is a checkout from a full, quiet pool.
 */
export async function measureInProcessCheckout<C extends Container>(
  pool: Pool<C>,
  samples: number,
  signal: AbortSignal,
): Promise<CheckoutResult> {
  const getMs: number[] = [];
  const refillMs: number[] = [];
  let firstMs = Number.NaN;
  await whenFull(pool, { failOnError: true, signal });
  for (let sample = 0; sample <= samples; sample++) {
    const start = performance.now();
    const container = await pool.get();
    const elapsedMs = performance.now() - start;
    if (sample === 0) firstMs = elapsedMs;
    else getMs.push(elapsedMs);
    if (container === null) throw new Error('get() found no ready container in a full pool');
    const refillStart = performance.now();
    await container.destroy();
    await whenFull(pool, { failOnError: true, signal });
    refillMs.push(performance.now() - refillStart);
  }
  return { firstMs, getMs: summarize(getMs), refillMs: summarize(refillMs) };
}
