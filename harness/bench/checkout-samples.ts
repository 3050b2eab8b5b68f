import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Pool } from '../../lib/pool.js';
import { PoolClient } from '../client/pool-client.js';
import { packageRoot } from '../engine-config.js';
import { InstantFactory } from './instant-factory.js';
import { summarize, type Summary } from './stats.js';
import { whenFull } from './when-full.js';

/**
 * Checkout latency from many samples (a p99.9 needs thousands), with instant in-memory containers so the engine's
 * creation time does not decide how many samples fit in the budget: what is measured is the pool's `get()` and
 * the service round trip, which do not depend on how the container was made.
 */
export interface CheckoutSamples {
  readonly inProcess: Summary;
  readonly overSocket: Summary;
}

/** `get()` from a full pool, `samples` times; each container is destroyed and the pool refilled between samples, untimed. */
export async function sampleInProcessCheckout(size: number, samples: number, signal: AbortSignal): Promise<Summary> {
  const pool = new Pool(new InstantFactory(), { size, maxWorkers: 5, maxErrorsPerHour: Infinity });
  const getMs: number[] = [];
  try {
    // A first round of checkouts compiles the code path; it is not measured.
    for (let sample = -warmUpSamples; sample < samples; sample++) {
      await whenFull(pool, { signal });
      const start = performance.now();
      const container = await pool.get();
      const elapsed = performance.now() - start;
      if (container === null) throw new Error('get() found no ready container in a full pool');
      if (sample >= 0) getMs.push(elapsed);
      await container.destroy();
    }
  } finally {
    await pool.cleanup({ timeoutMs: 10_000 });
  }
  return summarize(getMs);
}

const warmUpSamples = 200;

/**
 * `client.get()` over the service's unix socket, `samples` times, against a service in a child process (so the
 * client and the service do not share an event loop) whose pool holds instant containers. Each container is
 * released (untimed) before the next sample; the pool refills it at once, so every sample finds it full.
 */
export async function sampleSocketCheckout(size: number, samples: number, signal: AbortSignal): Promise<Summary> {
  const dir = await mkdtemp(join(tmpdir(), 'warmpool-bench-socket-'));
  const socketPath = join(dir, 'service.sock');
  const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot, 'harness/bench/instant-service.ts'), socketPath, String(size)], {
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let client: PoolClient | undefined;
  try {
    const lines = createInterface({ input: child.stdout });
    const [line] = (await Promise.race([once(lines, 'line'), exited.then(() => ['exited'])])) as string[];
    if (line !== 'ready') throw new Error(`the instant service did not start (${line})`);
    client = await PoolClient.connect({ socketPath, signal });
    const getMs: number[] = [];
    for (let sample = -warmUpSamples; sample < samples; sample++) {
      signal.throwIfAborted();
      const start = performance.now();
      const container = await client.get({ timeoutMs: 5_000, signal });
      const elapsed = performance.now() - start;
      if (container === null) throw new Error('the instant service had no ready container');
      if (sample >= 0) getMs.push(elapsed);
      await client.release(container);
    }
    return summarize(getMs);
  } finally {
    await client?.close();
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}
