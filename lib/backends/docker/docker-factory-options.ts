import type Dockerode from 'dockerode';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { InvalidOptionError } from '../../errors.js';
import { defaultReadinessTimeoutMs } from '../readiness.js';
import { defaultPoolId, validatePoolId } from '../owner.js';
import { agentCommand } from './docker-agent.js';
import { reservedLabelPrefix } from './docker-labels.js';
import { resolveDockerEngine } from './docker-engine.js';
import type { DockerEngine } from './docker-engine.js';

export interface DockerFactoryOptions {
  /**
   * The engine: a dockerode instance or the path of its unix socket.
   * @default `DOCKER_HOST` (unix:// only), else /var/run/docker.sock
   */
  readonly docker?: DockerEngine;
  /**
   * Names the pool on the engine: it goes into container names and the `warmpool.pool` label that reaping uses.
   * Lowercase letters, digits, `_`, `.`, `-`; 1 to 32 characters, starting with a letter or digit.
   * @example 'lab-a'
   * @default 'default'
   */
  readonly poolId?: string;
  /**
   * The image every container runs. Checked once before the first creation and pulled once if missing.
   * @example 'warmpool/busybox:latest'
   */
  readonly image: string;
  /**
   * The container's main process, which keeps it alive until it is removed. The default is warmpool's agent
   * (docker-agent.ts: a few lines of /bin/sh waiting on stdin; it exits at once on SIGTERM), through which
   * `execFinal` starts a command without an engine exec. With a command of your own, containers have no `execFinal`.
   * @default agentCommand
   */
  readonly command?: readonly string[];
  /** Environment of the container's processes. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra labels. Keys may not start with `warmpool.`: those are the pool's own. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Memory limit in bytes; Docker's minimum is 6 MiB. @default no limit */
  readonly memoryBytes?: number;
  /** CPU limit in CPUs (0.5 is half a CPU). @default no limit */
  readonly cpus?: number;
  /**
   * Docker network mode. Keep `'none'` unless the lab really needs a network. With the agent as `command` and an
   * image that runs as root, `'none'` containers are made loopback-only (docker-loopback.ts): the same isolation
   * at about half the engine's CPU.
   * @default 'none'
   */
  readonly networkMode?: string;
  /** Networks handed out round robin, one per container; instead of `networkMode`, not with it. */
  readonly networks?: readonly string[];
  /**
   * A command run in the container until it exits 0; the container is ready then. Each run is bounded by what is
   * left of `readinessTimeoutMs`, so a command that hangs is killed at the deadline. @default none
   */
  readonly readinessCommand?: readonly string[];
  /**
   * Readiness's own deadline, separate from the pool's `creationTimeoutMs`: a container whose readiness command
   * has not exited 0 this long after the container started, or that stopped meanwhile, fails its creation with
   * ReadinessFailedError (the command, how long it ran, its last exit code and output).
   * @default 30_000; Infinity for none (then only the creation's deadline ends it)
   */
  readonly readinessTimeoutMs?: number;
  /** Pause between readiness attempts. @default 100, minimum 1 */
  readonly readinessIntervalMs?: number;
  /** Time for the readiness deadline, the watch's reconnect backoff and leftover removals. @default the system clock */
  readonly clock?: Clock;
}

export interface ResolvedDockerFactoryOptions {
  readonly docker: Dockerode;
  readonly poolId: string;
  readonly image: string;
  readonly command: readonly string[];
  /** The main process is the agent, which waits on stdin (the container is made with OpenStdin). */
  readonly agent: boolean;
  readonly env: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly memoryBytes: number | undefined;
  readonly nanoCpus: number | undefined;
  readonly networkModes: readonly string[];
  readonly readinessCommand: readonly string[] | undefined;
  readonly readinessTimeoutMs: number;
  readonly readinessIntervalMs: number;
  readonly clock: Clock;
}

const minimumMemoryBytes = 6 * 1024 * 1024;
const knownOptions = new Set<string>([
  'docker',
  'poolId',
  'image',
  'command',
  'env',
  'labels',
  'memoryBytes',
  'cpus',
  'networkMode',
  'networks',
  'readinessCommand',
  'readinessTimeoutMs',
  'readinessIntervalMs',
  'clock',
]);

export function resolveDockerFactoryOptions(options: DockerFactoryOptions): ResolvedDockerFactoryOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) {
      const value = (options as unknown as Record<string, unknown>)[key];
      throw new InvalidOptionError(key, value, 'not set: it is not a DockerFactory option');
    }
  }
  const poolId = validatePoolId(options.poolId ?? defaultPoolId);
  if (typeof options.image !== 'string' || options.image.trim() === '' || /\s/.test(options.image)) {
    throw new InvalidOptionError('image', options.image, 'an image reference such as `busybox:latest`');
  }
  const command = options.command ?? agentCommand;
  validateArgv('command', command);
  if (options.readinessCommand !== undefined) validateArgv('readinessCommand', options.readinessCommand);
  const env = validateStringRecord('env', options.env, (key) => /^[^=\0]+$/.test(key));
  const labels = validateStringRecord(
    'labels',
    options.labels,
    (key) => key !== '' && !key.startsWith(reservedLabelPrefix),
  );
  const { memoryBytes, cpus } = options;
  if (memoryBytes !== undefined && !(Number.isSafeInteger(memoryBytes) && memoryBytes >= minimumMemoryBytes)) {
    const expected = `an integer number of bytes from ${minimumMemoryBytes} (6 MiB) up`;
    throw new InvalidOptionError('memoryBytes', memoryBytes, expected);
  }
  if (cpus !== undefined && !(typeof cpus === 'number' && Number.isFinite(cpus) && cpus >= 0.001)) {
    throw new InvalidOptionError('cpus', cpus, 'a number of CPUs from 0.001 up');
  }
  return {
    docker: resolveDockerEngine(options.docker),
    poolId,
    image: options.image,
    command,
    agent: options.command === undefined,
    env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    labels,
    memoryBytes,
    nanoCpus: cpus === undefined ? undefined : Math.round(cpus * 1e9),
    networkModes: resolveNetworkModes(options.networkMode, options.networks),
    readinessCommand: options.readinessCommand,
    readinessTimeoutMs: validateDuration('readinessTimeoutMs', options.readinessTimeoutMs, defaultReadinessTimeoutMs, true),
    readinessIntervalMs: validateDuration('readinessIntervalMs', options.readinessIntervalMs, 100, false),
    clock: validateClock(options.clock),
  };
}

function resolveNetworkModes(networkMode: unknown, networks: unknown): string[] {
  if (networkMode !== undefined && networks !== undefined) {
    throw new InvalidOptionError('networks', networks, 'left out when `networkMode` is set (give one or the other)');
  }
  if (networks !== undefined) {
    if (!Array.isArray(networks) || networks.length === 0 || !networks.every(isNonEmptyString)) {
      throw new InvalidOptionError('networks', networks, 'a non-empty array of network names');
    }
    return [...networks];
  }
  if (networkMode === undefined) return ['none'];
  if (!isNonEmptyString(networkMode)) {
    throw new InvalidOptionError('networkMode', networkMode, 'a non-empty string such as `none`');
  }
  return [networkMode];
}

function validateArgv(option: string, argv: unknown): void {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((part) => typeof part === 'string') || argv[0] === '') {
    throw new InvalidOptionError(option, argv, 'a non-empty array of strings');
  }
}

function validateStringRecord(
  option: string,
  value: unknown,
  validKey: (key: string) => boolean,
): Record<string, string> {
  if (value === undefined) return {};
  const valid =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(([key, entry]) => validKey(key) && typeof entry === 'string');
  if (!valid) {
    const keys =
      option === 'labels' ? ` with keys not starting with \`${reservedLabelPrefix}\`` : ' with keys free of `=`';
    throw new InvalidOptionError(option, value, `an object of string values${keys}`);
  }
  return { ...(value as Record<string, string>) };
}

function validateDuration(option: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 1 || (!allowInfinity && !Number.isFinite(value))) {
    const expected = allowInfinity
      ? 'a number of milliseconds from 1 up (Infinity for no limit)'
      : 'a finite number of milliseconds from 1 up';
    throw new InvalidOptionError(option, value, expected);
  }
  return value;
}

/** The `clock` option: undefined for the system clock, or a Clock. @throws InvalidOptionError */
export function validateClock(clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  const valid =
    typeof clock === 'object' &&
    clock !== null &&
    ['now', 'setTimeout', 'clearTimeout'].every((name) => typeof (clock as Record<string, unknown>)[name] === 'function');
  if (!valid) throw new InvalidOptionError('clock', clock, 'an object with now(), setTimeout() and clearTimeout()');
  return clock as Clock;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
