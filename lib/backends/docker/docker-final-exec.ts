import type Dockerode from 'dockerode';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { timedOutExitCode, type ExecOptions, type ExecResult } from '../../container.js';
import { BackendError, ContainerDiedError, errorMessage } from '../../errors.js';
import { agentInput } from '../agent-protocol.js';
import { AgentOutput } from '../agent-output.js';
import { validateExecArguments, type DemuxingModem } from './docker-exec.js';
import { describeArgv, streamClosed, waitAtMost, waitForEnd } from '../exec-wait.js';

/** How long a killed container may take to close its stream before we stop waiting for it. */
const killGraceMs = 2_000;
/** How long output may trail the container's stop (both travel separately through dockerd). */
const outputGraceMs = 1_000;
/**
 * How long a removal waits for the container to stop by itself after its final command. The agent exits right
 * after its last line, so this is milliseconds as a rule; the bound is for a container that does not stop.
 */
const stopGraceMs = 2_000;

/**
 * Runs `argv` through the agent, the container's main process (see docker-agent.ts): one attach, one write, and
 * the command runs; no engine exec. Resolves like `runDockerExec` (the exit code, also a non-zero one; 124 and
 * `timedOut` after a timeout, which kills the container) as soon as the agent has printed the command's status,
 * without waiting for the container to stop. Rejects with `signal.reason` on abort (the container is killed),
 * with ContainerDiedError when the container died under the command, and with a BackendError when the agent
 * could not run it (the container was not running, or `cwd` does not exist).
 */
export async function runDockerFinalExec(
  docker: Dockerode,
  container: { readonly id: string; readonly name: string },
  argv: readonly string[],
  options: ExecOptions = {},
  /**
   * Told, once the command ended and the container is stopping by itself, of a promise that resolves when it has
   * stopped, or after `stopGraceMs`, whichever comes first. A removal that waits for it finds the container
   * stopped: a forced remove of a running container has the engine kill it first, which costs the engine about
   * 15 ms of CPU per container here (measured with a cpuacct cgroup over dockerd, containerd and the shims).
   */
  onStopping?: (stopped: Promise<void>) => void,
): Promise<ExecResult> {
  validateExecArguments(argv, options);
  const { signal, timeoutMs, env, cwd } = options;
  signal?.throwIfAborted();
  const handle = docker.getContainer(container.id);
  const failure = (what: string, cause?: unknown): BackendError =>
    new BackendError(`running ${describeArgv(argv)} in ${container.name} through its agent: ${what}`, cause === undefined ? {} : { cause });

  let stream: Duplex;
  try {
    stream = (await handle.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw failure(`attach failed: ${errorMessage(error)}`, error);
  }
  const nonce = randomBytes(12).toString('hex');
  const output = new AgentOutput(nonce);
  (docker.modem as DemuxingModem).demuxStream(stream, output.stdout, output.stderr);
  const closed = streamClosed(stream);
  // An attach to a stopped container waits for it to start again, so a parallel wait (answered at once when the
  // container is not running) tells a dead container apart, and gives its exit code, at no cost in latency.
  const stopWatch = new AbortController();
  const stopped = handle
    .wait({ condition: 'not-running', abortSignal: stopWatch.signal })
    .then((answer: { StatusCode?: number }) => answer.StatusCode, () => undefined);
  stream.write(agentInput(nonce, argv, { ...(env === undefined ? {} : { env }), ...(cwd === undefined ? {} : { cwd }) }));

  // Whether the wait for the stop went to `onStopping`, which then ends it.
  let handedOver = false;
  try {
    const ended = Promise.race([output.finished, closed.then(() => 'closed' as const), stopped.then(() => 'stopped' as const)]);
    const outcome = await waitForEnd(ended, timeoutMs, signal);
    if (outcome === 'timedOut' || outcome === 'aborted') {
      await killContainer(handle, closed);
      if (outcome === 'aborted') throw (signal as AbortSignal).reason;
      return { exitCode: timedOutExitCode, stdout: output.stdoutText(), stderr: output.stderrText(), timedOut: true };
    }
    // The container stops right after the agent's last line, and its output may still be on the way to us.
    if (outcome !== 'finished') await waitAtMost(Promise.race([output.finished, closed]), outputGraceMs);
    if (output.isFinished) {
      if (output.noCwd) throw failure(`the working directory ${JSON.stringify(cwd)} does not exist`);
      if (onStopping !== undefined) {
        onStopping(stoppedWithin(stopped, stopWatch, stopGraceMs));
        handedOver = true;
      }
      return { exitCode: output.exitCode as number, stdout: output.stdoutText(), stderr: output.stderrText(), timedOut: false };
    }
    // The container stopped before the agent said how the command ended: it died, or was never running.
    if (!output.started) throw failure('the container is not running (its agent never read the command)');
    const exitCode = await Promise.race([stopped, sleep(outputGraceMs, undefined)]);
    const oomKilled = exitCode === 137 ? (await handle.inspect().catch(() => undefined))?.State.OOMKilled === true : false;
    throw new ContainerDiedError(container.name, 'died', exitCode, oomKilled);
  } finally {
    // The agent exits after its last line; the stream closes with the container, which we need not wait for.
    if (!handedOver) stopWatch.abort();
    stream.destroy();
  }
}

/** Kills every process of the container at once (SIGKILL to its init ends the PID namespace), then waits briefly for the stream. */
async function killContainer(handle: Dockerode.Container, closed: Promise<void>): Promise<void> {
  await handle.kill().catch(() => undefined);
  await waitAtMost(closed, killGraceMs);
}

/**
 * Resolves when `stopped` settles or after `ms`, whichever comes first, and then ends the engine's wait. The timer
 * is what bounds it: a wait whose connection the engine drops mid-answer (a restart) never settles, aborted or not,
 * as docker-modem does not report it.
 */
async function stoppedWithin(stopped: Promise<unknown>, stopWatch: AbortController, ms: number): Promise<void> {
  try {
    await waitAtMost(stopped, ms);
  } finally {
    stopWatch.abort();
  }
}
