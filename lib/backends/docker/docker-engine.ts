import Dockerode from 'dockerode';
import { InvalidOptionError } from '../../errors.js';

/** A dockerode instance, or the path of a Docker engine's unix socket (a `unix://` URL is accepted too). */
export type DockerEngine = Dockerode | string;

const defaultSocket = '/var/run/docker.sock';
const expectedEngine = 'an absolute unix socket path or a dockerode instance';

/**
 * Turns the `docker` option into a client. Without one, `DOCKER_HOST` decides as the docker CLI would; only
 * unix sockets are supported, because containers here live on the same host as their creator (reaping looks
 * up creator pids on this host).
 */
export function resolveDockerEngine(value: unknown, option = 'docker'): Dockerode {
  if (value === undefined) {
    const host = process.env.DOCKER_HOST;
    if (host === undefined || host === '') return new Dockerode({ socketPath: defaultSocket });
    if (!host.startsWith('unix://')) {
      const expected = 'given, or DOCKER_HOST a unix:// URL (other transports are not supported)';
      throw new InvalidOptionError(option, host, expected);
    }
    return new Dockerode({ socketPath: host.slice('unix://'.length) });
  }
  if (typeof value === 'string') {
    const path = value.replace(/^unix:\/\//, '');
    if (!path.startsWith('/')) throw new InvalidOptionError(option, value, expectedEngine);
    return new Dockerode({ socketPath: path });
  }
  if (isDockerode(value)) return value;
  throw new InvalidOptionError(option, value, expectedEngine);
}

// Duck-typed rather than `instanceof`, so a dockerode from another copy of the package still counts.
function isDockerode(value: unknown): value is Dockerode {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<'createContainer' | 'getContainer' | 'listContainers', unknown>>;
  return (
    typeof candidate.createContainer === 'function' &&
    typeof candidate.getContainer === 'function' &&
    typeof candidate.listContainers === 'function' &&
    'modem' in value
  );
}

/** The HTTP status of a failed engine call (dockerode puts it on the error), if any. */
export function engineStatusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  const { statusCode } = error;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** A remove that failed because the container is gone or already being removed: for an idempotent destroy, done. */
export function isAlreadyRemoved(error: unknown): boolean {
  const status = engineStatusCode(error);
  if (status === 404) return true;
  return status === 409 && /already in progress/i.test(error instanceof Error ? error.message : String(error));
}

/** Force-removes a container with its anonymous volumes; a container already gone counts as removed. */
export async function forceRemove(docker: Dockerode, idOrName: string): Promise<void> {
  try {
    await docker.getContainer(idOrName).remove({ force: true, v: true });
  } catch (error) {
    if (!isAlreadyRemoved(error)) throw error;
  }
}

/**
 * True when an engine call failed because the engine itself cannot be reached: its socket refuses or is
 * missing, the connection broke, or the engine answered 500 while shutting down. Anything else (a 404, a 409,
 * a bad image) is about the container, not the engine.
 */
export function isEngineUnreachable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && unreachableCodes.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  if (engineStatusCode(error) === 500 && /shutting down|is not running|connection refused/i.test(message)) return true;
  return /socket hang up|ECONNREFUSED|ECONNRESET|ENOENT.*\.sock/i.test(message);
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
