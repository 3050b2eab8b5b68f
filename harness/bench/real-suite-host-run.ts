import { execa } from 'execa';
import { performance } from 'node:perf_hooks';
import type { CommandRun } from './real-suite-command.js';

export interface HostRunOptions {
  readonly command: readonly string[];
  /** The whole environment: nothing of the bench process's own leaks in (it holds PYTHON* variables, say). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The command and everything it started are killed after this long; the run reports `timedOut`. */
  readonly timeoutMs?: number;
  /** Aborting it kills the command and everything it started, and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The no-container baseline: the command as a plain process on the host. It runs in a process group of its own,
 * so a timeout or an abort kills what it started too (a test's subprocesses), as removing a container would.
 */
export async function hostRun(options: HostRunOptions): Promise<CommandRun> {
  const { signal, timeoutMs } = options;
  signal?.throwIfAborted();
  const [file, ...args] = options.command;
  if (file === undefined) throw new TypeError('hostRun needs a command');
  const started = performance.now();
  const child = execa(file, args, {
    env: { ...options.env },
    extendEnv: false,
    cwd: options.cwd,
    stdin: 'ignore',
    reject: false,
    // setsid: its own process group, which killGroup below can kill whole.
    detached: true,
    stripFinalNewline: false,
  });
  let timedOut = false;
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const timer =
    timeoutMs !== undefined && Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, timeoutMs)
      : undefined;
  signal?.addEventListener('abort', killGroup, { once: true });
  try {
    const result = await child;
    const runMs = performance.now() - started;
    signal?.throwIfAborted();
    return {
      exitCode: timedOut ? null : (result.exitCode ?? null),
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut,
      runMs,
      totalMs: runMs,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', killGroup);
  }
}
