import { UsageError } from '../usage-error.js';
import { checkPrefix, defaultLabPrefix } from './lab-keys.js';
import { resolveRedisUrl, type LabRedis } from './redis-url.js';

/** The flags every lab command has, for parseFlags. */
export const labFlags = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
} as const;

export const labFlagsHelp = `  --redis URL          The lab's Redis, redis://:PASSWORD@HOST:PORT[/DB] (default: $WARMPOOL_REDIS_URL, else the
                       one recorded in .engines/engines.env). Prefer the environment: a command line is
                       readable by every user of the host. The password is never printed or logged
  --prefix P           The lab's namespace in Redis; labs sharing one Redis use different ones
                       (default: ${defaultLabPrefix})`;

export interface LabTarget {
  readonly redis: LabRedis;
  readonly prefix: string;
}

/**
 * The Redis and prefix the flags name. A URL given on the command line is hidden from `ps` at once (the process
 * title replaces the arguments), as far as the platform allows.
 */
export function labTarget(flags: { readonly redis?: string | undefined; readonly prefix?: string | undefined }, command: string): LabTarget {
  if (flags.redis !== undefined) process.title = `warmpool ${command}`;
  return { redis: resolveRedisUrl(flags.redis), prefix: checkPrefix(flags.prefix ?? defaultLabPrefix) };
}

/** A whole number of milliseconds from `min` up, or the default when the flag is absent. */
export function millisecondsFlag(flag: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) < min) throw new UsageError(`--${flag} must be a whole number of milliseconds from ${min} up, got ${JSON.stringify(text)}`);
  return Number(text);
}
