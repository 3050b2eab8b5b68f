import type { Measured, Run } from './bench-parts.js';
import { figure } from './figures.js';
import { measurePauseCheckout, quietBeforeSampleMs } from './pause-checkout.js';
import { measureIdleCpu } from './pause-idle-cpu.js';
import { summarize } from './stats.js';

/** Ready containers that burn CPU while idle, and how long their CPU is counted. */
export const idleCpuContainers = 4;
export const defaultIdleCpuWindowMs = 3_000;
const quickIdleCpuWindowMs = 1_000;
const maxCheckoutSamples = 25;

/**
 * Part 10: what `pauseIdle` costs a checkout (the resume is in `get()`) and what it saves while containers sit
 * ready: the CPU of idle containers that burn it, paused against not paused.
 */
export async function pausePart(run: Run): Promise<Measured> {
  const { options, factory, settings, context } = run;
  const { signal } = context;
  const idleCpuWindowMs = options.quick ? quickIdleCpuWindowMs : defaultIdleCpuWindowMs;
  // Each sample waits for a full, settled pool: fewer than the other parts' samples keep the bench to its budget.
  const samples = Math.min(options.samples, maxCheckoutSamples);
  context.progress(`  checkout: ${samples} get() each from a full pool of ${options.size}, paused and not, in turn`);
  const checkout = await measurePauseCheckout(factory, { size: options.size, workers: options.workers, samples, signal });
  const paused = summarize(checkout.pausedMs);
  const unpaused = summarize(checkout.unpausedMs);
  context.progress(`  idle CPU: ${idleCpuContainers} busy-looping ready containers for ${idleCpuWindowMs / 1000} s, paused`);
  const frozen = await measureIdleCpu(settings, { count: idleCpuContainers, windowMs: idleCpuWindowMs, pauseIdle: true, signal });
  context.progress(`  idle CPU: the same, not paused`);
  const running = await measureIdleCpu(settings, { count: idleCpuContainers, windowMs: idleCpuWindowMs, pauseIdle: false, signal });
  return {
    figures: [
      figure('pause.checkout.unpaused.p50Ms', 'get() from a full pool, not paused, p50', unpaused.p50, 'ms'),
      figure('pause.checkout.unpaused.p99Ms', 'get() from a full pool, not paused, p99', unpaused.p99, 'ms'),
      figure('pause.checkout.paused.p50Ms', 'get() from a full pool with pauseIdle (resume included), p50', paused.p50, 'ms'),
      figure('pause.checkout.paused.p99Ms', 'get() from a full pool with pauseIdle (resume included), p99', paused.p99, 'ms'),
      figure('pause.checkout.paused.maxMs', 'get() from a full pool with pauseIdle, max', paused.max, 'ms'),
      figure('pause.idleCpu.pausedCoreSeconds', `CPU of ${idleCpuContainers} busy idle containers over ${idleCpuWindowMs / 1000} s, paused`, frozen.coreSeconds, 'core-s'),
      figure('pause.idleCpu.unpausedCoreSeconds', `CPU of ${idleCpuContainers} busy idle containers over ${idleCpuWindowMs / 1000} s, not paused`, running.coreSeconds, 'core-s'),
      figure('pause.idleCpu.unpausedPercentOfOneCore', 'the same as a share of one core', (running.coreSeconds / (running.windowMs / 1000)) * 100, '% of one core'),
    ],
    notes: [
      `Checkout: two pools of ${options.size} through the ${options.backend} factory (${options.workers} workers), one with pauseIdle, sampled in turn (order swapped every round), ${samples} samples each after one unmeasured get() per pool. Before each sample the pool is full, every pause() it started has settled (counted through a wrapping factory) and ${quietBeforeSampleMs} ms have passed; the container got is destroyed after it, untimed. The paused figure includes the resume (${options.backend === 'docker' ? 'docker unpause' : 'lxc-unfreeze'}) get() awaits before handing the container out.`,
      `Idle CPU: a pool of ${idleCpuContainers} containers whose processes loop without sleeping (${options.backend === 'docker' ? "the container's command" : 'started in the background by the readiness command'}), full and its pauses settled, then the sum of the containers' cgroup CPU usage counters across ${idleCpuWindowMs / 1000} s; paused first (${frozen.pausedAtStart} of ${idleCpuContainers} paused), then a new pool without pauseIdle. ${idleCpuContainers} busy loops on this machine's cores share them with everything else running, so the unpaused figure is bounded by the cores, not the loops. An idle container that burns nothing (the agent, a sleeping init) costs about 0 either way: this is the worst case pauseIdle is for.`,
    ],
  };
}
