import type { ExecResult, RunnableContainer } from '../../lib/container.js';
import type { JobSpec } from './suite.js';

export interface ExecDeadlineOptions {
  /** Aborting it stops waiting at once: the result is `cancelled`. */
  readonly signal?: AbortSignal;
  /** How long after the job's timeout the backend may take to return before we stop waiting. @default 5_000 */
  readonly killGraceMs?: number;
}

export type Ran =
  /**
   * `final`: it ran through the container's `execFinal`, after which the container stops by design; a death
   * under the command then comes back as an `error` holding ContainerDiedError, not as an exit code.
   */
  | { readonly kind: 'exited'; readonly exec: ExecResult; readonly final: boolean }
  /** The command outlived its timeout by the grace period: we stopped waiting; destroying the container kills it. */
  | { readonly kind: 'hung'; readonly exec: ExecResult }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Runs the job's command with its timeout, and does not trust the backend to return: past the timeout plus a
 * grace period, or on an interrupt, it stops waiting at once (the caller destroys the container).
 */
export async function execWithDeadline(container: RunnableContainer, job: JobSpec, options: ExecDeadlineOptions): Promise<Ran> {
  const { signal } = options;
  const hardStop = new AbortController();
  const stop = signal === undefined ? hardStop.signal : AbortSignal.any([signal, hardStop.signal]);
  // The job's command is the last thing its container runs, so a backend's faster final path fits (Docker: no
  // engine exec, the command starts in milliseconds even while the pool refills).
  const final = container.execFinal !== undefined;
  const execOptions = { timeoutMs: job.timeoutMs, env: job.env, signal: stop };
  const exec = container.execFinal ? container.execFinal(job.command, execOptions) : container.exec(job.command, execOptions);
  // The race below may leave `exec` behind; its late rejection must not go unhandled.
  exec.catch(() => undefined);
  // A plain timer and listener, cleared below: a timers/promises sleep cancelled through a signal builds an
  // AbortError with its stack for every job, a cost that shows at a thousand jobs a second.
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    deadlineTimer = setTimeout(() => resolve('deadline'), job.timeoutMs + (options.killGraceMs ?? 5_000));
  });
  let onStop: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    onStop = () => resolve('stopped');
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  });
  try {
    const first = await Promise.race([exec.then((result) => ({ result }), (error: unknown) => ({ error })), deadline, stopped]);
    if (first === 'deadline') {
      hardStop.abort(new Error('the command outlived its timeout'));
      return { kind: 'hung', exec: { exitCode: -1, stdout: '', stderr: `warmpool: the command did not stop within ${job.timeoutMs} ms; its container was destroyed\n`, timedOut: true } };
    }
    // Only the caller's signal can have fired `stop` before the deadline did.
    if (first === 'stopped') return { kind: 'cancelled' };
    if ('error' in first) return signal?.aborted ? { kind: 'cancelled' } : { kind: 'error', error: first.error };
    if (signal?.aborted) return { kind: 'cancelled' };
    return { kind: 'exited', exec: first.result, final };
  } finally {
    clearTimeout(deadlineTimer);
    if (onStop !== undefined) stop.removeEventListener('abort', onStop);
  }
}
