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

/**
 * True when an engine call failed because the engine itself cannot be reached, judged from the error alone: the
 * socket is missing (dockerd removes it first when it stops) or refuses, the connection broke mid-call (dockerd
 * exiting resets the calls in flight), or the engine answered that it cannot serve (503, or a 500 saying its
 * containerd is gone or it is shutting down). Looks through `cause` chains, so a BackendError around such an
 * error counts. Anything else (a 404, a 409, a bad image, a failing command) is about the container or image.
 * dockerd also answers other 500s while it shuts down; `isEngineDown` tells those apart by asking it.
 */
export function isEngineUnreachable(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth <= maxCauseDepth && typeof current === 'object' && current !== null; depth++) {
    if (isUnreachableHere(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * `isEngineUnreachable`, or else, for a 5xx from the engine, whether the engine still answers a ping within
 * `pingTimeoutMs`: a 500 from an engine that no longer answers is an outage, from one that answers it is this
 * container's or image's failure. Costs one ping, and only for server errors.
 */
export async function isEngineDown(docker: Dockerode, error: unknown, pingTimeoutMs = defaultPingTimeoutMs): Promise<boolean> {
  if (isEngineUnreachable(error)) return true;
  const status = serverErrorStatus(error);
  if (status === undefined) return false;
  return !(await engineAnswers(docker, pingTimeoutMs));
}

/** Whether the engine answers a ping within `timeoutMs`; an engine that hangs counts as not answering. */
export async function engineAnswers(docker: Dockerode, timeoutMs = defaultPingTimeoutMs): Promise<boolean> {
  // A timer of our own rather than AbortSignal.timeout, whose unref'd timer may never fire in a quiet process.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    // dockerode takes the options; its type declarations do not say so.
    const ping = docker.ping.bind(docker) as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
    await ping({ abortSignal: deadline.signal });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Generous: a loaded engine may take a while, and a wrong "down" only costs the pool a probe. */
const defaultPingTimeoutMs = 3_000;
// A backend wraps the engine's error once or twice (a BackendError around it, say); deeper is not looked at.
const maxCauseDepth = 5;

/**
 * True when the call failed before the engine could have received it: the connect itself failed. Then it
 * certainly did nothing (a create made no container), unlike a call whose connection broke later.
 */
export function neverReachedEngine(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  return syscall === 'connect' && typeof code === 'string' && (connectErrorCodes.has(code) || code === 'ECONNREFUSED');
}

/** Socket-level failures of the connection to the engine, as Node reports them. */
const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTCONN']);
/** Failures to open the socket at all: only with `syscall: 'connect'` (an ENOENT of a file is something else). */
const connectErrorCodes = new Set(['ENOENT', 'EACCES', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * 500s by which dockerd says it cannot work right now rather than that the request is bad: its containerd is
 * gone or restarting (gRPC transport errors), or it is shutting down. Not a bare "connection refused": a pull
 * from a registry that refuses says that too, and that is the image's failure.
 */
const engineTroubleMessage =
  /shutting down|transport is closing|client connection is closing|error while dialing|containerd\.sock/i;

function isUnreachableHere(error: object): boolean {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string') {
    if (connectionErrorCodes.has(code)) return true;
    if (connectErrorCodes.has(code) && syscall === 'connect') return true;
  }
  const status = engineStatusCode(error);
  if (status === 502 || status === 503 || status === 504) return true;
  return status === 500 && engineTroubleMessage.test(error instanceof Error ? error.message : '');
}

function serverErrorStatus(error: unknown): number | undefined {
  let current = error;
  for (let depth = 0; depth <= maxCauseDepth && typeof current === 'object' && current !== null; depth++) {
    const status = engineStatusCode(current);
    if (status !== undefined) return status >= 500 ? status : undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
