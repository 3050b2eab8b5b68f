import { errorMessage } from '../../lib/errors.js';
import type { CheckOutcome, CheckResult, DoctorCheck, DoctorContext } from './check.js';

export interface RunChecksOptions {
  /** The deadline of a check that names none: one engine call or a few file reads. */
  readonly defaultTimeoutMs: number;
  /**
   * After its deadline a check gets this long to undo what it made (a half-started container) before the doctor
   * gives up on it: a check that leaves something behind must not be cut off while it removes it.
   */
  readonly cleanupGraceMs: number;
  /** Aborting it (Ctrl-C) ends the check running now like its deadline, and skips the rest. */
  readonly signal?: AbortSignal;
  /** Told each result as it comes, so a terminal sees progress during a slow container check. */
  readonly onResult?: (result: CheckResult) => void;
}

/**
 * Runs `checks` one after another (their output stays in order and no check loads the engine while another
 * measures it). A check never throws here: a rejection, or no answer by its deadline, is a `fail` with the
 * reason, since a check that cannot look has found something wrong. A check whose `needs` did not pass is skipped.
 */
export async function runChecks(checks: readonly DoctorCheck[], context: DoctorContext, options: RunChecksOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const byId = new Map<string, CheckResult>();
  for (const check of checks) {
    const result: CheckResult = { id: check.id, ...(await outcomeOf(check, context, byId, options)) };
    results.push(result);
    byId.set(check.id, result);
    options.onResult?.(result);
  }
  return results;
}

async function outcomeOf(
  check: DoctorCheck,
  context: DoctorContext,
  done: ReadonlyMap<string, CheckResult>,
  options: RunChecksOptions,
): Promise<CheckOutcome> {
  if (options.signal?.aborted) return { status: 'skip', message: 'not checked: the doctor was interrupted' };
  const unmet = (check.needs ?? []).filter((id) => {
    const status = done.get(id)?.status;
    return status !== 'pass' && status !== 'warn';
  });
  if (unmet.length > 0) return { status: 'skip', message: `not checked: needs the ${unmet.join(' and ')} check${unmet.length > 1 ? 's' : ''} to pass` };

  const timeoutMs = check.timeoutMs?.(context) ?? options.defaultTimeoutMs;
  // Our own timers, not AbortSignal.timeout(): those do not keep the process alive, so a check waiting on
  // nothing else would end the process instead of reaching its deadline. Both are cleared below.
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;
  const timedOut = (): CheckOutcome =>
    options.signal?.aborted
      ? { status: 'fail', message: 'interrupted before it finished' }
      : { status: 'fail', message: `no answer within ${timeoutMs} ms`, fix: 'the engine or the kernel is stuck or very slow: see its own logs (journalctl -u docker, /var/log/lxc)' };

  const running = check.run(context, signal).then(
    (outcome) => (signal.aborted ? timedOut() : outcome),
    (error: unknown) => (signal.aborted ? timedOut() : { status: 'fail' as const, message: `could not check: ${errorMessage(error)}`, fix: 'see the message; run again with a working engine' }),
  );
  // A check that ignores its signal is left behind after the grace period; its outcome no longer matters.
  let graceTimer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<CheckOutcome>((resolve) => {
    onAbort = (): void => {
      graceTimer = setTimeout(() => resolve(timedOut()), options.cleanupGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([running, abandoned]);
  } finally {
    clearTimeout(deadlineTimer);
    clearTimeout(graceTimer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
