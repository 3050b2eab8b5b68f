import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loadEngineConfig } from '../engine-config.js';
import { RedisUnavailableError } from '../lab/lab-errors.js';
import { checkRedisUrl } from '../lab/redis-url.js';

/**
 * The lab part's Redis: the one the engines setup recorded (fixtures/engines/ensure-redis.sh writes its URL to
 * .engines/engines.env), or WARMPOOL_REDIS_URL; its CPU counters; and its keys, removed after the part.
 * @throws RedisUnavailableError when none is configured (the message never holds a password)
 */
export function labBenchRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = loadEngineConfig({ env }).redisUrl;
  if (url === undefined) {
    throw new RedisUnavailableError(
      'the lab part needs a Redis and none is configured: set WARMPOOL_REDIS_URL (redis://:PASSWORD@HOST:PORT), or run `npm run engines`, which starts a private one and records it in .engines/engines.env',
    );
  }
  return checkRedisUrl(url, 'WARMPOOL_REDIS_URL');
}

/** A BullMQ prefix no other lab uses: one per run of the part, its keys removed afterwards. */
export function benchLabPrefix(pid = process.pid, random: Buffer = randomBytes(3)): string {
  return `warmpool-bench-${pid}-${random.toString('hex')}`;
}

/** Redis's own CPU (user + system, all its threads) in milliseconds, from the text of INFO cpu. */
export function redisCpuMsOf(info: string): number {
  const field = (name: string): number => {
    const value = Number(new RegExp(`^${name}:([0-9.]+)\\s*$`, 'm').exec(info)?.[1]);
    if (!Number.isFinite(value)) throw new RangeError(`INFO cpu has no ${name}`);
    return value;
  };
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

export async function redisCpuMs(redis: Redis): Promise<number> {
  return redisCpuMsOf(await redis.info('cpu'));
}

/** One PING's round trip, `count` times in a row: the least any dispatch through Redis can cost. */
export async function pingRoundTripsMs(redis: Redis, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const start = performance.now();
    await redis.ping();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Removes every key under `prefix` (`<prefix>:…`, BullMQ's and the host registry's); resolves with how many. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
