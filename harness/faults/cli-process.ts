import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../engine-config.js';

/** A `warmpool` CLI child the fault suite started (and so may signal, by its pid). */
export interface CliProcess {
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: readonly string[];
  /** The last 8 KiB of stderr, for notes. */
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly hasExited: boolean;
  /** Resolves with the first stdout line (from the start) that matches, or undefined on exit, timeout or abort. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<string | undefined>;
  kill(signal: NodeJS.Signals): void;
}

/** Running under tsx the CLI is a .ts file; built, it is .js next to this module's own build. */
const runningFromSource = import.meta.url.endsWith('.ts');
const cliEntry = fileURLToPath(new URL(`../cli/warmpool.${runningFromSource ? 'ts' : 'js'}`, import.meta.url));

/** Children still running, so an interrupted suite can SIGKILL what it started (by pid) on its way out. */
const running = new Set<CliProcess>();

/**
 * Runs `node [--import tsx] harness/cli/warmpool.ts ...args` as its own process, from the package root. Node is
 * started directly (npx would not pass our signals on), so SIGKILL and SIGTERM reach the CLI itself.
 */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child: ChildProcess = spawn(process.execPath, [...(runningFromSource ? ['--import', 'tsx'] : []), cliEntry, ...args], {
    cwd: packageRoot,
    env: { ...process.env, WARMPOOL_LOG_LEVEL: process.env['WARMPOOL_LOG_LEVEL'] ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start warmpool ${args.join(' ')}`);
  const lines: string[] = [];
  const wakers = new Set<() => void>();
  let rest = '';
  let stderr = '';
  let exitedFlag = false;
  const wake = (): void => {
    for (const waker of [...wakers]) waker();
  };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    rest += text;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
    wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-8192);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      if (rest !== '') lines.push(rest);
      rest = '';
      exitedFlag = true;
      running.delete(handle);
      wake();
      resolve({ code, signal });
    });
  });
  const pid = child.pid;
  const handle: CliProcess = {
    pid,
    lines,
    stderr: () => stderr,
    exited,
    get hasExited() {
      return exitedFlag;
    },
    waitForLine(match, timeoutMs, signal) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        const onAbort = (): void => finish(undefined);
        signal?.addEventListener('abort', onAbort, { once: true });
        function check(): void {
          const found = lines.find(match);
          if (found !== undefined) finish(found);
          else if (exitedFlag) finish(undefined);
        }
        function finish(line: string | undefined): void {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          wakers.delete(check);
          resolve(line);
        }
        wakers.add(check);
        check();
      });
    },
    kill(name) {
      if (!exitedFlag) {
        try {
          process.kill(pid, name);
        } catch {
          // It exited between the check and the signal.
        }
      }
    },
  };
  running.add(handle);
  return handle;
}

/** SIGKILLs every CLI child still running and waits for them: nothing the suite started outlives it. */
export async function killRunningCliProcesses(): Promise<void> {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(left.map((child) => child.exited));
}

/** Waits for `child` to exit; after `timeoutMs` it is SIGKILLed. Resolves with how it ended. */
export async function waitForExit(child: CliProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const first = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return { ...first, killed: false };
  child.kill('SIGKILL');
  return { ...(await child.exited), killed: true };
}

/** Runs a CLI command to its end (SIGKILLed after `timeoutMs`); resolves with its exit code and output. */
export async function cliRun(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env);
  const { code } = await waitForExit(child, timeoutMs);
  return { code, stdout: child.lines.join('\n'), stderr: child.stderr() };
}
