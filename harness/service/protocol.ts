import type { ContainerDescriptor } from '../../lib/container.js';
import type { KindStatus } from '../../lib/kind.js';
import { serviceErrorCodes } from './service-errors.js';

/**
 * The pool service's wire protocol: newline-delimited JSON over a unix socket, one object a line, UTF-8.
 * Every request is `{ id, type, ...fields }`; every response names the request it answers:
 * `{ id, ok: true, ...result }` or `{ id, ok: false, error: { code, message } }`. Requests on one connection
 * run concurrently (a waiting `get` does not hold up a `status`), so responses may come in any order.
 */

/** A request id: a string of 1 to 128 characters or a safe integer, chosen by the client. */
export type RequestId = string | number;

export interface GetRequest {
  readonly id: RequestId;
  readonly type: 'get';
  /** How long to wait for a container: 0 (the default) answers at once; `null` waits until one is ready. */
  readonly timeoutMs?: number | null;
  /** Keep the container when this connection closes without releasing it. @default false */
  readonly keep?: boolean;
  /** The kind of container (a kind of the service's config). @default the service's first kind */
  readonly kind?: string;
}

export interface ReleaseRequest {
  readonly id: RequestId;
  readonly type: 'release';
  /** Id or name of a container this connection holds, or one any connection kept. */
  readonly container: string;
}

export interface CancelRequest {
  readonly id: RequestId;
  readonly type: 'cancel';
  /** The id of a `get` of this connection still waiting; it then fails with ERR_WARMPOOL_CANCELLED. */
  readonly target: RequestId;
}

export interface BareRequest {
  readonly id: RequestId;
  readonly type: 'status' | 'errors' | 'shutdown';
}

export type ServiceRequest = GetRequest | ReleaseRequest | CancelRequest | BareRequest;
export type RequestType = ServiceRequest['type'];

export const requestTypes: readonly RequestType[] = ['get', 'release', 'cancel', 'status', 'errors', 'shutdown'];

/** What `status` reports. */
export interface ServiceStatus {
  readonly backend: 'docker' | 'lxc';
  readonly poolId: string;
  /** Ready containers in the pool. */
  readonly ready: number;
  /** The pool's size. */
  readonly capacity: number;
  /** Creations in flight. */
  readonly workers: number;
  /** `get` requests waiting, across all connections. */
  readonly waiting: number;
  readonly throttled: boolean;
  /** Errors queued for the next `errors` request. */
  readonly errors: number;
  /** Errors dropped because nobody drained the queue in time. */
  readonly errorsDropped: number;
  /** Containers handed out and not released, `kept` ones included. */
  readonly held: number;
  /** Of `held`, those asked for with `keep: true`. */
  readonly kept: number;
  readonly connections: number;
  /** Connections the service takes at once: `--max-connections`, or fewer if the open-file limit says so. */
  readonly maxConnections: number;
  /** The engine as the pool sees it: `unavailable` during an outage (creation paused, probing with backoff). */
  readonly engine: 'available' | 'unavailable';
  /** Ready containers held back during an engine outage until the engine lists them again. */
  readonly setAside: number;
  /** Ready containers the pool found dead (and replaced) since the service started. */
  readonly deaths: number;
  /** Containers the service or its pool must remove and has not yet (a failed removal is retried until it succeeds). */
  readonly pendingRemovals: number;
  readonly pid: number;
  /** Where Prometheus can scrape the service, or null without `--metrics-port`. */
  readonly metricsUrl: string | null;
  /** Every kind the service serves, in its config's order (the first is the default). */
  readonly kinds: readonly ServiceKindStatus[];
}

/** One kind in `status`: the library's KindStatus, and the kind's backend. */
export interface ServiceKindStatus extends KindStatus {
  readonly backend: 'docker' | 'lxc';
}

export interface ServiceErrorEntry {
  readonly code: string;
  readonly message: string;
  /** When it happened, in milliseconds since the epoch. */
  readonly at: number;
}

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

export type FailureResponse = { readonly id: RequestId | null; readonly ok: false; readonly error: ErrorBody };

export interface GetResult {
  /** The container, or null when none was ready within `timeoutMs`. */
  readonly container: ContainerDescriptor | null;
  /** Docker only: the engine socket the service uses, so a client can reach the container the same way. */
  readonly dockerSocket?: string;
}

export interface ResultByType {
  get: GetResult;
  release: Record<never, never>;
  cancel: { readonly cancelled: boolean };
  status: { readonly status: ServiceStatus };
  errors: { readonly errors: ServiceErrorEntry[]; readonly dropped: number };
  /** `notRemoved`: containers the service could not remove by the end of its shutdown timeout. */
  shutdown: { readonly destroyed: number; readonly kept: number; readonly notRemoved?: string[] };
}

export type SuccessResponse<T extends RequestType = RequestType> = { readonly id: RequestId; readonly ok: true } & ResultByType[T];
export type ServiceResponse = SuccessResponse | FailureResponse;

/** A line that is not a valid request. `id` is the request's id when it could be read, else null. */
export class RequestParseError extends Error {
  constructor(
    readonly id: RequestId | null,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const maxIdLength = 128;
const maxContainerRefLength = 256;

const allowedFields: Record<RequestType, readonly string[]> = {
  get: ['timeoutMs', 'keep', 'kind'],
  release: ['container'],
  cancel: ['target'],
  status: [],
  errors: [],
  shutdown: [],
};

export function isRequestId(value: unknown): value is RequestId {
  if (typeof value === 'string') return value.length >= 1 && value.length <= maxIdLength;
  return Number.isSafeInteger(value);
}

function isRequestType(value: unknown): value is RequestType {
  return typeof value === 'string' && (requestTypes as readonly string[]).includes(value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates one line (without its newline). Throws RequestParseError, never anything else. */
export function parseRequest(line: Uint8Array | string): ServiceRequest {
  let text: string;
  try {
    text = typeof line === 'string' ? line : utf8.decode(line);
  } catch {
    throw new RequestParseError(null, serviceErrorCodes.badRequest, 'The line is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RequestParseError(null, serviceErrorCodes.badRequest, `The line is not JSON: ${(error as Error).message}`);
  }
  return validateRequest(value);
}

export function validateRequest(value: unknown): ServiceRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestParseError(null, serviceErrorCodes.badRequest, 'A request must be a JSON object like {"id":1,"type":"status"}');
  }
  const fields = value as Record<string, unknown>;
  if (!isRequestId(fields['id'])) {
    throw new RequestParseError(null, serviceErrorCodes.badRequest, `\`id\` must be a string of 1 to ${maxIdLength} characters or a safe integer`);
  }
  const id = fields['id'];
  const type = fields['type'];
  const bad = (message: string): RequestParseError => new RequestParseError(id, serviceErrorCodes.badRequest, message);
  if (typeof type !== 'string') throw bad('`type` must be a string');
  if (!isRequestType(type)) {
    throw new RequestParseError(id, serviceErrorCodes.unknownRequest, `Unknown request type ${JSON.stringify(type.slice(0, 40))}; known: ${requestTypes.join(', ')}`);
  }
  // Unknown fields are refused so a typo (`timeout` for `timeoutMs`) is an error, not a silent default.
  for (const key of Object.keys(fields)) {
    if (key !== 'id' && key !== 'type' && !allowedFields[type].includes(key)) {
      throw bad(`\`${key.slice(0, 40)}\` is not a field of a ${type} request${allowedFields[type].length > 0 ? ` (fields: ${allowedFields[type].join(', ')})` : ''}`);
    }
  }
  switch (type) {
    case 'get': {
      const { timeoutMs, keep, kind } = fields;
      if (timeoutMs !== undefined && timeoutMs !== null && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
        throw bad('`timeoutMs` must be a number of milliseconds from 0 up, or null to wait until a container is ready');
      }
      if (keep !== undefined && typeof keep !== 'boolean') throw bad('`keep` must be a boolean');
      if (kind !== undefined && !(typeof kind === 'string' && kind.length > 0 && kind.length <= 64)) throw bad('`kind` must be a kind name (a string of 1 to 64 characters)');
      return {
        id,
        type,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(keep === undefined ? {} : { keep }),
        ...(kind === undefined ? {} : { kind }),
      };
    }
    case 'release': {
      const container = fields['container'];
      if (typeof container !== 'string' || container === '' || container.length > maxContainerRefLength) {
        throw bad(`\`container\` must be the id or name of a container (a string of 1 to ${maxContainerRefLength} characters)`);
      }
      return { id, type, container };
    }
    case 'cancel': {
      const target = fields['target'];
      if (!isRequestId(target)) throw bad('`target` must be the id of a pending get request');
      return { id, type, target };
    }
    default:
      return { id, type };
  }
}

/** One line on the wire, newline included. */
export function encodeMessage(message: object): string {
  return `${JSON.stringify(message)}\n`;
}

export function failure(id: RequestId | null, code: string, message: string): FailureResponse {
  return { id, ok: false, error: { code, message } };
}

/**
 * Validates a response line on the client side. Only the envelope is checked strictly; the result fields are
 * checked by the client call that expects them.
 */
export function parseResponse(line: Uint8Array | string): ServiceResponse {
  const text = typeof line === 'string' ? line : utf8.decode(line);
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('The response is not a JSON object');
  const fields = value as Record<string, unknown>;
  const id = fields['id'];
  if (id !== null && !isRequestId(id)) throw new Error('The response has no valid id');
  if (fields['ok'] === true) {
    if (id === null) throw new Error('A successful response must name its request');
    return value as SuccessResponse;
  }
  if (fields['ok'] !== false) throw new Error('The response has no boolean `ok`');
  const error = fields['error'] as Partial<ErrorBody> | null | undefined;
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string' || typeof error.message !== 'string') {
    throw new Error('A failed response must carry error: { code, message }');
  }
  return value as FailureResponse;
}

export function isContainerDescriptor(value: unknown): value is ContainerDescriptor {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return (
    (fields['backend'] === 'docker' || fields['backend'] === 'lxc') &&
    typeof fields['id'] === 'string' &&
    typeof fields['name'] === 'string' &&
    (fields['lxcpath'] === undefined || typeof fields['lxcpath'] === 'string') &&
    (fields['agent'] === undefined || typeof fields['agent'] === 'boolean') &&
    (fields['agentPath'] === undefined || typeof fields['agentPath'] === 'string') &&
    (fields['env'] === undefined || isStringRecord(fields['env']))
  );
}

function isStringRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}
