import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { validatePoolId } from '../../lib/backends/owner.js';
import { errorMessage } from '../../lib/errors.js';
import type { LogLevel } from '../../lib/logger.js';
import { loadEngineConfig, type EngineConfig } from '../engine-config.js';
import { defaultSocketPath } from '../service/socket-file.js';
import { UsageError } from '../usage-error.js';
import { dockerKindSchema, hostSchema, labFileSchema, lxcKindSchema, type LabFile } from './lab-config-schema.js';

export { labConfigJsonSchema } from './lab-config-schema.js';

/**
 * The host config file of `warmpool serve --config lab.json`: one service, several kinds of container, each
 * kind a pool of its own. This module turns the file into a `LabConfig` with every default filled in, or
 * throws a ConfigFileError listing every problem with its key path and the value given.
 */

/** The service and the bounds all kinds share. */
export interface HostConfig {
  readonly poolId: string;
  readonly socket: string;
  /** Prometheus metrics on 127.0.0.1 at this port (0: any free port); off when undefined. */
  readonly metricsPort: number | undefined;
  readonly logLevel: LogLevel;
  /** Creations in flight at once, all kinds together. */
  readonly maxCreations: number;
  /**
   * Containers at once (ready and held), all kinds together. A file must give an integer; Infinity comes only
   * from `labConfigFromServiceConfig`, as today's flat config has no host-wide bound.
   */
  readonly maxContainers: number;
  readonly shutdownTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxWaitingGets: number;
  readonly maxUnreadBytes: number;
  readonly lineTimeoutMs: number;
  readonly maxLineBytes: number;
  readonly dockerSocket: string;
  readonly lxcPath: string;
}

interface CommonKindConfig {
  /** The key in `kinds`. */
  readonly name: string;
  /** `<host.poolId>.<name>`: names the kind's containers on the engine and scopes their reaping. */
  readonly poolId: string;
  readonly env: Readonly<Record<string, string>>;
  /** Undefined: none, a running container is ready. */
  readonly readinessCommand: readonly string[] | undefined;
  readonly readinessTimeoutMs: number;
  readonly creationTimeoutMs: number;
  readonly maxErrorsPerHour: number;
  readonly min: number;
  readonly max: number;
  readonly idleTtlMs: number;
  /** Undefined: containers have no age limit. */
  readonly maxAgeMs: number | undefined;
  readonly pauseIdle: boolean;
}

export interface DockerKindConfig extends CommonKindConfig {
  readonly backend: 'docker';
  readonly image: string;
  /** Undefined: warmpool's agent. */
  readonly command: readonly string[] | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined: no limit. */
  readonly memoryBytes: number | undefined;
  /** Undefined: no limit. */
  readonly cpus: number | undefined;
  readonly network: string;
}

export interface LxcKindConfig extends CommonKindConfig {
  readonly backend: 'lxc';
  readonly base: string;
}

export type KindConfig = DockerKindConfig | LxcKindConfig;

export interface LabConfig {
  readonly host: HostConfig;
  /** In the file's order; the first kind is the default kind. */
  readonly kinds: ReadonlyMap<string, KindConfig>;
}

/** One problem with a config file: where (a key path like `kinds.py311.max`, empty for the whole file) and what. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A config file that cannot be used: unreadable, not JSON, or not a valid config. The message has one line per
 * issue, each naming the file, the key path and the value given. A UsageError, so the CLI exits 2.
 */
export class ConfigFileError extends UsageError {
  readonly code = 'ERR_WARMPOOL_CONFIG';

  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(issues.map((issue) => `${file}: ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`).join('\n'));
  }
}

export { isLabConfigShape } from './lab-config-shape.js';

/** The kind a request naming none gets: the file's first. */
export function defaultKindName(config: LabConfig): string {
  const [first] = config.kinds.keys();
  if (first === undefined) throw new Error('A LabConfig has at least one kind');
  return first;
}

/** Reads and checks the file at `path`; errors name it as given. */
export function loadLabConfig(path: string, env: NodeJS.ProcessEnv = process.env): LabConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(path, [{ path: '', message: `cannot read the file: ${errorMessage(error)}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(path, [{ path: '', message: `not valid JSON: ${errorMessage(error)}` }]);
  }
  return parseLabConfig(value, path, env);
}

/**
 * Checks a parsed config file (`source` names it in errors) and fills in the defaults; `env` gives the ones the
 * environment decides (socket path, engines, image, base). The checks across keys (min <= max, pool id length,
 * the kinds' min against host.maxContainers) run once each key on its own is valid.
 */
export function parseLabConfig(value: unknown, source: string, env: NodeJS.ProcessEnv = process.env): LabConfig {
  const parsed = labFileSchema.safeParse(value);
  if (!parsed.success) throw new ConfigFileError(source, parsed.error.issues.flatMap((issue) => describeIssue(issue, value)));
  const config = resolveLabConfig(parsed.data, env);
  const problems = crossCheck(config);
  if (problems.length > 0) throw new ConfigFileError(source, problems);
  return config;
}

function resolveLabConfig(file: LabFile, env: NodeJS.ProcessEnv): LabConfig {
  const engines = loadEngineConfig({ env });
  const given = file.host;
  const host: HostConfig = {
    poolId: given.poolId,
    socket: given.socket ?? defaultSocketPath(given.poolId, env),
    metricsPort: given.metricsPort,
    logLevel: given.logLevel,
    maxCreations: given.maxCreations,
    maxContainers: given.maxContainers,
    shutdownTimeoutMs: given.shutdownTimeoutMs,
    maxConnections: given.maxConnections,
    maxWaitingGets: given.maxWaitingGets,
    maxUnreadBytes: given.maxUnreadBytes,
    lineTimeoutMs: numberOf(given.lineTimeoutMs),
    maxLineBytes: given.maxLineBytes,
    dockerSocket: given.dockerSocket ?? engines.dockerSocket,
    lxcPath: given.lxcPath ?? engines.lxcPath,
  };
  const kinds = new Map<string, KindConfig>();
  for (const [name, kind] of Object.entries(file.kinds)) kinds.set(name, resolveKind(name, kind, host, engines));
  return { host, kinds };
}

function resolveKind(name: string, kind: LabFile['kinds'][string], host: HostConfig, engines: EngineConfig): KindConfig {
  const common: CommonKindConfig = {
    name,
    poolId: `${host.poolId}.${name}`,
    env: kind.env,
    readinessCommand: kind.readinessCommand,
    readinessTimeoutMs: numberOf(kind.readinessTimeoutMs),
    creationTimeoutMs: numberOf(kind.creationTimeoutMs),
    maxErrorsPerHour: numberOf(kind.maxErrorsPerHour),
    min: kind.min,
    max: kind.max ?? Math.max(kind.min, 4),
    idleTtlMs: numberOf(kind.idleTtlMs),
    maxAgeMs: kind.maxAgeMs,
    pauseIdle: kind.pauseIdle,
  };
  if (kind.backend === 'lxc') return { backend: 'lxc', ...common, base: kind.base ?? engines.lxcBase };
  return {
    backend: 'docker',
    ...common,
    image: kind.image ?? engines.dockerImage,
    command: kind.command,
    labels: kind.labels,
    memoryBytes: kind.memoryBytes,
    cpus: kind.cpus,
    network: kind.network,
  };
}

/** JSON has no infinity, so the file spells it "Infinity". */
function numberOf(value: number | 'Infinity'): number {
  return value === 'Infinity' ? Infinity : value;
}

function crossCheck(config: LabConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  let minSum = 0;
  for (const [name, kind] of config.kinds) {
    minSum += kind.min;
    if (kind.min > kind.max) {
      issues.push({ path: formatPath(['kinds', name, 'min']), message: `expected at most max (${kind.max}), got ${kind.min}` });
    }
    try {
      validatePoolId(kind.poolId);
    } catch {
      issues.push({
        path: formatPath(['kinds', name]),
        message:
          `the kind's pool id ${JSON.stringify(kind.poolId)} (host.poolId, ".", the kind's name) has ${kind.poolId.length} ` +
          'characters, more than the 32 a pool id may have: shorten host.poolId or the kind\'s name',
      });
    }
  }
  if (minSum > config.host.maxContainers) {
    const mins = [...config.kinds.values()].map((kind) => `${kind.name} ${kind.min}`).join(', ');
    issues.push({
      path: 'kinds',
      message: `expected the kinds' min to add up to at most host.maxContainers (${config.host.maxContainers}), got ${minSum} (${mins})`,
    });
  }
  return issues;
}

/** Turns one zod issue into lines that say where, what was expected and what was given. */
function describeIssue(issue: z.core.$ZodIssue, file: unknown): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: unknownKeyMessage(issue.path, key, file) }));
  }
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_key') {
    // A bad name (a kind's, an env variable's, a label's): the value given is the key itself.
    const expected = issue.issues[0]?.message ?? issue.message;
    return [{ path, message: `expected ${expected}, got ${JSON.stringify(issue.path.at(-1))}` }];
  }
  const given = valueAt(file, issue.path);
  return [{ path, message: given.found ? `expected ${issue.message}, got ${showValue(given.value)}` : `missing; expected ${issue.message}` }];
}

const dockerKeys = Object.keys(dockerKindSchema.shape);
const lxcKeys = Object.keys(lxcKindSchema.shape);

function unknownKeyMessage(objectPath: readonly PropertyKey[], key: string, file: unknown): string {
  if (objectPath.length === 0) return `unknown key; the keys here are ${Object.keys(labFileSchema.shape).join(', ')}`;
  if (objectPath.length === 1 && objectPath[0] === 'host') return `unknown key; the keys of host are ${Object.keys(hostSchema.shape).join(', ')}`;
  const backend = valueAt(file, [...objectPath, 'backend']).value;
  if (backend === 'lxc' && dockerKeys.includes(key)) return 'a docker-only key, not allowed on an lxc kind';
  if (backend === 'docker' && lxcKeys.includes(key)) return 'an lxc-only key, not allowed on a docker kind';
  return `unknown key; the keys of ${backend === 'lxc' ? 'an lxc' : 'a docker'} kind are ${(backend === 'lxc' ? lxcKeys : dockerKeys).join(', ')}`;
}

/** `kinds.py311.max`, `kinds.py311.command[2]`, `kinds.py311.labels["com.example.team"]`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z0-9_$-]+$/.test(name)) return index === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value };
}

/** The value as JSON, cut short so a long array or object does not drown the message. */
function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
