import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { agentScript } from '../agent-protocol.js';
import { runAttached } from './lxc-attach.js';
import { closeFd, openFifo } from './lxc-fifo.js';
import { lxcInitPid } from './lxc-init-pid.js';

/**
 * The LXC agent: the agent shell (agent-protocol.ts) running inside a pooled container, started by the factory
 * once the container is ready, so a job's command starts with a write to a FIFO instead of an lxc-attach (which
 * sets up a new process in the container's namespaces and cgroup, and competes for the CPU with the refill's
 * lxc-copy and lxc-start).
 *
 * It reads its one command from the FIFO `in` and writes the command's output to the FIFOs `out` and `err`, all
 * three in a directory of its own inside the container. The host reaches them through the container's init,
 * at `/proc/<init pid>/root/<directory>`: any process of the host can, not only the one that made the
 * container (a client of the pool service included). The directory's name is random, so a pid the kernel
 * reuses after the container is gone never leads to another container's agent.
 *
 * The agent holds each FIFO open for reading and writing from the start: a writer on `in` never blocks or
 * fails while it is there (and gets ENXIO once it is gone), and `out` and `err` reach end of file only when the
 * agent and everything the command left behind are gone.
 */

/** Where agents live inside the container; a directory named after the agent, so two never meet. */
const agentDirPrefix = '/tmp/.warmpool-agent-';
const agentPathPattern = /^\/proc\/([1-9][0-9]*)\/root(\/tmp\/\.warmpool-agent-[0-9a-f]{32})$/;

/** Variables the agent's shell sets on its own; an lxc-attach exec starts without them, so the agent drops them. */
const shellOwnVariables = ['PWD', 'OLDPWD', 'SHLVL'];

/**
 * Runs in the container (through lxc-attach, with the container's environment): makes the FIFOs, opens them,
 * and starts the agent in the background (without `&`, see below), holding them. The FIFOs are opened before the agent starts, so when
 * lxc-attach returns the agent holds them. Few processes (mkdir, mkfifo, the agent's shell): each costs the
 * creation a fork and an exec. `mkfifo` may be a busybox applet only. The agent needs no session of its own: the
 * commands it runs get theirs, so their `kill 0` cannot reach it, and nothing signals lxc-attach's group once
 * it has returned.
 */
const startScript = [
  'd=$1; a=$2; shift 2',
  'mkdir -p -m 700 "$d" || exit 1',
  'mkfifo "$d/in" "$d/out" "$d/err" 2>/dev/null || busybox mkfifo "$d/in" "$d/out" "$d/err" || exit 1',
  'exec 3<>"$d/in" 4<>"$d/out" 5<>"$d/err"',
  // Not with `&`: a non-interactive shell starts a background process with SIGINT and SIGQUIT ignored, and no
  // shell can undo that for the processes it starts, so every command of the agent would run with them ignored
  // (CPython's test_pdb fails so). `setsid setsid` starts it in the background without `&`: the first becomes
  // a process group leader, so the second forks and its parent returns at once.
  'if command -v setsid >/dev/null 2>&1; then',
  '  setsid setsid /bin/sh -c "unset $*; $a" <&3 >&4 2>&5 3>&- 4>&- 5>&-',
  'else',
  '  /bin/sh -c "unset $*; $a" <&3 >&4 2>&5 3>&- 4>&- 5>&- &',
  'fi',
].join('\n');

export interface StartLxcAgentRequest {
  readonly lxcpath: string;
  readonly name: string;
  /** The container's environment, as `exec` gives it: the agent's commands inherit it. */
  readonly env: Readonly<Record<string, string>>;
  /** Where `lxc-start -p` wrote its monitor's pid, if it did: finds the init without lxc-info. */
  readonly monitorPidFile?: string | undefined;
  readonly signal: AbortSignal;
}

/**
 * Starts the agent in a running container and returns its path as the host sees it (for `execFinal` and the
 * descriptor), or undefined when it could not start (no /bin/sh or mkfifo, the container stopped, /proc not
 * readable): the container then works through `exec` alone. Rejects only with the signal's reason.
 */
export async function startLxcAgent({ lxcpath, name, env, monitorPidFile, signal }: StartLxcAgentRequest): Promise<string | undefined> {
  const dir = `${agentDirPrefix}${randomBytes(16).toString('hex')}`;
  const dropped = shellOwnVariables.filter((variable) => !(variable in env));
  try {
    const [started, initPid] = await Promise.all([
      runAttached({ lxcpath, name, argv: ['/bin/sh', '-c', startScript, 'sh', dir, agentScript, ...dropped], env, signal }),
      lxcInitPid(lxcpath, name, monitorPidFile, signal),
    ]);
    if (started.exitCode !== 0 || initPid === undefined) return undefined;
    const path = `/proc/${String(initPid)}/root${dir}`;
    return (await isAgentListening(path)) ? path : undefined;
  } catch {
    if (signal.aborted) throw signal.reason;
    return undefined;
  }
}

/** Whether an agent holds `in` open: a non-blocking writer opens only then (ENXIO otherwise). */
async function isAgentListening(path: string): Promise<boolean> {
  try {
    await access(`${path}/out`);
    closeFd(openFifo(`${path}/in`, constants.O_WRONLY));
    return true;
  } catch {
    return false;
  }
}

export interface LxcAgentLocation {
  /** The container's init, as the host numbers it. */
  readonly initPid: number;
  /** The agent's FIFOs as the host reaches them. */
  readonly path: string;
}

/** The agent path of a descriptor, checked: it reaches the host's file system, so it must be one we make. */
export function parseLxcAgentPath(path: string): LxcAgentLocation | undefined {
  const match = agentPathPattern.exec(path);
  return match === null ? undefined : { initPid: Number(match[1]), path };
}
