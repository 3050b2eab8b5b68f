import type Dockerode from 'dockerode';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { BackendError, ContainerNotReadyError, errorMessage } from '../../errors.js';
import { streamClosed, waitForEnd } from '../exec-wait.js';
import { agentHostsFailedLine, agentReadyLine } from './docker-agent.js';
import type { DemuxingModem } from './docker-exec.js';

/**
 * Loopback-only containers: how the factory makes the containers of network mode `none` that run its agent.
 *
 * For `none`, the engine's network library still makes each container a sandbox: it creates the network
 * namespace itself, writes /etc/hosts and /etc/resolv.conf, and has runc call it back through a prestart hook
 * that starts a second copy of the whole dockerd binary (`libnetwork-setkey`). Measured here (Docker 20.10, 2
 * cores, `true` jobs), that hook and the sandbox are about 75 of the 180-200 ms of CPU a container costs the
 * machine from create to remove. A container created with `NetworkDisabled` skips all of it: runc makes the
 * network namespace, with only the loopback interface, up, which is what `none` gives a container too. What it
 * lacks is the engine's /etc/hosts, which the loopback agent writes (docker-agent.ts).
 *
 * Only for the agent: the factory must know when the container is prepared. And only when the image runs as
 * root, who can write /etc/hosts; other containers are made the engine's way.
 */
export function isLoopbackOnly(networkMode: string, hasAgent: boolean, imageUser: string): boolean {
  return networkMode === 'none' && hasAgent && runsAsRoot(imageUser);
}

/** An image's `User` (`name`, `uid`, `name:group`, ...) names root, or none (root too). */
export function runsAsRoot(imageUser: string): boolean {
  const user = imageUser.split(':')[0] ?? '';
  return user === '' || user === 'root' || user === '0';
}

/**
 * Starts a loopback-only container and resolves `ready` once its agent printed its ready line, or `stopped` when
 * its output ended first (the container stopped: the caller asks the engine why). It attaches to the
 * container's output before the start, as `docker run` does, so the line cannot be missed (with the `none` log
 * driver, output nobody is attached to is gone). Rejects with ContainerNotReadyError when the agent could not
 * write /etc/hosts or said nothing within `timeoutMs`, with BackendError when the engine refused the attach or
 * the start, and with `signal.reason` on abort. The caller removes the container on any outcome but `ready`.
 */
export async function startLoopbackContainer(
  docker: Dockerode,
  container: { readonly id: string; readonly name: string },
  { timeoutMs, signal }: { readonly timeoutMs: number; readonly signal: AbortSignal },
): Promise<'ready' | 'stopped'> {
  const handle = docker.getContainer(container.id);
  let stream: Duplex;
  try {
    stream = (await handle.attach({ stream: true, stdout: true, stderr: true })) as Duplex;
  } catch (error) {
    throw new BackendError(`Attaching to container ${container.name} before its start failed: ${errorMessage(error)}`, { cause: error });
  }
  try {
    const said = new FirstLine();
    (docker.modem as DemuxingModem).demuxStream(stream, said.writable, new Writable({ write: (_chunk, _encoding, done) => done() }));
    const closed = streamClosed(stream);
    try {
      await handle.start();
    } catch (error) {
      throw new BackendError(`Starting container ${container.name} failed: ${errorMessage(error)}`, { cause: error });
    }
    // The line is kept apart from the race's own outcomes, so no output can pass for one of them.
    let line: string | undefined;
    const outcome = await waitForEnd(
      Promise.race([said.line.then((first) => ((line = first), 'said' as const)), closed.then(() => 'closed' as const)]),
      timeoutMs,
      signal,
    );
    if (outcome === 'aborted') throw signal.reason;
    if (outcome === 'closed') return 'stopped';
    if (outcome === 'timedOut') throw new ContainerNotReadyError(`Container ${container.name}: its agent did not say it was ready within ${timeoutMs} ms`);
    if (line === agentReadyLine) return 'ready';
    if (line === agentHostsFailedLine) throw new ContainerNotReadyError(`Container ${container.name}: its agent could not write /etc/hosts`);
    throw new ContainerNotReadyError(`Container ${container.name}: its agent printed ${JSON.stringify((line ?? '').slice(0, 200))} instead of its ready line`);
  } finally {
    stream.destroy();
  }
}

/** Collects stdout up to its first newline; `line` resolves with that line (without the newline). */
class FirstLine {
  readonly line: Promise<string>;
  readonly writable: Writable;

  constructor() {
    let text = '';
    let resolveLine: (line: string) => void = () => undefined;
    this.line = new Promise((resolve) => (resolveLine = resolve));
    this.writable = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (!text.includes('\n')) {
          text += chunk.toString('utf8');
          const end = text.indexOf('\n');
          if (end >= 0) resolveLine(text.slice(0, end));
        }
        done();
      },
    });
  }
}
