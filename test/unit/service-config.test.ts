import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../../lib/errors.js';
import { UsageError } from '../../harness/cli/command.js';
import { parseServeArgs } from '../../harness/service/service-config.js';

const env = { XDG_RUNTIME_DIR: '/run/user/0' };

async function withConfigFile(t: ExecutionContext, content: string, body: (path: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-cfg-'));
  const path = join(dir, 'serve.json');
  await writeFile(path, content);
  try {
    body(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  t.pass();
}

const rejectsFlag = test.macro({
  exec(t, args: string[], option: string) {
    const error = t.throws(() => parseServeArgs(args, env), { instanceOf: InvalidOptionError });
    t.is(error?.option, option);
  },
  title: (given, args: string[]) => given ?? `refuses ${args.join(' ')}`,
});

test('defaults', (t) => {
  t.deepEqual(parseServeArgs([], env), {
    backend: 'docker',
    size: 5,
    workers: 5,
    creationTimeoutMs: 600_000,
    maxErrorsPerHour: 200,
    poolId: 'default',
    socket: '/run/user/0/warmpool/default.sock',
    metricsPort: undefined,
    logLevel: 'info',
    maxConnections: 1000,
    maxWaitingGets: 1000,
    maxUnreadBytes: 4 * 1024 * 1024,
    lineTimeoutMs: 30_000,
    maxLineBytes: 65_536,
    shutdownTimeoutMs: 30_000,
  });
});

test('flags', (t) => {
  const config = parseServeArgs(
    ['--backend', 'lxc', '--size', '3', '--workers', '2', '--creation-timeout-ms', '5000', '--max-errors-per-hour', 'Infinity',
      '--pool-id', 'lab-a', '--metrics-port', '0', '--log-level', 'warn', '--lxc-path', '/var/lib/lxc', '--lxc-base', 'base'],
    env,
  );
  t.like(config, {
    backend: 'lxc',
    size: 3,
    workers: 2,
    creationTimeoutMs: 5000,
    maxErrorsPerHour: Infinity,
    poolId: 'lab-a',
    socket: '/run/user/0/warmpool/lab-a.sock',
    metricsPort: 0,
    logLevel: 'warn',
    lxcPath: '/var/lib/lxc',
    lxcBase: 'base',
  });
});

test('flags override the config file, which overrides the defaults', async (t) => {
  const file = JSON.stringify({ size: 7, workers: 3, poolId: 'from-file', socket: '/tmp/x.sock', readinessCommand: ['/bin/true'], maxErrorsPerHour: 'Infinity' });
  await withConfigFile(t, file, (path) => {
    const config = parseServeArgs(['--config', path, '--size', '2'], env);
    t.like(config, { size: 2, workers: 3, poolId: 'from-file', socket: '/tmp/x.sock', maxErrorsPerHour: Infinity });
    t.deepEqual(config.readinessCommand, ['/bin/true']);
  });
});

test('a bad value in the config file is reported with the file and key', async (t) => {
  await withConfigFile(t, JSON.stringify({ size: 0 }), (path) => {
    const error = t.throws(() => parseServeArgs(['--config', path], env), { instanceOf: InvalidOptionError });
    t.is(error?.option, `size in ${path}`);
  });
  await withConfigFile(t, JSON.stringify({ size: '3' }), (path) => {
    t.throws(() => parseServeArgs(['--config', path], env), { instanceOf: InvalidOptionError });
  });
  await withConfigFile(t, JSON.stringify({ readinessCommand: 'true' }), (path) => {
    t.throws(() => parseServeArgs(['--config', path], env), { instanceOf: InvalidOptionError });
  });
});

test('config files that are unreadable, not JSON, not an object or with unknown keys are usage errors', async (t) => {
  t.throws(() => parseServeArgs(['--config', '/nonexistent/serve.json'], env), { instanceOf: UsageError, message: /Cannot read/ });
  await withConfigFile(t, '{"size": 3,', (path) => {
    t.throws(() => parseServeArgs(['--config', path], env), { instanceOf: UsageError, message: /not valid JSON/ });
  });
  await withConfigFile(t, '[1]', (path) => {
    t.throws(() => parseServeArgs(['--config', path], env), { instanceOf: UsageError, message: /JSON object/ });
  });
  await withConfigFile(t, '{"sise": 3}', (path) => {
    t.throws(() => parseServeArgs(['--config', path], env), { instanceOf: UsageError, message: /unknown key "sise"/ });
  });
});

test('unknown flags, missing values and positionals are usage errors', (t) => {
  t.throws(() => parseServeArgs(['--sise', '3'], env), { instanceOf: UsageError });
  t.throws(() => parseServeArgs(['--size'], env), { instanceOf: UsageError });
  t.throws(() => parseServeArgs(['extra'], env), { instanceOf: UsageError });
});

test(rejectsFlag, ['--size', '0'], '--size');
test(rejectsFlag, ['--size=-1'], '--size');
test(rejectsFlag, ['--size', '2.5'], '--size');
test(rejectsFlag, ['--size', '1e3'], '--size');
test(rejectsFlag, ['--size', 'many'], '--size');
test(rejectsFlag, ['--size', 'Infinity'], '--size');
test(rejectsFlag, ['--workers', '0'], '--workers');
test(rejectsFlag, ['--creation-timeout-ms', '0'], '--creation-timeout-ms');
test(rejectsFlag, ['--max-errors-per-hour', '0'], '--max-errors-per-hour');
test(rejectsFlag, ['--metrics-port', '65536'], '--metrics-port');
test(rejectsFlag, ['--backend', 'podman'], '--backend');
test(rejectsFlag, ['--pool-id', 'Bad Id'], '--pool-id');
test(rejectsFlag, ['--socket', 'relative.sock'], '--socket');
test(rejectsFlag, ['--log-level', 'loud'], '--log-level');
test(rejectsFlag, ['--docker-socket', 'docker.sock'], '--docker-socket');
