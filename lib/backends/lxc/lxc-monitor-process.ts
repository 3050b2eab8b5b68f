import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { BackendError, errorMessage } from '../../errors.js';

/** A running `lxc-monitor`, as the watch sees it. */
export interface MonitorProcess {
  /** Its pid, once spawned (undefined if it could not be). */
  readonly pid: number | undefined;
  /** Calls `listener` with each line of its stdout, in order. */
  onLine(listener: (line: string) => void): void;
  /** Resolves (never rejects) once it has exited and its output is read, with an error saying how it ended. */
  readonly exited: Promise<Error>;
}

/** Starts an lxc-monitor with these arguments; aborting `signal` kills it. */
export type SpawnMonitor = (args: readonly string[], signal: AbortSignal) => MonitorProcess;

/** Enough of its stderr to say why it stopped, without keeping a chatty process's output forever. */
const stderrTailChars = 2_000;

/**
 * Spawns `lxc-monitor` with execa. Its output is streamed (`buffer: false`): it runs for as long as the pool
 * does. An abort sends SIGTERM, which lxc-monitor does not handle, so it ends at once (SIGKILL after 2 s
 * otherwise). Its lxc-monitord is another process, which exits by itself 30 s after its last client has gone.
 */
export const spawnLxcMonitor: SpawnMonitor = (args, signal) => {
  const subprocess = execa('lxc-monitor', args, {
    cancelSignal: signal,
    forceKillAfterDelay: 2_000,
    buffer: false,
    reject: false,
    stdin: 'ignore',
    env: { LC_ALL: 'C' },
  });
  let stderr = '';
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-stderrTailChars);
  });
  const lines = subprocess.stdout === null ? undefined : createInterface({ input: subprocess.stdout, crlfDelay: Infinity });
  const commandLine = ['lxc-monitor', ...args].join(' ');
  const exited = subprocess.then((result) => {
    const output = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
    let outcome: string;
    if (result.isCanceled) outcome = 'was stopped';
    else if (result.exitCode !== undefined) outcome = `exited with code ${String(result.exitCode)}`;
    else if (result.signal !== undefined) outcome = `was killed by ${result.signal}`;
    else outcome = `could not be run (${result.originalMessage ?? 'unknown error'})`;
    return new BackendError(`${commandLine} ${outcome}${output}`, { cause: result });
  }, (error: unknown) => new BackendError(`${commandLine} failed: ${errorMessage(error)}`, { cause: error }));
  return {
    pid: subprocess.pid,
    onLine(listener) {
      lines?.on('line', listener);
    },
    exited,
  };
};
