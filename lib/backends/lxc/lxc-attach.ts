import { timedOutExitCode } from '../../container.js';
import { execa } from 'execa';
import { BackendError } from '../../errors.js';
import { lxcCommandError } from './lxc-commands.js';

export interface AttachRequest {
  readonly lxcpath: string;
  readonly name: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /** Written to the command's stdin; without it stdin is /dev/null. */
  readonly input?: string | Uint8Array | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface AttachResult {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly timedOut: boolean;
}

// Node fires longer timers at once; a timeout that long means "no limit" in practice.
const maxTimerDelayMs = 2_147_483_647;

// `cd` in a shell, then exec: the argv itself still reaches the command as separate words, never parsed.
const cdThenExec = 'cd "$1" && shift && exec "$@"';

export function lxcAttachArgs(request: AttachRequest): string[] {
  const args = ['-P', request.lxcpath, '-n', request.name, '--clear-env'];
  for (const [key, value] of Object.entries(request.env)) args.push('-v', `${key}=${value}`);
  args.push('--');
  if (request.cwd !== undefined) args.push('/bin/sh', '-c', cdThenExec, 'sh', request.cwd);
  args.push(...request.argv);
  return args;
}

/**
 * Runs a command in the container through lxc-attach.
 *
 * Killing lxc-attach alone would leave the command running inside the container, so lxc-attach runs as the
 * leader of its own process group (`detached`), which the attached command and its children inherit even
 * though they live in the container's pid namespace; a timeout or an abort kills that whole group. A command
 * that starts its own session inside the container escapes this, and if it keeps stdout open the call waits
 * for it.
 */
export async function runAttached(request: AttachRequest): Promise<AttachResult> {
  const { signal, timeoutMs } = request;
  signal?.throwIfAborted();
  const args = lxcAttachArgs(request);
  const subprocess = execa('lxc-attach', args, {
    detached: true,
    reject: false,
    encoding: 'buffer',
    stripFinalNewline: false,
    // Only lxc-attach sees this environment: `--clear-env` keeps the host's out of the container.
    env: { LC_ALL: 'C' },
    ...(request.input === undefined ? { stdin: 'ignore' as const } : { input: request.input }),
  });

  let timedOut = false;
  let aborted = false;
  // True if the command was still running; a command that already finished keeps its own result.
  const killGroup = (): boolean => {
    const pid = subprocess.pid;
    if (pid === undefined || subprocess.exitCode !== null || subprocess.signalCode !== null) return false;
    try {
      process.kill(-pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  };
  const onAbort = (): void => {
    aborted = killGroup();
  };
  const timer =
    timeoutMs === undefined || timeoutMs > maxTimerDelayMs
      ? undefined
      : setTimeout(() => {
          timedOut = killGroup();
        }, timeoutMs);
  signal?.addEventListener('abort', onAbort, { once: true });
  let result;
  try {
    result = await subprocess;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }

  if (aborted && signal !== undefined) throw signal.reason;
  if (result.exitCode === undefined && !timedOut) throw lxcCommandError('lxc-attach', args, result);
  const stdout = Buffer.from(result.stdout);
  const stderr = Buffer.from(result.stderr);
  if (timedOut || result.exitCode === undefined) {
    return { exitCode: timedOutExitCode, stdout, stderr, timedOut: true };
  }
  if (result.exitCode !== 0 && isAttachFailure(stderr.toString('utf8'))) {
    throw new BackendError(
      `lxc-attach to ${request.name} in ${request.lxcpath} failed (is the container running?): ${stderr.toString('utf8').trim()}`,
      { cause: result },
    );
  }
  return { exitCode: result.exitCode, stdout, stderr, timedOut: false };
}

/** lxc-attach's own failures to enter the container, as opposed to the command's non-zero exit. */
function isAttachFailure(stderr: string): boolean {
  return /^lxc-attach: .*(Failed to get init pid|Failed to get attach context)/m.test(stderr);
}
