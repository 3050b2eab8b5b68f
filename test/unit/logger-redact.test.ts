import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../../lib/logger.js';
import { isSecretKey, redacted, redactText, redactValue } from '../../lib/redact.js';
import { BackendError } from '../../lib/errors.js';

const secrets = ['hunter2', 's3cr3t-token', 'AKIA-key-value', 'p@ss/word', 'env-secret-value'];

test('URL passwords are redacted, the rest of the URL kept', (t) => {
  t.is(redactText('redis://:hunter2@cache:6379/0'), `redis://:${redacted}@cache:6379/0`);
  t.is(redactText('connect to amqp://lab:hunter2@mq.local/vhost failed'), `connect to amqp://lab:${redacted}@mq.local/vhost failed`);
  t.is(redactText('http://docker:2375/v1.41/info'), 'http://docker:2375/v1.41/info', 'a port is not a password');
  t.is(redactText('unix:///var/run/docker.sock'), 'unix:///var/run/docker.sock');
});

test('secret assignments in free text are redacted', (t) => {
  t.is(redactText('REDIS_PASSWORD=hunter2 WARMPOOL_LOG_LEVEL=info'), `REDIS_PASSWORD=${redacted} WARMPOOL_LOG_LEVEL=info`);
  t.is(redactText('GET /x?token=s3cr3t-token&size=3'), `GET /x?token=${redacted}&size=3`);
  t.is(redactText('{"apiKey": "AKIA-key-value", "size": 3}'), `{"apiKey": "${redacted}", "size": 3}`);
  t.is(redactText('3 passed, 1 failed'), '3 passed, 1 failed');
});

test('secret keys are recognised in any spelling; ordinary keys are not', (t) => {
  for (const key of ['password', 'redisPassword', 'REDIS_PASSWORD', 'secret', 'clientSecret', 'token', 'accessToken', 'apiKey', 'api_key', 'authorization', 'passwd']) {
    t.true(isSecretKey(key), key);
  }
  for (const key of ['passed', 'pool', 'container', 'PWD', 'path', 'size', 'socket', 'backend']) t.false(isSecretKey(key), key);
});

test('redactValue copies: plain objects key by key, arrays, nested; the original is untouched', (t) => {
  const config = { backend: 'docker', redis: { url: 'redis://:hunter2@cache', password: 'hunter2' }, env: { API_TOKEN: 's3cr3t-token', PATH: '/bin' }, list: ['token=s3cr3t-token'] };
  const copy = redactValue(config);
  t.deepEqual(copy, {
    backend: 'docker',
    redis: { url: `redis://:${redacted}@cache`, password: redacted },
    env: { API_TOKEN: redacted, PATH: '/bin' },
    list: [`token=${redacted}`],
  });
  t.is(config.redis.password, 'hunter2', 'the original keeps its value');
});

test('errors stay errors of their class with code and cause, their text redacted', (t) => {
  const cause = new Error('AUTH failed for redis://:hunter2@cache');
  const error = new BackendError('cannot reach redis://:hunter2@cache', { cause });
  const copy = redactValue(error) as BackendError;
  t.true(copy instanceof BackendError);
  t.is(copy.code, error.code);
  t.is(copy.message, `cannot reach redis://:${redacted}@cache`);
  t.false(copy.stack?.includes('hunter2'));
  t.is((copy.cause as Error).message, `AUTH failed for redis://:${redacted}@cache`);
  t.true(error.message.includes('hunter2'), 'the original error is untouched');
});

test('cycles and depth do not hang or throw', (t) => {
  const loop: Record<string, unknown> = { name: 'a' };
  loop['self'] = loop;
  t.deepEqual(redactValue(loop), { name: 'a', self: '[circular]' });
  let deep: Record<string, unknown> = { password: 'hunter2' };
  for (let level = 0; level < 20; level++) deep = { next: deep };
  t.false(JSON.stringify(redactValue(deep)).includes('hunter2'));
});

test('no secret reaches a log line, in text or JSON, whatever form it is logged in', (t) => {
  for (const format of ['text', 'json'] as const) {
    let output = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output += chunk.toString('utf8');
        callback();
      },
    });
    const log = createLogger({ env: {}, level: 'debug', format, stream, context: { pool: 'lab', redisUrl: 'redis://:hunter2@cache' } });
    log.info('config', { redis: { password: 'hunter2' }, token: 's3cr3t-token', env: { AWS_SECRET: 'env-secret-value' } });
    log.warn('connecting to redis://:hunter2@cache with REDIS_PASSWORD=hunter2');
    log.error('request failed', new BackendError('GET /v1?api_key=AKIA-key-value failed', { cause: new Error('AUTH rejected: password=p@ss/word') }));
    log.debug(['token=s3cr3t-token']);
    t.is(output.trim().split('\n').filter((line) => !line.startsWith('    ')).length, 4, format);
    for (const secret of secrets) t.false(output.includes(secret), `${format}: ${secret} leaked in ${output}`);
    t.true(output.includes(redacted), format);
    t.regex(output, /AUTH rejected/, `${format}: the cause is logged`);
  }
});
