import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { timedOutExitCode, type ExecResult } from '../../container.js';
import { BackendError, ContainerDiedError } from '../../errors.js';
import { AgentOutput } from '../agent-output.js';
import { agentInput } from '../agent-protocol.js';
import { describeArgv, streamClosed, waitAtMost, waitForEnd } from '../exec-wait.js';
import type { LxcAgentLocation } from './lxc-agent.js';
import { closeFd, fifoStream, openFifo } from './lxc-fifo.js';
import { killContainerProcesses } from './lxc-kill-processes.js';
import type { ValidExecOptions } from './lxc-validation.js';

/** How long the FIFOs may take to close after the command's processes were killed, before we stop waiting. */
const killGraceMs = 2_000;

/**
 * Above this, a command line goes through exec: the agent's shell reads its script a byte at a time (a pipe
 * gives it no other way to stop at the closing nonce), about 1 ms per KB, where an lxc-attach takes ~10 ms
 * whatever the size. Command lines of jobs are far below it.
 */
const maxAgentInputBytes = 16 * 1024;

/** The agent did not take the command (already used, never reached, or the command line too long): nothing ran. */
export const notThroughAgent = Symbol('notThroughAgent');

/**
 * Runs `argv` through the container's agent (see lxc-agent.ts): three opens and one write on the host, and the
 * command runs; no lxc-attach. Resolves like `exec` (the exit code, also a non-zero one; 124 and `timedOut`
 * after a timeout) as soon as the agent has printed the command's status. A timeout or an abort SIGKILLs every
 * process of the container but its init, so the command and all it started end, and files can still be read
 * out. Resolves with `notThroughAgent` when the agent did not take the command (the caller falls back to exec);
 * rejects with `signal.reason` on abort, with ContainerDiedError when the container died under the command, and
 * with a BackendError when `cwd` does not exist or the agent stopped without saying how the command ended.
 */
export async function runLxcFinalExec(
  container: { readonly name: string },
  agent: LxcAgentLocation,
  argv: readonly string[],
  { signal, timeoutMs, env, cwd }: ValidExecOptions,
): Promise<ExecResult | typeof notThroughAgent> {
  signal?.throwIfAborted();
  const failure = (what: string): BackendError =>
    new BackendError(`running ${describeArgv(argv)} in ${container.name} through its agent: ${what}`);
  const nonce = randomBytes(12).toString('hex');
  const script = agentInput(nonce, argv, { env, ...(cwd === undefined ? {} : { cwd }) });
  if (Buffer.byteLength(script) > maxAgentInputBytes) return notThroughAgent;
  const streams = openAgentStreams(agent.path);
  if (streams === undefined) return notThroughAgent;
  const { input, stdout, stderr } = streams;

  const output = new AgentOutput(nonce);
  stdout.pipe(output.stdout);
  stderr.pipe(output.stderr);
  // End of file on both: the agent and everything the command left holding its output are gone.
  const closed = Promise.all([streamClosed(stdout), streamClosed(stderr)]).then(() => 'closed' as const);
  // Only the agent reads `in`; if it died under the write, the end of its output tells.
  input.on('error', () => undefined);
  input.end(script);

  try {
    const outcome = await waitForEnd(Promise.race([output.finished, closed]), timeoutMs, signal);
    if (outcome === 'timedOut' || outcome === 'aborted') {
      await killContainerProcesses(agent.initPid);
      await waitAtMost(closed, killGraceMs);
      if (outcome === 'aborted') throw (signal as AbortSignal).reason;
      return { exitCode: timedOutExitCode, stdout: output.stdoutText(), stderr: output.stderrText(), timedOut: true };
    }
    // Both FIFOs at their end (`closed`) means every byte written to them has been parsed: nothing to wait for.
    if (output.isFinished) {
      if (output.noCwd) throw failure(`the working directory ${JSON.stringify(cwd)} does not exist`);
      return { exitCode: output.exitCode as number, stdout: output.stdoutText(), stderr: output.stderrText(), timedOut: false };
    }
    // Every process that held the output is gone before the agent said how the command ended.
    if (await isContainerAlive(agent)) throw failure('the agent stopped before the command ended');
    throw new ContainerDiedError(container.name, output.started ? 'died' : 'not-running', undefined, false);
  } finally {
    input.destroy();
    stdout.destroy();
    stderr.destroy();
  }
}

interface AgentStreams {
  readonly input: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;
}

/**
 * The agent's three FIFOs, or undefined when it is not there to read a command: the path is gone (the container
 * stopped; its init's pid now belongs to another process) or nobody holds `in` (ENXIO: the agent ran its command).
 * The output FIFOs are opened first, so no output can be lost.
 */
function openAgentStreams(path: string): AgentStreams | undefined {
  const opened: number[] = [];
  try {
    opened.push(openFifo(`${path}/out`, constants.O_RDONLY), openFifo(`${path}/err`, constants.O_RDONLY));
    opened.push(openFifo(`${path}/in`, constants.O_WRONLY));
  } catch {
    for (const fd of opened) closeFd(fd);
    return undefined;
  }
  const [out, err, input] = opened as [number, number, number];
  return { input: fifoStream(input, 'write'), stdout: fifoStream(out, 'read'), stderr: fifoStream(err, 'read') };
}

/** The container runs while its init does and still has the agent's directory (a reused pid does not). */
async function isContainerAlive(agent: LxcAgentLocation): Promise<boolean> {
  try {
    await access(agent.path);
    return true;
  } catch {
    return false;
  }
}
