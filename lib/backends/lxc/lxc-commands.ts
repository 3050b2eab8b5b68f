import { execa } from 'execa';
import { BackendError } from '../../errors.js';

/**
 * The LXC tools run through here (lxc-attach has its own runner, `lxc-attach.ts`). Each gets its arguments as
 * an array; nothing goes through a shell.
 */
export type LxcCommand =
  | 'lxc-copy'
  | 'lxc-start'
  | 'lxc-wait'
  | 'lxc-destroy'
  | 'lxc-info'
  | 'lxc-ls'
  | 'lxc-freeze'
  | 'lxc-unfreeze';

export interface LxcCommandOptions {
  /** Terminates the command (SIGTERM) when aborted; the rejection is then the BackendError of the killed run. */
  readonly signal?: AbortSignal | undefined;
}

// LXC prints its errors in English only when the locale says so; the messages are matched in a few places.
const commandEnv = { LC_ALL: 'C' };

/** Runs an LXC tool and resolves with its stdout; a failure becomes a BackendError naming command, code, stderr. */
export async function runLxcCommand(
  command: LxcCommand,
  args: readonly string[],
  options: LxcCommandOptions = {},
): Promise<string> {
  try {
    const result = await execa(command, args, {
      cancelSignal: options.signal,
      env: commandEnv,
      stdin: 'ignore',
    });
    return result.stdout;
  } catch (error) {
    throw lxcCommandError(command, args, error);
  }
}

export interface TryLxcCommandOptions {
  /** Kills the command (SIGTERM) when aborted; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Kills the command (SIGTERM) after this long; the call then rejects with a BackendError. */
  readonly timeoutMs?: number | undefined;
}

/**
 * Runs an LXC tool without throwing on a non-zero exit, for callers that read the exit code themselves. Rejects
 * (BackendError) when the tool could not be run or did not exit by itself (killed, timed out).
 */
export async function tryLxcCommand(
  command: LxcCommand,
  args: readonly string[],
  options: TryLxcCommandOptions = {},
): Promise<{ readonly exitCode: number; readonly stdout: string; readonly stderr: string }> {
  const { signal, timeoutMs } = options;
  const result = await execa(command, args, {
    env: commandEnv,
    stdin: 'ignore',
    reject: false,
    ...(signal === undefined ? {} : { cancelSignal: signal }),
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  });
  if (signal?.aborted === true) throw signal.reason;
  if (result.exitCode === undefined) throw lxcCommandError(command, args, result);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** What went wrong in one run: an ExecaError, a failed `reject: false` result, or a plain non-zero outcome. */
export interface LxcCommandOutcome {
  readonly exitCode?: number | undefined;
  readonly stderr?: unknown;
  readonly isCanceled?: boolean;
  readonly timedOut?: boolean;
  readonly signal?: string | undefined;
  readonly originalMessage?: string | undefined;
}

export function lxcCommandError(command: string, args: readonly string[], failure: unknown): BackendError {
  const commandLine = [command, ...args].join(' ');
  if (typeof failure !== 'object' || failure === null) {
    return new BackendError(`${commandLine} failed: ${String(failure)}`, { cause: failure });
  }
  const { exitCode, stderr, isCanceled, timedOut, signal, originalMessage } = failure as LxcCommandOutcome;
  const output = outputText(stderr).trim();
  let outcome: string;
  if (exitCode !== undefined) outcome = `exited with code ${String(exitCode)}`;
  else if (isCanceled === true) outcome = 'was cancelled';
  else if (timedOut === true) outcome = 'timed out';
  else if (signal !== undefined) outcome = `was killed by ${signal}`;
  else outcome = `could not be run (${originalMessage ?? 'unknown error'})`;
  return new BackendError(`${commandLine} ${outcome}${output === '' ? '' : `: ${output}`}`, { cause: failure });
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output instanceof Uint8Array) return Buffer.from(output).toString('utf8');
  return '';
}
