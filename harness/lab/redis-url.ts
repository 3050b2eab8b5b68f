import type { RedisOptions } from 'bullmq';
import { redactText } from '../../lib/redact.js';
import { loadEngineConfig } from '../engine-config.js';
import { UsageError } from '../usage-error.js';

/**
 * The lab's Redis: where its URL comes from, what it looks like, and how every connection to it behaves. The URL
 * carries the password (`redis://:PASSWORD@host:port`), so it is only ever shown through `redactedUrl`.
 */

/** Where the URL came from, for messages (never the URL itself). */
export type RedisUrlSource = '--redis' | 'WARMPOOL_REDIS_URL' | '.engines/engines.env';

export interface LabRedis {
  readonly url: string;
  readonly source: RedisUrlSource;
}

/**
 * `--redis` if given, else WARMPOOL_REDIS_URL, else the one the fixtures recorded in `.engines/engines.env`.
 * The environment is the better place: a command line is readable by every user of the host (`ps`).
 * @throws UsageError when there is none or it is not a redis:// URL (the message never holds the password)
 */
export function resolveRedisUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LabRedis {
  if (flag !== undefined) return { url: checkRedisUrl(flag, '--redis'), source: '--redis' };
  const fromEnv = env['WARMPOOL_REDIS_URL'];
  if (fromEnv !== undefined && fromEnv !== '') return { url: checkRedisUrl(fromEnv, 'WARMPOOL_REDIS_URL'), source: 'WARMPOOL_REDIS_URL' };
  const recorded = loadEngineConfig({ env: { ...env, WARMPOOL_REDIS_URL: undefined } }).redisUrl;
  if (recorded !== undefined) return { url: checkRedisUrl(recorded, '.engines/engines.env'), source: '.engines/engines.env' };
  throw new UsageError('no Redis given: pass --redis URL or set WARMPOOL_REDIS_URL (redis://:PASSWORD@HOST:PORT)');
}

/** The URL with its password replaced, fit for any log line or message. */
export function redactedUrl(url: string): string {
  return redactText(url);
}

/** Checks the URL's shape; the error names where it came from and shows it redacted. */
export function checkRedisUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not shown at all: a value that does not parse as a URL cannot be told apart from its password.
    throw new UsageError(`${source} must be a redis:// URL like redis://:PASSWORD@127.0.0.1:6379; what was given does not parse as a URL (not shown: it may hold a password)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`${source} must be a redis:// (or rediss://) URL, got one of scheme ${JSON.stringify(parsed.protocol)}`);
  }
  if (parsed.hostname === '') throw new UsageError(`${source} names no host: ${JSON.stringify(redactedUrl(url))}`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^[0-9]+$/.test(db)) throw new UsageError(`${source}: the path must be a database number, got ${JSON.stringify(db)}`);
  return url;
}

/** How often a lost connection is retried: quickly at first, then every 2 s, for ever (a Redis restart takes seconds). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2_000);
}

/**
 * Connection options for BullMQ from the URL. `maxRetriesPerRequest: null`: a command waits through a reconnect
 * instead of failing after 20 tries (BullMQ requires it for workers; submitters want it too, so a Redis restart
 * under a running suite is waited out, not reported as an error). `retryStrategy` never gives up.
 */
export function connectionOptions(url: string, name: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelayMs,
  };
}
