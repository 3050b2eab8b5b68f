import { readFileSync } from 'node:fs';
import { InvalidOptionError, errorMessage } from '../../lib/errors.js';
import { isLogLevel, logLevels, type LogLevel } from '../../lib/logger.js';
import { validatePoolId } from '../../lib/backends/owner.js';
import { backendNames, isBackendName, type BackendName } from '../backend.js';
import { UsageError } from '../usage-error.js';
import { parseFlags, parseIntegerFlag, validateInteger, type NumberFlagRules } from './cli-flags.js';
import { defaultServiceLimits } from './service-limits.js';
import { defaultSocketPath, validateSocketPath } from './socket-file.js';

/** Everything `warmpool serve` runs with, validated. */
export interface ServiceConfig {
  readonly backend: BackendName;
  readonly size: number;
  readonly workers: number;
  readonly creationTimeoutMs: number;
  readonly maxErrorsPerHour: number;
  readonly poolId: string;
  readonly socket: string;
  /** Serve Prometheus metrics on 127.0.0.1 at this port (0: any free port). Off when undefined. */
  readonly metricsPort: number | undefined;
  readonly logLevel: LogLevel;
  /** Backend settings; undefined ones come from the engine fixtures' defaults (`resolveBackendSettings`). */
  readonly dockerSocket?: string;
  readonly dockerImage?: string;
  readonly lxcPath?: string;
  readonly lxcBase?: string;
  readonly readinessCommand?: readonly string[];
  /** Give up on a container whose readiness command has not succeeded after this long (the backend's default if unset). */
  readonly readinessTimeoutMs?: number;
  /** Limits (see harness/service/service-limits.ts). */
  readonly maxConnections: number;
  readonly maxWaitingGets: number;
  readonly maxUnreadBytes: number;
  readonly lineTimeoutMs: number;
  readonly maxLineBytes: number;
  /** At shutdown, how long to wait for creations to wind down and removals to succeed. */
  readonly shutdownTimeoutMs: number;
}

export const serviceDefaults = {
  backend: 'docker',
  size: 5,
  workers: 5,
  creationTimeoutMs: 600_000,
  maxErrorsPerHour: 200,
  poolId: 'default',
  logLevel: 'info',
  maxConnections: defaultServiceLimits.maxConnections,
  maxWaitingGets: defaultServiceLimits.maxWaitingGets,
  maxUnreadBytes: defaultServiceLimits.maxUnreadBytes,
  lineTimeoutMs: defaultServiceLimits.lineTimeoutMs,
  maxLineBytes: defaultServiceLimits.maxLineBytes,
  shutdownTimeoutMs: 30_000,
} as const;

export const serveFlags = {
  backend: { type: 'string' },
  size: { type: 'string' },
  workers: { type: 'string' },
  'creation-timeout-ms': { type: 'string' },
  'max-errors-per-hour': { type: 'string' },
  'pool-id': { type: 'string' },
  socket: { type: 'string' },
  'metrics-port': { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'docker-socket': { type: 'string' },
  'docker-image': { type: 'string' },
  'lxc-path': { type: 'string' },
  'lxc-base': { type: 'string' },
  'readiness-timeout-ms': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-waiting-gets': { type: 'string' },
  'max-unread-bytes': { type: 'string' },
  'line-timeout-ms': { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'shutdown-timeout-ms': { type: 'string' },
} as const;

type ConfigKey = keyof ServiceConfig;

/** Config-file key → flag, for the keys a flag can set. */
const flagOf: Partial<Record<ConfigKey, keyof typeof serveFlags>> = {
  backend: 'backend',
  size: 'size',
  workers: 'workers',
  creationTimeoutMs: 'creation-timeout-ms',
  maxErrorsPerHour: 'max-errors-per-hour',
  poolId: 'pool-id',
  socket: 'socket',
  metricsPort: 'metrics-port',
  logLevel: 'log-level',
  dockerSocket: 'docker-socket',
  dockerImage: 'docker-image',
  lxcPath: 'lxc-path',
  lxcBase: 'lxc-base',
  readinessTimeoutMs: 'readiness-timeout-ms',
  maxConnections: 'max-connections',
  maxWaitingGets: 'max-waiting-gets',
  maxUnreadBytes: 'max-unread-bytes',
  lineTimeoutMs: 'line-timeout-ms',
  maxLineBytes: 'max-line-bytes',
  shutdownTimeoutMs: 'shutdown-timeout-ms',
};

const configKeys = new Set<string>([...Object.keys(flagOf), 'readinessCommand']);

const integerRules: Partial<Record<ConfigKey, NumberFlagRules>> = {
  size: { min: 1 },
  workers: { min: 1 },
  creationTimeoutMs: { min: 1, allowInfinity: true },
  maxErrorsPerHour: { min: 1, allowInfinity: true },
  metricsPort: { min: 0, max: 65535 },
  readinessTimeoutMs: { min: 1, allowInfinity: true },
  maxConnections: { min: 1 },
  maxWaitingGets: { min: 1 },
  maxUnreadBytes: { min: 1024 },
  lineTimeoutMs: { min: 1, allowInfinity: true },
  maxLineBytes: { min: 64 },
  shutdownTimeoutMs: { min: 0 },
};

/** A value and where it came from, so an error names the flag or the file the user must fix. */
interface Given {
  readonly value: unknown;
  readonly source: string;
}

/** Parses `warmpool serve` arguments; flags override the `--config` file, which overrides the defaults. */
export function parseServeArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const flags = parseFlags(args, serveFlags);
  const given = new Map<ConfigKey, Given>();
  if (flags.config !== undefined) {
    for (const [key, value] of Object.entries(readConfigFile(flags.config))) {
      given.set(key as ConfigKey, { value, source: `${key} in ${flags.config}` });
    }
  }
  for (const [key, flag] of Object.entries(flagOf) as [ConfigKey, keyof typeof serveFlags][]) {
    const text = flags[flag];
    if (text === undefined) continue;
    const rules = integerRules[key];
    given.set(key, { value: rules ? parseIntegerFlag(`--${flag}`, text, rules) : text, source: `--${flag}` });
  }
  return resolveServiceConfig(given, env);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the config file ${path}: ${errorMessage(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`The config file ${path} is not valid JSON: ${errorMessage(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`The config file ${path} must hold a JSON object like {"backend":"docker","size":3}`);
  }
  for (const key of Object.keys(value)) {
    if (!configKeys.has(key)) {
      throw new UsageError(`The config file ${path} has an unknown key ${JSON.stringify(key)}; known keys: ${[...configKeys].join(', ')}`);
    }
  }
  return value as Record<string, unknown>;
}

function resolveServiceConfig(given: Map<ConfigKey, Given>, env: NodeJS.ProcessEnv): ServiceConfig {
  const pick = <T>(key: ConfigKey, fallback: T, check: (value: unknown, source: string) => T): T => {
    const entry = given.get(key);
    return entry === undefined ? fallback : check(entry.value, entry.source);
  };
  const integer = (key: ConfigKey, fallback: number): number =>
    pick(key, fallback, (value, source) => validateInteger(source, value === 'Infinity' ? Infinity : value, integerRules[key] ?? { min: 0 }, value));
  const optionalString = (key: ConfigKey, check?: (value: string, source: string) => string): { [k: string]: string } => {
    const value = pick<string | undefined>(key, undefined, (raw, source) => {
      if (typeof raw !== 'string' || raw === '') throw new InvalidOptionError(source, raw, 'a non-empty string');
      return check ? check(raw, source) : raw;
    });
    return value === undefined ? {} : { [key]: value };
  };

  const backend = pick<BackendName>('backend', serviceDefaults.backend, (value, source) => {
    if (!isBackendName(value)) throw new InvalidOptionError(source, value, `one of ${backendNames.join(', ')}`);
    return value;
  });
  const poolId = pick('poolId', serviceDefaults.poolId as string, (value, source) => {
    try {
      return validatePoolId(value);
    } catch {
      throw new InvalidOptionError(source, value, 'lowercase letters, digits, `_`, `.`, `-`; 1 to 40 characters, starting with a letter or digit');
    }
  });
  const socket = pick('socket', defaultSocketPath(poolId, env), (value, source) => validateSocketPath(value, source));
  const logLevel = pick<LogLevel>('logLevel', serviceDefaults.logLevel, (value, source) => {
    if (!isLogLevel(value)) throw new InvalidOptionError(source, value, `one of ${logLevels.join(', ')}`);
    return value;
  });
  const metricsPort = pick<number | undefined>('metricsPort', undefined, (value, source) =>
    validateInteger(source, value, integerRules.metricsPort ?? { min: 0 }),
  );
  const readinessCommand = pick<readonly string[] | undefined>('readinessCommand', undefined, (value, source) => {
    if (!Array.isArray(value) || value.length === 0 || !value.every((part) => typeof part === 'string') || value[0] === '') {
      throw new InvalidOptionError(source, value, 'a non-empty array of strings, e.g. ["/bin/sh", "-c", "test -e /ready"]');
    }
    return value;
  });
  const readinessTimeoutMs = pick<number | undefined>('readinessTimeoutMs', undefined, (value, source) =>
    validateInteger(source, value === 'Infinity' ? Infinity : value, integerRules.readinessTimeoutMs ?? { min: 1 }, value),
  );
  const absolute = (value: string, source: string): string => {
    if (!value.startsWith('/')) throw new InvalidOptionError(source, value, 'an absolute path');
    return value;
  };
  return {
    backend,
    size: integer('size', serviceDefaults.size),
    workers: integer('workers', serviceDefaults.workers),
    creationTimeoutMs: integer('creationTimeoutMs', serviceDefaults.creationTimeoutMs),
    maxErrorsPerHour: integer('maxErrorsPerHour', serviceDefaults.maxErrorsPerHour),
    poolId,
    socket,
    metricsPort,
    logLevel,
    ...optionalString('dockerSocket', absolute),
    ...optionalString('dockerImage'),
    ...optionalString('lxcPath', absolute),
    ...optionalString('lxcBase'),
    ...(readinessCommand ? { readinessCommand } : {}),
    ...(readinessTimeoutMs === undefined ? {} : { readinessTimeoutMs }),
    maxConnections: integer('maxConnections', serviceDefaults.maxConnections),
    maxWaitingGets: integer('maxWaitingGets', serviceDefaults.maxWaitingGets),
    maxUnreadBytes: integer('maxUnreadBytes', serviceDefaults.maxUnreadBytes),
    lineTimeoutMs: integer('lineTimeoutMs', serviceDefaults.lineTimeoutMs),
    maxLineBytes: integer('maxLineBytes', serviceDefaults.maxLineBytes),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', serviceDefaults.shutdownTimeoutMs),
  };
}
