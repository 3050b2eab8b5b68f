import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, Pool } from '../../lib/index.js';
import { percentile } from './stats.js';

export interface IdleCostResult {
  readonly durationMs: number;
  readonly userMs: number;
  readonly systemMs: number;
  readonly totalMs: number;
  readonly percentOfOneCore: number;
  /**
   * CPU per one-second slice of the window, median: the steady state, without one-off bursts such as V8's
   * memory reducer running a full GC a few seconds after the process went quiet.
   */
  readonly medianSliceMs: number;
  /** The busiest one-second slice. */
  readonly maxSliceMs: number;
}

/** Waited before the window opens, so the garbage collection of the work just done is not counted as idling. */
export const idleSettleMs = 1_000;
const sliceMs = 1_000;

interface CpuReading {
  readonly userMs: number;
  readonly systemMs: number;
}

/**
 * CPU time this process uses while it holds a full pool with nothing to do: `process.cpuUsage()` across a
 * `durationMs` sleep, in one-second slices, after `idleSettleMs`. It counts everything in the process (GC, open
 * engine connections), which is the point. `creationsDuring` is 0 for a pool that really had nothing to do.
 */
export async function measureIdleCost<C extends Container>(
  pool: Pool<C>,
  durationMs: number,
  signal: AbortSignal,
): Promise<IdleCostResult & { creationsDuring: number }> {
  await sleep(idleSettleMs, undefined, { signal });
  let creationsDuring = 0;
  const stop = pool.on('creation', () => creationsDuring++);
  try {
    const result = await sampleCpu(() => {
      const { user, system } = process.cpuUsage();
      return Promise.resolve({ userMs: user / 1000, systemMs: system / 1000 });
    }, durationMs, signal);
    return { ...result, creationsDuring };
  } finally {
    stop();
  }
}

/**
 * The same for another process (the pool service), read from `/proc/<pid>/stat`. Linux only; clock ticks are
 * taken as 100 Hz, the kernel's USER_HZ on every architecture Node runs on, so readings are in 10 ms steps.
 */
export async function measureProcessIdleCost(pid: number, durationMs: number, signal: AbortSignal): Promise<IdleCostResult> {
  await sleep(idleSettleMs, undefined, { signal });
  return sampleCpu(() => processCpuMs(pid), durationMs, signal);
}

async function sampleCpu(read: () => Promise<CpuReading>, durationMs: number, signal: AbortSignal): Promise<IdleCostResult> {
  const first = await read();
  const start = performance.now();
  const slices: number[] = [];
  let previous = first;
  for (let remainingMs = durationMs; remainingMs > 0; remainingMs -= sliceMs) {
    await sleep(Math.min(sliceMs, remainingMs), undefined, { signal });
    const current = await read();
    slices.push(current.userMs + current.systemMs - previous.userMs - previous.systemMs);
    previous = current;
  }
  const elapsedMs = performance.now() - start;
  const userMs = previous.userMs - first.userMs;
  const systemMs = previous.systemMs - first.systemMs;
  const totalMs = userMs + systemMs;
  return {
    durationMs: elapsedMs,
    userMs,
    systemMs,
    totalMs,
    percentOfOneCore: (totalMs / elapsedMs) * 100,
    medianSliceMs: percentile(slices, 50),
    maxSliceMs: Math.max(...slices),
  };
}

const userHz = 100;

async function processCpuMs(pid: number): Promise<CpuReading> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (field: number): number => Number(fields[field - 3]);
  return { userMs: (ticks(14) / userHz) * 1000, systemMs: (ticks(15) / userHz) * 1000 };
}
