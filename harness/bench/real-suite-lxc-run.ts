import { performance } from 'node:perf_hooks';
import type { LxcFactory } from '../../lib/backends/lxc/index.js';
import type { CommandRun } from './real-suite-command.js';

export interface LxcRunOptions {
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The command is killed after this long and the run reports `timedOut`. @default no limit */
  readonly timeoutMs?: number;
  /** Aborting it kills the command, destroys the clone, and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The container-per-job baseline on LXC, what a suite runner without a pool does: a new clone of the base
 * (`lxc-copy` overlayfs snapshot, `lxc-start`, `lxc-wait`: the factory's creation), the command through
 * `lxc-attach`, then `lxc-destroy`. LXC has no `docker run`: a container's init is not the command, so the
 * command is attached as the pool's jobs are. The clone is destroyed whatever happens; its name carries the
 * factory's pool id, so a reap finds it if not.
 */
export async function lxcRunOnce(factory: LxcFactory, options: LxcRunOptions): Promise<CommandRun> {
  const signal = options.signal ?? new AbortController().signal;
  const began = performance.now();
  // Removes its half-made clone itself when it fails or the signal aborts.
  const container = await factory.createContainer({ signal });
  let ran: Omit<CommandRun, 'totalMs'>;
  try {
    const started = performance.now();
    const result = await container.exec(options.command, {
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      signal,
    });
    ran = {
      exitCode: result.timedOut ? null : result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      timedOut: result.timedOut,
      runMs: performance.now() - started,
    };
  } finally {
    await container.destroy();
  }
  return { ...ran, totalMs: performance.now() - began };
}
