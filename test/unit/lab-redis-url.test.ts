import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRedisUrl, connectionOptions, reconnectDelayMs, redactedUrl, resolveRedisUrl } from '../../harness/lab/redis-url.js';
import { probeRedis } from '../../harness/lab/redis-client.js';
import { RedisUnavailableError } from '../../harness/lab/lab-errors.js';
import { UsageError } from '../../harness/usage-error.js';

const secret = 's3cr3t-pa55word';
const url = `redis://:${secret}@127.0.0.1:6390/2`;

test('a Redis URL shown anywhere has its password redacted, user and host kept', (t) => {
  t.is(redactedUrl(url), 'redis://:[redacted]@127.0.0.1:6390/2');
  t.is(redactedUrl(`rediss://lab:${secret}@redis.lab:6380`), 'rediss://lab:[redacted]@redis.lab:6380');
  t.is(redactedUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379', 'no password, nothing to hide');
});

test('a bad URL is refused with a message that never holds its password', (t) => {
  for (const bad of [`http://:${secret}@127.0.0.1:6379`, `redis://:${secret}@127.0.0.1:6379/db`, `:${secret}@nohost`]) {
    const error = t.throws(() => checkRedisUrl(bad, '--redis'), { instanceOf: UsageError });
    t.false(error?.message.includes(secret) ?? true, error?.message);
    t.regex(error?.message ?? '', /^--redis/);
  }
});

test('the URL comes from --redis, else WARMPOOL_REDIS_URL, else the engines file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-url-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const enginesEnv = join(dir, 'engines.env');
  await writeFile(enginesEnv, 'WARMPOOL_REDIS_URL=redis://:file@127.0.0.1:1111\n');
  const env = { WARMPOOL_ENGINES_ENV: enginesEnv };
  t.deepEqual(resolveRedisUrl(undefined, env), { url: 'redis://:file@127.0.0.1:1111', source: '.engines/engines.env' });
  t.deepEqual(resolveRedisUrl(undefined, { ...env, WARMPOOL_REDIS_URL: 'redis://:env@127.0.0.1:2222' }), {
    url: 'redis://:env@127.0.0.1:2222',
    source: 'WARMPOOL_REDIS_URL',
  });
  t.deepEqual(resolveRedisUrl('redis://:flag@127.0.0.1:3333', { ...env, WARMPOOL_REDIS_URL: 'redis://:env@127.0.0.1:2222' }).source, '--redis');
  t.throws(() => resolveRedisUrl(undefined, { WARMPOOL_ENGINES_ENV: join(dir, 'none.env') }), { instanceOf: UsageError, message: /no Redis given/ });
});

test('connections wait through a reconnect, retrying for ever with a bounded delay', (t) => {
  const options = connectionOptions(url, 'test');
  t.like(options, { host: '127.0.0.1', port: 6390, password: secret, db: 2, maxRetriesPerRequest: null });
  t.is(connectionOptions('redis://user:p%40ss@[::1]:7000', 'x')['password'], 'p@ss');
  t.is(connectionOptions('redis://user:p%40ss@[::1]:7000', 'x')['host'], '::1');
  const delays = [0, 1, 2, 5, 10, 1000].map(reconnectDelayMs);
  t.deepEqual(delays, [100, 200, 400, 2000, 2000, 2000]);
});

test('a Redis that does not answer fails fast, and the error names it without its password', async (t) => {
  // A port nothing listens on: 1 is reserved (tcpmux) and never bound in a test machine.
  const error = await t.throwsAsync(probeRedis(`redis://:${secret}@127.0.0.1:1`, 2_000), { instanceOf: RedisUnavailableError });
  t.regex(error?.message ?? '', /redis:\/\/:\[redacted\]@127\.0\.0\.1:1 does not answer/);
  t.false(error?.message.includes(secret) ?? true);
});
