import { join } from 'node:path';
import test from 'ava';
import { countRedisCommands, scriptName } from '../../harness/bench/lab-redis-commands.js';
import { benchLabPrefix, labBenchRedisUrl, redisCpuMsOf } from '../../harness/bench/lab-redis.js';
import { RedisUnavailableError } from '../../harness/lab/lab-errors.js';
import { checkPrefix } from '../../harness/lab/lab-keys.js';

interface SentCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}

/** A stand-in for ioredis's Redis class: each client records what it was asked to send, in order. */
function fakeClientClass() {
  const sent: string[] = [];
  class FakeClient {
    scriptsSet?: Record<string, { sha: string }>;

    sendCommand(command: SentCommand, stream?: unknown): string {
      void stream;
      sent.push(command.name);
      return 'OK';
    }
  }
  return { FakeClient, sent };
}

test('every command is counted and still sent; a pipeline is one round trip; stop() restores the original', (t) => {
  const { FakeClient, sent } = fakeClientClass();
  const original: unknown = Reflect.get(FakeClient.prototype, 'sendCommand');
  const counting = countRedisCommands(FakeClient.prototype);
  const client = new FakeClient();
  t.is(client.sendCommand({ name: 'get', args: ['k'] }), 'OK');
  client.sendCommand({ name: 'get', args: ['k'] });
  const pipeline = { isPipeline: true };
  for (const name of ['multi', 'hset', 'exec']) client.sendCommand({ name, args: [] }, pipeline);
  // A stream that is not a pipeline's (a plain write target) does not group commands.
  client.sendCommand({ name: 'ping', args: [] }, {});
  const tally = counting.stop();
  t.deepEqual(sent, ['get', 'get', 'multi', 'hset', 'exec', 'ping']);
  t.is(tally.commands, 6);
  t.is(tally.roundTrips, 4);
  t.deepEqual([...tally.byName], [
    ['get', 2],
    ['pipeline', 1],
    ['ping', 1],
  ]);
  const restored: unknown = Reflect.get(FakeClient.prototype, 'sendCommand');
  t.is(restored, original);
  client.sendCommand({ name: 'get', args: [] });
  t.is(tally.commands, 6, 'nothing is counted once stopped');
  t.is(sent.length, 7);
});

test("a script call is counted under the name its client defined it with, without BullMQ's key count and version", (t) => {
  const { FakeClient } = fakeClientClass();
  const counting = countRedisCommands(FakeClient.prototype);
  const client = new FakeClient();
  client.scriptsSet = { 'moveToFinished-14:6.7.0': { sha: 'aaa' }, 'updateProgress-3:6.7.0': { sha: 'bbb' } };
  client.sendCommand({ name: 'evalsha', args: ['aaa', 14] });
  client.sendCommand({ name: 'evalsha', args: ['bbb', 3] });
  client.sendCommand({ name: 'evalsha', args: ['aaa', 14] });
  // A script this client did not define keeps the command's name.
  client.sendCommand({ name: 'evalsha', args: ['ccc', 1] });
  t.deepEqual([...counting.stop().byName], [
    ['moveToFinished', 2],
    ['updateProgress', 1],
    ['evalsha', 1],
  ]);
});

test('script names lose the key count and the version, and nothing else', (t) => {
  t.is(scriptName('moveToFinished-14:6.7.0'), 'moveToFinished');
  t.is(scriptName('addStandardJob-9'), 'addStandardJob');
  t.is(scriptName('pause'), 'pause');
});

test("Redis's CPU is user + system from INFO cpu, in milliseconds", (t) => {
  const info = '# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.000000\r\nused_cpu_user_children:9.000000\r\n';
  t.is(redisCpuMsOf(info), 3_750);
  t.throws(() => redisCpuMsOf('# CPU\r\nused_cpu_sys:1.0\r\n'), { instanceOf: RangeError, message: /used_cpu_user/ });
});

test('a fresh prefix per run is a valid lab prefix, and two runs do not share one', (t) => {
  const prefix = benchLabPrefix(4242, Buffer.from([1, 2, 3]));
  t.is(prefix, 'warmpool-bench-4242-010203');
  t.is(checkPrefix(prefix), prefix);
  t.not(benchLabPrefix(), benchLabPrefix());
});

test('the Redis URL comes from the environment, or the engines file; none is a clear RedisUnavailableError without a password', (t) => {
  const noFile = join('/nonexistent', 'engines.env');
  t.is(labBenchRedisUrl({ WARMPOOL_ENGINES_ENV: noFile, WARMPOOL_REDIS_URL: 'redis://:s3cret@127.0.0.1:6400' }), 'redis://:s3cret@127.0.0.1:6400');
  const error = t.throws(() => labBenchRedisUrl({ WARMPOOL_ENGINES_ENV: noFile }), { instanceOf: RedisUnavailableError });
  t.is(error?.code, 'ERR_WARMPOOL_REDIS_UNAVAILABLE');
  t.regex(error?.message ?? '', /lab part needs a Redis.*WARMPOOL_REDIS_URL.*npm run engines/);
  const bad = t.throws(() => labBenchRedisUrl({ WARMPOOL_ENGINES_ENV: noFile, WARMPOOL_REDIS_URL: 'http://:s3cret@127.0.0.1:6400' }));
  t.notRegex(bad?.message ?? '', /s3cret/);
});
