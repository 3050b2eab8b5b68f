import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerFactory, LxcFactory, Pool, type ContainerFactory, type RunnableContainer } from '../../lib/index.js';
import type { BackendSettings } from '../backend.js';
import { containerPid, cpuUsageFileOfPid, readCpuUsageMs } from './pause-cgroup.js';
import { PauseTrackingFactory } from './pause-tracking-factory.js';
import { whenFull } from './when-full.js';

/** A loop that never sleeps: the worst idle container there is, one that burns a core whether used or not. */
const busyLoop = 'while :; do :; done';

/**
 * Containers whose processes burn CPU while they sit ready. Docker: the loop is the container's main process.
 * LXC: the container runs its own init, so the readiness command starts the loop in the background (detached
 * from lxc-attach's pipes, it outlives the command) and exits 0.
 */
export function busyIdleFactory(settings: BackendSettings): ContainerFactory<RunnableContainer> {
  if (settings.backend === 'docker') {
    return new DockerFactory({ docker: settings.dockerSocket, poolId: settings.poolId, image: settings.dockerImage, command: ['/bin/sh', '-c', busyLoop] });
  }
  return new LxcFactory({
    lxcpath: settings.lxcPath,
    base: settings.lxcBase,
    poolId: settings.poolId,
    readinessCommand: ['/bin/sh', '-c', `(${busyLoop}) </dev/null >/dev/null 2>&1 & exit 0`],
  });
}

export interface IdleCpuResult {
  /** CPU the ready containers used over the window, all of them, in core-seconds. */
  readonly coreSeconds: number;
  readonly windowMs: number;
  /** Ready containers that were paused when the window opened. */
  readonly pausedAtStart: number;
}

/**
 * The CPU `count` ready containers of `busyIdleFactory` burn over `windowMs` while they sit in a full pool, with
 * `pauseIdle` or without: the sum of their cgroups' usage counters across the window, opened once the pool is
 * full and every pause has settled. The pool is cleaned up before this returns.
 */
export async function measureIdleCpu(
  settings: BackendSettings,
  { count, windowMs, pauseIdle, signal }: { count: number; windowMs: number; pauseIdle: boolean; signal: AbortSignal },
): Promise<IdleCpuResult> {
  const tracking = new PauseTrackingFactory(busyIdleFactory(settings));
  const pool = new Pool(tracking, { size: count, maxWorkers: count, pauseIdle });
  try {
    await whenFull(pool, { failOnError: true, signal });
    await tracking.whenPausesSettled();
    if (tracking.created.length !== count) throw new Error(`Expected the pool to have made ${count} containers, it made ${tracking.created.length}`);
    const files = await Promise.all(tracking.created.map(async (container) => cpuUsageFileOfPid(await containerPid(settings, container))));
    const pausedAtStart = pool.paused;
    const readAll = async (): Promise<number> => (await Promise.all(files.map((file) => readCpuUsageMs(file)))).reduce((sum, ms) => sum + ms, 0);
    const before = await readAll();
    const start = performance.now();
    await sleep(windowMs, undefined, { signal });
    const after = await readAll();
    const elapsedMs = performance.now() - start;
    if (pool.size !== count) throw new Error(`The pool lost ready containers during the window (${pool.size} of ${count} left)`);
    return { coreSeconds: (after - before) / 1000, windowMs: elapsedMs, pausedAtStart };
  } finally {
    await pool.cleanup({ timeoutMs: 60_000 });
  }
}
