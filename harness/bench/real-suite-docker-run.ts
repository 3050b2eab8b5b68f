import type Dockerode from 'dockerode';
import { performance } from 'node:perf_hooks';
import { writeNoneModeHosts } from '../../lib/backends/docker/docker-agent.js';
import { dockerContainerName, ownerLabels } from '../../lib/backends/docker/docker-labels.js';
import { forceRemove } from '../../lib/backends/docker/docker-remove.js';
import { BackendError, errorMessage } from '../../lib/errors.js';
import type { CommandRun } from './real-suite-command.js';
import { demuxDockerLog } from './real-suite-docker-log.js';

export interface DockerRunOptions {
  readonly docker: Dockerode;
  readonly image: string;
  /** Labels the container as this pool's (`warmpool.pool`), so a reap of the pool removes it if we cannot. */
  readonly poolId: string;
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Labels besides the pool's own. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The container is killed after this long and the run reports `timedOut`. @default no limit */
  readonly timeoutMs?: number;
  /** Aborting it removes the container (killing the command) and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Made loopback-only, as the pool makes its own (lib/backends/docker/docker-loopback.ts): `NetworkDisabled`,
   * and the command run by `/bin/sh` after it wrote network mode none's /etc/hosts. Not something
   * `docker run` can ask for: the baseline of a runner that knows the engine as well as the pool does.
   */
  readonly loopbackOnly?: boolean;
}

/**
 * The baseline of a container per job, done the way `docker run --rm --network none IMAGE CMD` does it: a new
 * container whose main process is the command, started, waited for, its logs read, and removed. Not a pool
 * and not part of lib/: what a suite runner without warmpool would do. The container is removed whatever
 * happens (the command failing, a timeout, an abort); only an engine that cannot be reached can leave it, and
 * then its pool label lets a reap find it.
 * @throws BackendError when the engine refuses a step; the abort reason on abort
 */
export async function dockerRunRm(options: DockerRunOptions): Promise<CommandRun> {
  const { docker, signal } = options;
  signal?.throwIfAborted();
  const began = performance.now();
  const name = dockerContainerName(options.poolId);
  let container: Dockerode.Container;
  try {
    container = await docker.createContainer({
      name,
      Image: options.image,
      Cmd: options.loopbackOnly === true ? ['/bin/sh', '-c', `${writeNoneModeHosts} || exit 125; exec "$@"`, 'sh', ...options.command] : [...options.command],
      NetworkDisabled: options.loopbackOnly === true,
      Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
      Labels: { ...options.labels, ...ownerLabels({ poolId: options.poolId }) },
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      HostConfig: {
        NetworkMode: 'none',
        // Where `docker logs` reads from, whatever the engine's default driver is.
        LogConfig: { Type: 'json-file', Config: {} },
        AutoRemove: false,
      },
    });
  } catch (error) {
    // A failed create may still have made the container (a dropped connection hides the answer).
    await forceRemove(docker, name).catch(() => undefined);
    throw new BackendError(`docker create for ${describe(options.command)} failed: ${errorMessage(error)}`, { cause: error });
  }
  let ran: Omit<CommandRun, 'totalMs'>;
  try {
    ran = await startWaitAndRead(container, options);
  } finally {
    // Not cut short by the signal: an abort is exactly when the container must go.
    await forceRemove(docker, container.id);
  }
  return { ...ran, totalMs: performance.now() - began };
}

async function startWaitAndRead(container: Dockerode.Container, options: DockerRunOptions): Promise<Omit<CommandRun, 'totalMs'>> {
  const { signal, timeoutMs } = options;
  signal?.throwIfAborted();
  const started = performance.now();
  try {
    await container.start();
  } catch (error) {
    signal?.throwIfAborted();
    throw new BackendError(`docker start of ${container.id} failed: ${errorMessage(error)}`, { cause: error });
  }
  const stopWaiting = new AbortController();
  let timedOut = false;
  const timer = timeoutMs !== undefined && Number.isFinite(timeoutMs) ? setTimeout(() => stopWaiting.abort(), timeoutMs) : undefined;
  const onAbort = (): void => stopWaiting.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let statusCode: number | null;
  try {
    statusCode = ((await container.wait({ abortSignal: stopWaiting.signal })) as { StatusCode: number }).StatusCode;
  } catch (error) {
    signal?.throwIfAborted();
    if (!stopWaiting.signal.aborted) throw new BackendError(`docker wait on ${container.id} failed: ${errorMessage(error)}`, { cause: error });
    // The timeout: kill it, as `timeout` would, and keep the output it wrote so far.
    timedOut = true;
    statusCode = null;
    await container.kill().catch(() => undefined);
    await container.wait().catch(() => undefined);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  const runMs = performance.now() - started;
  signal?.throwIfAborted();
  let body: Buffer;
  try {
    body = await container.logs({ stdout: true, stderr: true, follow: false });
  } catch (error) {
    throw new BackendError(`docker logs of ${container.id} failed: ${errorMessage(error)}`, { cause: error });
  }
  return { exitCode: statusCode, ...demuxDockerLog(body), timedOut, runMs };
}

function describe(command: readonly string[]): string {
  return JSON.stringify(command.join(' ').slice(0, 80));
}
