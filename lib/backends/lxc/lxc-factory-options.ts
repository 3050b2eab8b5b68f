import { InvalidOptionError } from '../../errors.js';
import { validateDurationMs } from '../../pool-options.js';
import { defaultPoolId, validatePoolId } from '../owner.js';
import { defaultReadinessTimeoutMs } from '../readiness.js';
import { buildLxcName, validateLxcName } from './lxc-names.js';
import { validateAbsolutePath, validateArgv, validateEnv } from './lxc-validation.js';

export interface LxcFactoryOptions {
  /**
   * The LXC path (`lxc-* -P`) holding the base container; clones are made next to it.
   * An absolute path.
   * @example '/var/lib/warmpool/lxc'
   */
  readonly lxcpath: string;
  /**
   * The stopped container every clone is copied from. It must already exist in `lxcpath`; if it does not,
   * every creation fails at once with ImageUnavailableError.
   * @example 'base-busybox'
   */
  readonly base: string;
  /**
   * Names this pool's containers (`warmpool-<poolId>-<pid>-<suffix>`), so `reapLxcOrphans` can find them.
   * Matches /^[a-z0-9][a-z0-9_.-]{0,31}$/ (see validatePoolId).
   * @default 'default'
   */
  readonly poolId?: string;
  /**
   * Clone as an overlayfs snapshot of the base (`lxc-copy -s -B overlayfs`): fast and small, but needs
   * overlayfs. `false` makes a full copy of the base's rootfs for each container.
   * @default true
   */
  readonly snapshot?: boolean;
  /**
   * Run in the container (through lxc-attach) after it is RUNNING, and again every `readinessIntervalMs` until
   * it exits 0; only then is the container ready. Retried for at most `readinessTimeoutMs`.
   * @default none: a RUNNING container is ready
   * @example ['/bin/sh', '-c', 'test -e /run/service.ready']
   */
  readonly readinessCommand?: readonly string[];
  /**
   * How long `readinessCommand` may take to succeed, from its first try, before the creation fails with
   * ReadinessFailedError (naming the command, how long it ran and its last output). A try still running at the
   * deadline is killed. Milliseconds, above 0; `Infinity` leaves it to the pool's creation timeout.
   * @default 30_000
   */
  readonly readinessTimeoutMs?: number;
  /**
   * Pause between two tries of `readinessCommand`. Milliseconds, from 0 up.
   * @default 100
   */
  readonly readinessIntervalMs?: number;
  /**
   * How long `lxc-wait` waits for the container to reach RUNNING before the creation fails. Milliseconds,
   * above 0; rounded up to whole seconds, as lxc-wait counts in seconds.
   * @default 30_000
   */
  readonly startTimeoutMs?: number;
  /**
   * Environment variables every command run in these containers gets (readiness command and `exec`;
   * `exec`'s own `env` wins key by key). Commands otherwise start with a clean environment (`--clear-env`).
   * @default {}
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Start warmpool's agent in each container once it is ready (lxc-agent.ts: a shell waiting on a FIFO), so
   * `execFinal` runs the container's last command without an lxc-attach. A container whose agent could not
   * start (no /bin/sh or mkfifo in it) has no `execFinal` and works through `exec`.
   * @default true
   */
  readonly agent?: boolean;
}

export interface ResolvedLxcFactoryOptions {
  readonly lxcpath: string;
  readonly base: string;
  readonly poolId: string;
  readonly snapshot: boolean;
  readonly readinessCommand: readonly string[] | undefined;
  readonly readinessTimeoutMs: number;
  readonly readinessIntervalMs: number;
  readonly startTimeoutMs: number;
  readonly env: Readonly<Record<string, string>>;
  readonly agent: boolean;
}

const knownOptions = new Set([
  'lxcpath',
  'base',
  'poolId',
  'snapshot',
  'readinessCommand',
  'readinessTimeoutMs',
  'readinessIntervalMs',
  'startTimeoutMs',
  'env',
  'agent',
]);

// The largest pid Linux hands out (pid_max can be raised to 2^22), for checking the name length up front.
const largestPid = 4_194_304;

export function resolveLxcFactoryOptions(options: unknown): ResolvedLxcFactoryOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with `lxcpath` and `base`');
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) {
      throw new InvalidOptionError(key, (options as Record<string, unknown>)[key], 'a known LxcFactory option');
    }
  }
  const given = options as LxcFactoryOptions;
  const poolId = validatePoolId(given.poolId ?? defaultPoolId);
  // Fails now, naming poolId, rather than at the first creation if the names would be too long.
  buildLxcName(poolId, largestPid, '00000000');
  const {
    snapshot = true,
    readinessTimeoutMs = defaultReadinessTimeoutMs,
    readinessIntervalMs = 100,
    startTimeoutMs = 30_000,
    agent = true,
  } = given;
  if (typeof snapshot !== 'boolean') throw new InvalidOptionError('snapshot', snapshot, 'a boolean');
  if (typeof agent !== 'boolean') throw new InvalidOptionError('agent', agent, 'a boolean');
  return {
    lxcpath: validateAbsolutePath('lxcpath', given.lxcpath),
    base: validateLxcName(given.base, 'base'),
    poolId,
    snapshot,
    readinessCommand:
      given.readinessCommand === undefined ? undefined : validateArgv('readinessCommand', given.readinessCommand),
    readinessTimeoutMs: deadlineMs('readinessTimeoutMs', readinessTimeoutMs),
    readinessIntervalMs: finiteDurationMs('readinessIntervalMs', readinessIntervalMs, 0),
    startTimeoutMs: finiteDurationMs('startTimeoutMs', startTimeoutMs, Number.MIN_VALUE),
    env: validateEnv('env', given.env),
    agent,
  };
}

// Both durations feed timers (or lxc-wait's seconds), where Infinity would not mean "forever".
function finiteDurationMs(name: string, value: unknown, minimum: number): number {
  const duration = validateDurationMs(name, value, minimum);
  if (duration > maxTimerDelayMs) {
    throw new InvalidOptionError(name, value, `a number of milliseconds up to ${String(maxTimerDelayMs)}`);
  }
  return duration;
}

// A deadline may be Infinity (none); a finite one feeds a timer, like the durations above.
function deadlineMs(name: string, value: unknown): number {
  const duration = validateDurationMs(name, value, Number.MIN_VALUE);
  if (duration !== Infinity && duration > maxTimerDelayMs) {
    throw new InvalidOptionError(name, value, `a number of milliseconds above 0, up to ${String(maxTimerDelayMs)}, or Infinity`);
  }
  return duration;
}

const maxTimerDelayMs = 2_147_483_647;
