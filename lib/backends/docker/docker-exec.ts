import type Dockerode from 'dockerode';
import { Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { timedOutExitCode, type ExecOptions, type ExecResult } from '../../container.js';
import { BackendError, InvalidOptionError, errorMessage } from '../../errors.js';
import { describeArgv, waitForEnd } from '../exec-wait.js';

/**
 * Docker has no API to kill an exec'd process, so a command that may have to be stopped (it has a timeout or a
 * signal) runs under a one-line shell wrapper that first reports its pid on stderr and then execs the command,
 * keeping that pid. Docker starts every exec as its own session and process-group leader, so `kill -KILL -<pid>`
 * from a second exec stops the command and anything it spawned, which also closes the output stream. The wrapper
 * needs /bin/sh and kill in the image (busybox has both); a command without timeout or signal runs as is.
 */
const pidMarker = 'warmpool-exec-pid=';
const pidWrapper = ['/bin/sh', '-c', `echo "${pidMarker}$$" >&2; exec "$@"`, 'warmpool-exec'];
const killGroupCommand = [
  '/bin/sh',
  '-c',
  'kill -KILL "-$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null; true',
  'warmpool-kill',
];

/** How long a kill may take before we give up on the process and just drop its stream. */
const killGraceMs = 2_000;

/** docker-modem's demultiplexer of an attach or exec stream (non-TTY) into stdout and stderr, which @types/dockerode leaves out. */
export type DemuxingModem = { demuxStream(stream: Duplex, stdout: Writable, stderr: Writable): void };

export function validateExecArguments(argv: unknown, options: ExecOptions): void {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((part) => typeof part === 'string')) {
    throw new InvalidOptionError('argv', argv, 'a non-empty array of strings');
  }
  const { timeoutMs, env, cwd } = options;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    throw new InvalidOptionError('timeoutMs', timeoutMs, 'a number of milliseconds above 0 (Infinity for no limit)');
  }
  if (env !== undefined) {
    const valid =
      typeof env === 'object' &&
      env !== null &&
      Object.entries(env).every(([key, value]) => /^[^=\0]+$/.test(key) && typeof value === 'string');
    if (!valid) throw new InvalidOptionError('env', env, 'an object of string values with keys free of `=`');
  }
  if (cwd !== undefined && !(typeof cwd === 'string' && cwd.startsWith('/'))) {
    throw new InvalidOptionError('cwd', cwd, 'an absolute path');
  }
}

/**
 * Runs `argv` in a running container and collects its output. Resolves with the exit code, also a non-zero one;
 * a timeout resolves with `timedOut: true` and exit code 124; an abort rejects with `signal.reason` once the
 * process is killed; a failing engine call rejects with a BackendError.
 */
export async function runDockerExec(
  docker: Dockerode,
  containerId: string,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  validateExecArguments(argv, options);
  const { signal, timeoutMs, env, cwd } = options;
  signal?.throwIfAborted();
  const killable = signal !== undefined || (timeoutMs !== undefined && Number.isFinite(timeoutMs));

  let exec: Dockerode.Exec;
  let stream: Duplex;
  try {
    exec = await docker.getContainer(containerId).exec({
      Cmd: killable ? [...pidWrapper, ...argv] : [...argv],
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(env === undefined ? {} : { Env: Object.entries(env).map(([key, value]) => `${key}=${value}`) }),
      ...(cwd === undefined ? {} : { WorkingDir: cwd }),
    });
    // Not started yet: an abort here leaves nothing running.
    signal?.throwIfAborted();
    stream = await exec.start({ hijack: true, stdin: false });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new BackendError(`docker exec of ${describeArgv(argv)} in ${containerId} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }

  const output = new ExecOutput(killable);
  (docker.modem as DemuxingModem).demuxStream(stream, output.stdout, output.stderr);
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });

  let outcome: 'ended' | 'timedOut' | 'aborted';
  try {
    outcome = await waitForEnd(ended.then(() => 'ended' as const), timeoutMs, signal);
  } catch (error) {
    stream.destroy();
    throw new BackendError(`docker exec of ${describeArgv(argv)} in ${containerId} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }

  if (outcome !== 'ended') {
    await killExecProcess(docker, containerId, output.pid, ended);
    stream.destroy();
    if (outcome === 'aborted') throw (signal as AbortSignal).reason;
    return { exitCode: timedOutExitCode, stdout: output.stdoutText(), stderr: output.stderrText(), timedOut: true };
  }
  const exitCode = await exitCodeOf(exec, argv, containerId);
  return { exitCode, stdout: output.stdoutText(), stderr: output.stderrText(), timedOut: false };
}

async function killExecProcess(
  docker: Dockerode,
  containerId: string,
  pid: Promise<number>,
  ended: Promise<void>,
): Promise<void> {
  const cleanup = new AbortController();
  try {
    const grace = sleep(killGraceMs, undefined, { signal: cleanup.signal }).catch(() => undefined);
    const knownPid = await Promise.race([pid, grace]);
    if (knownPid === undefined) return;
    await Promise.race([runDockerExec(docker, containerId, [...killGroupCommand, String(knownPid)]), grace]);
    await Promise.race([ended, grace]);
  } catch {
    // The container may be gone already; then so is the process, and the stream is dropped by the caller.
  } finally {
    cleanup.abort();
  }
}

async function exitCodeOf(exec: Dockerode.Exec, argv: readonly string[], containerId: string): Promise<number> {
  try {
    // The stream can close a moment before the engine records the exit code.
    for (let attempt = 0; ; attempt++) {
      const info = await exec.inspect();
      if (info.ExitCode !== null && !info.Running) return info.ExitCode;
      if (attempt >= 50) throw new Error('the engine reports no exit code');
      await sleep(10);
    }
  } catch (error) {
    const message = `docker exec of ${describeArgv(argv)} in ${containerId}: no exit code: ${errorMessage(error)}`;
    throw new BackendError(message, { cause: error });
  }
}

/** Collects stdout and stderr; for a wrapped command, takes the pid line off the front of stderr. */
class ExecOutput {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly pid: Promise<number>;
  readonly #stdoutChunks: Buffer[] = [];
  readonly #stderrChunks: Buffer[] = [];
  #pending: Buffer | undefined;

  constructor(expectPidLine: boolean) {
    let reportPid: (pid: number) => void = () => undefined;
    this.pid = new Promise((resolve) => (reportPid = resolve));
    this.#pending = expectPidLine ? Buffer.alloc(0) : undefined;
    this.stdout = collector(this.#stdoutChunks);
    this.stderr = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.#pending === undefined) {
          this.#stderrChunks.push(chunk);
        } else {
          const buffered = Buffer.concat([this.#pending, chunk]);
          const newline = buffered.indexOf(0x0a);
          if (newline === -1) {
            this.#pending = buffered;
          } else {
            const line = buffered.toString('utf8', 0, newline);
            this.#pending = undefined;
            if (line.startsWith(pidMarker)) {
              reportPid(Number(line.slice(pidMarker.length)));
              this.#stderrChunks.push(buffered.subarray(newline + 1));
            } else {
              this.#stderrChunks.push(buffered);
            }
          }
        }
        callback();
      },
    });
  }

  stdoutText(): string {
    return Buffer.concat(this.#stdoutChunks).toString('utf8');
  }

  stderrText(): string {
    return Buffer.concat([...this.#stderrChunks, this.#pending ?? Buffer.alloc(0)]).toString('utf8');
  }
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
}
