import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../lib/errors.js';
import { packageRoot } from '../engine-config.js';
import type { BackendSettings } from '../backend.js';
import { PoolClient } from '../client/pool-client.js';
import { measureProcessIdleCost, idleSettleMs, type IdleCostResult } from './idle-cost.js';
import { summarize, type Summary } from './stats.js';

export interface ServiceCheckoutOptions {
  /** The service's backend and engine; `poolId` is the service's own, distinct from the in-process pools'. */
  readonly settings: BackendSettings;
  readonly size: number;
  readonly workers: number;
  readonly samples: number;
  /** Also measure the service process's CPU over this long while it holds a full pool; 0 to leave it out. */
  readonly idleMs: number;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

export interface ServiceCheckoutResult {
  /** The client's first get, before the samples. */
  readonly firstMs: number;
  readonly getMs: Summary;
  readonly idle?: IdleCostResult;
  readonly notes: readonly string[];
}

const startTimeoutMs = 120_000;
const fillTimeoutMs = 300_000;
/** Status polls while waiting for the service's pool to refill between samples: outside the timed part. */
const statusPollMs = 20;

/**
 * Checkout latency through the pool service: starts `warmpool serve` in a child process with its own pool id
 * and a socket in a temporary directory, and times `client.get()` from a full pool, as many times as
 * `samples`. Each container is released (the service destroys it) and the next sample waits until the service
 * reports its pool full again. The service is shut down, and its directory removed, whatever happens.
 */
export async function measureServiceCheckout(options: ServiceCheckoutOptions): Promise<ServiceCheckoutResult> {
  const { settings, signal } = options;
  const dir = await mkdtemp(join(tmpdir(), 'warmpool-bench-'));
  const socketPath = join(dir, 'service.sock');
  const service = startService(settings, options, socketPath);
  let client: PoolClient | undefined;
  try {
    client = await connectWhenUp(service, socketPath, signal);
    await waitUntilFull(client, service, signal);
    let idle: IdleCostResult | undefined;
    if (options.idleMs > 0 && service.child.pid !== undefined) {
      idle = await measureProcessIdleCost(service.child.pid, options.idleMs, signal);
    }
    const getMs: number[] = [];
    let firstMs = Number.NaN;
    // One more than `samples`: the first get of a client pays for loading and compiling the client's code and
    // opening its first engine handle, so it is reported apart.
    for (let sample = 0; sample <= options.samples; sample++) {
      await waitUntilFull(client, service, signal);
      const start = performance.now();
      const container = await client.get({ timeoutMs: 10_000, signal });
      const elapsedMs = performance.now() - start;
      if (sample === 0) firstMs = elapsedMs;
      else getMs.push(elapsedMs);
      if (container === null) throw new Error('The service had no ready container although it reported its pool full');
      await client.release(container);
    }
    return {
      firstMs,
      getMs: summarize(getMs),
      ...(idle ? { idle } : {}),
      notes: [
        `A \`warmpool serve\` child process (pool id ${settings.poolId}, size ${options.size}, ${options.workers} workers, socket in a temporary directory). A first client.get() (reported as the cold figure), then ${options.samples} samples of client.get() from a full pool: request, the service's pool.get(), the reply, and opening the container handle in the client. Each container is then released (the service destroys it) and the next sample waits until the service's status reports its pool full (status polled every ${statusPollMs} ms, outside the timing).`,
        ...(idle ? [`Service idle CPU: /proc/<pid>/stat of the service process over ${options.idleMs} ms, ${idleSettleMs} ms after its pool was full, with the bench's connection open; the kernel counts in 10 ms ticks, so 0 means under 10 ms.`] : []),
      ],
    };
  } finally {
    await stopService(service, client, options.progress);
    await rm(dir, { recursive: true, force: true });
  }
}

interface RunningService {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The last of its stderr, to say why it failed. */
  stderrTail: string;
}

function startService(settings: BackendSettings, options: ServiceCheckoutOptions, socketPath: string): RunningService {
  const engineFlags =
    settings.backend === 'docker'
      ? ['--docker-socket', settings.dockerSocket, '--docker-image', settings.dockerImage]
      : ['--lxc-path', settings.lxcPath, '--lxc-base', settings.lxcBase];
  const args = [
    '--import',
    'tsx',
    join(packageRoot, 'harness/cli/warmpool.ts'),
    'serve',
    '--backend',
    settings.backend,
    '--size',
    String(options.size),
    '--workers',
    String(options.workers),
    '--socket',
    socketPath,
    '--pool-id',
    settings.poolId,
    '--log-level',
    'warn',
    ...engineFlags,
  ];
  const child = spawn(process.execPath, args, { cwd: packageRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  const service: RunningService = {
    child,
    exited: once(child, 'exit').then(([code]) => code as number | null, () => null),
    stderrTail: '',
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    service.stderrTail = (service.stderrTail + text).slice(-2000);
  });
  return service;
}

function serviceGone(service: RunningService): Error {
  const tail = service.stderrTail.trim();
  return new Error(`The warmpool service exited with code ${service.child.exitCode}${tail === '' ? '' : `: ${tail}`}`);
}

/** Connects once the service's socket answers: the service reaps and starts its pool before it listens. */
async function connectWhenUp(service: RunningService, socketPath: string, signal: AbortSignal): Promise<PoolClient> {
  const deadline = performance.now() + startTimeoutMs;
  for (;;) {
    if (service.child.exitCode !== null) throw serviceGone(service);
    try {
      return await PoolClient.connect({ socketPath, signal });
    } catch (error) {
      if (signal.aborted) throw error;
      if (performance.now() > deadline) throw new Error(`The warmpool service did not listen within ${startTimeoutMs} ms: ${errorMessage(error)}`);
      await sleep(100, undefined, { signal });
    }
  }
}

async function waitUntilFull(client: PoolClient, service: RunningService, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + fillTimeoutMs;
  for (;;) {
    if (service.child.exitCode !== null) throw serviceGone(service);
    const status = await client.status();
    if (status.ready === status.capacity) return;
    if (status.errors > 0) {
      const errors = await client.errors();
      throw new Error(`The service's pool failed to create containers: ${errors.map((entry) => `${entry.code} ${entry.message}`).join('; ')}`);
    }
    if (performance.now() > deadline) throw new Error(`The service's pool was not full after ${fillTimeoutMs} ms (${status.ready}/${status.capacity})`);
    await sleep(statusPollMs, undefined, { signal });
  }
}

/** Asks the service to shut down (it destroys its pool), then makes sure its process is gone. */
async function stopService(service: RunningService, client: PoolClient | undefined, progress: (line: string) => void): Promise<void> {
  if (service.child.exitCode === null && client && !client.isClosed) {
    try {
      await client.shutdown();
    } catch (error) {
      progress(`service shutdown request failed: ${errorMessage(error)}`);
    }
  }
  await client?.close().catch(() => undefined);
  if (await exitedWithin(service, 15_000)) return;
  for (const signalName of ['SIGTERM', 'SIGKILL'] as const) {
    progress(`the service is still running; sending ${signalName}`);
    service.child.kill(signalName);
    if (await exitedWithin(service, 30_000)) return;
  }
}

async function exitedWithin(service: RunningService, ms: number): Promise<boolean> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return true;
  const timer = new AbortController();
  const result = await Promise.race([service.exited.then(() => true), sleep(ms, false, { signal: timer.signal }).catch(() => false)]);
  timer.abort();
  return result;
}
