import test from 'ava';
import { LxcContainer, LxcFactory, openLxcContainer, reapLxcOrphans } from '../../lib/backends/lxc/index.js';
import { lxcAttachArgs } from '../../lib/backends/lxc/lxc-attach.js';
import { lxcCommandError } from '../../lib/backends/lxc/lxc-commands.js';
import { BackendError, InvalidOptionError } from '../../lib/errors.js';

const valid = { lxcpath: '/var/lib/warmpool-lxc', base: 'base-busybox', poolId: 'unit' } as const;

const badOptions: ReadonlyArray<[option: string, value: unknown]> = [
  ['lxcpath', 'relative/path'],
  ['lxcpath', ''],
  ['lxcpath', 42],
  ['lxcpath', undefined],
  ['base', '; rm -rf /'],
  ['base', '../x'],
  ['base', 'two words'],
  ['base', undefined],
  ['poolId', 'Upper'],
  ['poolId', 'has space'],
  ['poolId', '-leading'],
  ['poolId', 'a'.repeat(39)],
  ['snapshot', 'yes'],
  ['readinessCommand', []],
  ['readinessCommand', 'true'],
  ['readinessCommand', ['/bin/true', 3]],
  ['readinessTimeoutMs', 0],
  ['readinessTimeoutMs', -1],
  ['readinessTimeoutMs', Number.NaN],
  ['readinessTimeoutMs', '30s'],
  ['readinessTimeoutMs', 2 ** 31],
  ['readinessIntervalMs', -1],
  ['readinessIntervalMs', Infinity],
  ['readinessIntervalMs', Number.NaN],
  ['startTimeoutMs', 0],
  ['startTimeoutMs', Infinity],
  ['env', 'FOO=bar'],
  ['env.BAD-NAME', 'x'],
  ['env.FOO', 3],
  ['readinesCommand', ['/bin/true']],
  ['agent', 'yes'],
];

for (const [option, value] of badOptions) {
  test(`LxcFactory refuses ${option} = ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? 'undefined')}`, (t) => {
    const options: Record<string, unknown> = { ...valid };
    if (option.startsWith('env.')) options['env'] = { [option.slice(4)]: value };
    else options[option] = value;
    const error = t.throws(() => new LxcFactory(options as never), { instanceOf: InvalidOptionError });
    t.is(error?.option, option);
    t.is(error?.code, 'ERR_WARMPOOL_INVALID_OPTION');
  });
}

test('LxcFactory refuses a missing options object', (t) => {
  t.is(t.throws(() => new LxcFactory(undefined as never), { instanceOf: InvalidOptionError })?.option, 'options');
});

test('LxcFactory fills in defaults', (t) => {
  const factory = new LxcFactory({ ...valid, readinessCommand: ['/bin/true'], env: { A: 'b' } });
  t.deepEqual(factory.options, {
    ...valid,
    snapshot: true,
    readinessCommand: ['/bin/true'],
    readinessTimeoutMs: 30_000,
    readinessIntervalMs: 100,
    startTimeoutMs: 30_000,
    env: { A: 'b' },
    agent: true,
  });
});

test('LxcFactory needs no poolId for a quick pool: it defaults to "default"', (t) => {
  const factory = new LxcFactory({ lxcpath: valid.lxcpath, base: valid.base });
  t.is(factory.options.poolId, 'default');
});

test('LxcFactory takes a readiness deadline, or none (Infinity)', (t) => {
  t.is(new LxcFactory({ ...valid, readinessTimeoutMs: 1_500 }).options.readinessTimeoutMs, 1_500);
  t.is(new LxcFactory({ ...valid, readinessTimeoutMs: Infinity }).options.readinessTimeoutMs, Infinity);
});

test('lxc-attach arguments keep argv as separate words and clear the environment', (t) => {
  const args = lxcAttachArgs({
    lxcpath: '/p',
    name: 'c1',
    argv: ['echo', 'a b', '$(rm -rf /)', ';'],
    env: { FOO: 'x=y z' },
  });
  t.deepEqual(args, ['-P', '/p', '-n', 'c1', '--clear-env', '-v', 'FOO=x=y z', '--', 'echo', 'a b', '$(rm -rf /)', ';']);
});

test('lxc-attach arguments with cwd pass the directory and argv as positional parameters of a fixed script', (t) => {
  const args = lxcAttachArgs({ lxcpath: '/p', name: 'c1', argv: ['ls', '-l'], env: {}, cwd: '/tmp/a dir' });
  t.deepEqual(args, [
    '-P', '/p', '-n', 'c1', '--clear-env', '--',
    '/bin/sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', '/tmp/a dir', 'ls', '-l',
  ]);
});

test('a failed LXC command becomes a BackendError naming command, exit code and stderr', (t) => {
  const cause = { exitCode: 1, stderr: 'lxc-copy: base: Container is not defined\n', isCanceled: false };
  const error = lxcCommandError('lxc-copy', ['-P', '/p', '-n', 'base', '-N', 'c1'], cause);
  t.true(error instanceof BackendError);
  t.is(error.message, 'lxc-copy -P /p -n base -N c1 exited with code 1: lxc-copy: base: Container is not defined');
  t.is(error.cause, cause);
});

test('a container refuses bad names, paths and exec options before running anything', async (t) => {
  t.throws(() => new LxcContainer('/p', '../etc'), { instanceOf: InvalidOptionError });
  t.throws(() => new LxcContainer('p', 'c1'), { instanceOf: InvalidOptionError });
  const container = new LxcContainer('/nonexistent-lxcpath', 'c1');
  t.deepEqual(container.describe(), { backend: 'lxc', id: 'c1', name: 'c1', lxcpath: '/nonexistent-lxcpath' });
  const cases: ReadonlyArray<[string, () => Promise<unknown>]> = [
    ['argv', () => container.exec([])],
    ['argv', () => container.exec('ls' as never)],
    ['cwd', () => container.exec(['ls'], { cwd: 'tmp' })],
    ['timeoutMs', () => container.exec(['ls'], { timeoutMs: 0 })],
    ['signal', () => container.exec(['ls'], { signal: 'x' as never })],
    ['env.A B', () => container.exec(['ls'], { env: { 'A B': 'x' } })],
    ['path', () => container.writeFile('relative', 'x')],
    ['data', () => container.writeFile('/tmp/x', 3 as never)],
    ['path', () => container.readFile('relative')],
  ];
  for (const [option, run] of cases) {
    const error = await t.throwsAsync(run, { instanceOf: InvalidOptionError });
    t.is(error?.option, option);
  }
});

test('exec with an already aborted signal rejects with its reason', async (t) => {
  const container = new LxcContainer('/nonexistent-lxcpath', 'c1');
  const reason = new Error('stop');
  await t.throwsAsync(container.exec(['ls'], { signal: AbortSignal.abort(reason) }), { is: reason });
});

test('openLxcContainer accepts only LXC descriptors', (t) => {
  const container = openLxcContainer({ backend: 'lxc', id: 'c1', name: 'c1', lxcpath: '/p' });
  t.is(container.lxcpath, '/p');
  t.throws(() => openLxcContainer({ backend: 'docker', id: 'c1', name: 'c1' }), { instanceOf: InvalidOptionError });
  t.throws(() => openLxcContainer({ backend: 'lxc', id: 'c1', name: 'c1' }), { instanceOf: InvalidOptionError });
  t.throws(() => openLxcContainer({ backend: 'lxc', id: 'c2', name: 'c1', lxcpath: '/p' }), {
    instanceOf: InvalidOptionError,
  });
});

test('reapLxcOrphans validates its options', async (t) => {
  await t.throwsAsync(reapLxcOrphans({ lxcpath: 'rel', poolId: 'unit' }), { instanceOf: InvalidOptionError });
  await t.throwsAsync(reapLxcOrphans({ lxcpath: '/p', poolId: 'Bad Id' }), { instanceOf: InvalidOptionError });
  await t.throwsAsync(reapLxcOrphans({ lxcpath: '/p', poolId: 'unit', force: 'yes' as never }), {
    instanceOf: InvalidOptionError,
  });
});
