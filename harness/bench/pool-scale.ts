/**
 * How the pool's own cost grows with its size, with an instant fake factory so only pool bookkeeping is
 * measured: fill time and get() throughput at several sizes. Not a test: it prints figures.
 *
 *   node --import tsx harness/bench/pool-scale.ts [--sizes 100,1000,10000] [--gets 100000]
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pool } from '../../lib/index.js';
import { InstantFactory } from './instant-factory.js';
import { whenFull } from './when-full.js';

export interface ScaleResult {
  readonly size: number;
  readonly fillMs: number;
  readonly gets: number;
  readonly getOpsPerSecond: number;
  readonly nsPerGet: number;
}

export async function measurePoolScale(size: number, gets: number): Promise<ScaleResult> {
  const pool = new Pool(new InstantFactory(), { size, maxWorkers: 5 });
  const fillStart = performance.now();
  await whenFull(pool);
  const fillMs = performance.now() - fillStart;
  // Each get() takes a ready container and starts one creation; waiting for the pool to be full again after
  // every `size` gets keeps every get a hit, so the figure is the cost of a checkout plus its refill.
  const getStart = performance.now();
  for (let done = 0; done < gets; ) {
    const batch = Math.min(size, gets - done);
    for (let i = 0; i < batch; i++) await pool.get();
    done += batch;
    await whenFull(pool);
  }
  const elapsedMs = performance.now() - getStart;
  await pool.cleanup();
  return { size, fillMs, gets, getOpsPerSecond: (gets / elapsedMs) * 1000, nsPerGet: (elapsedMs * 1e6) / gets };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sizes: { type: 'string', default: '100,1000,10000' }, gets: { type: 'string', default: '100000' } },
  });
  const sizes = values.sizes.split(',').map(Number);
  const gets = Number(values.gets);
  console.log('size      fill ms    get()+refill ops/s   ns per get');
  for (const size of sizes) {
    const result = await measurePoolScale(size, gets);
    console.log(
      `${String(size).padEnd(9)} ${result.fillMs.toFixed(1).padStart(8)}    ${Math.round(result.getOpsPerSecond).toLocaleString('en-US').padStart(19)}   ${result.nsPerGet.toFixed(0).padStart(10)}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
