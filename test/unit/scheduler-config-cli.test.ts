import test from 'ava';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../harness/cli/command.js';
import { parseRunArguments } from '../../harness/cli/commands/run.js';
import { main } from '../../harness/cli/main.js';
import { journaledSettings, resolveRunSettings } from '../../harness/scheduler/run-settings.js';
import { stderrCapturingIo } from '../helpers/cli.js';

// `warmpool run --config lab.json`: its flags, and the refusals that happen before anything is made.

const twoKindsSuite = new URL('../../fixtures/suites/two-kinds.json', import.meta.url).pathname;

const io = stderrCapturingIo;

async function tempFile(name: string, content: unknown): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'warmpool-config-cli-')), name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const conflicts: [string, string[]][] = [
  ['--backend', ['--backend', 'lxc']],
  ['--size', ['--size', '2']],
  ['--pool-id', ['--pool-id', 'p']],
  ['--socket', ['--socket', '/s.sock']],
];
for (const [flag, args] of conflicts) {
  test(`--config refuses ${flag}, naming both`, (t) => {
    const error = t.throws(() => parseRunArguments(['s.json', '--config', 'lab.json', ...args]), { instanceOf: UsageError });
    t.is(error?.message, `${flag} cannot go with --config: the config file's kinds and host decide where containers come from`);
  });
}

test('--config is read and kept for a resume, which continues with the same file', (t) => {
  const settings = resolveRunSettings(parseRunArguments(['s.json', '--config', 'lab.json', '--concurrency', '3']));
  t.like(settings, { config: 'lab.json', socket: undefined, size: undefined, concurrency: 3 });
  const journaled = journaledSettings(settings, undefined);
  t.deepEqual(journaled, { config: resolve('lab.json'), concurrency: 3, checkoutTimeoutMs: settings.checkoutTimeoutMs });
  const resumed = resolveRunSettings(parseRunArguments(['--resume', 'o']), { suiteFile: '/abs/s.json', settings: journaled });
  t.like(resumed, { config: resolve('lab.json'), concurrency: 3, socket: undefined });
});

test('a resume given another source drops the journaled one', (t) => {
  const fromConfig = { suiteFile: '/abs/s.json', settings: { config: '/abs/lab.json', concurrency: 1, checkoutTimeoutMs: 1 } };
  t.like(resolveRunSettings(parseRunArguments(['--resume', 'o', '--backend', 'lxc']), fromConfig), { config: undefined, backend: 'lxc' });
  t.like(resolveRunSettings(parseRunArguments(['--resume', 'o', '--socket', '/s.sock']), fromConfig), { config: undefined, socket: '/s.sock' });
  const fromFlags = { suiteFile: '/abs/s.json', settings: { backend: 'lxc', poolId: 'p', size: 3, concurrency: 1, checkoutTimeoutMs: 1 } };
  t.like(resolveRunSettings(parseRunArguments(['--resume', 'o', '--config', 'lab.json']), fromFlags), { config: 'lab.json', size: undefined });
  const fromService = { suiteFile: '/abs/s.json', settings: { socket: '/s.sock', concurrency: 1, checkoutTimeoutMs: 1 } };
  t.like(resolveRunSettings(parseRunArguments(['--resume', 'o', '--config', 'lab.json']), fromService), { config: 'lab.json', socket: undefined });
});

const alphaGamma = {
  host: { poolId: 'unitcfg' },
  kinds: { alpha: { backend: 'docker', env: { KIND_MARK: 'a' } }, gamma: { backend: 'docker', env: { KIND_MARK: 'g' } } },
};

test('a job of a kind the config does not have exits 2 naming the job, the kind and the kinds; nothing is made', async (t) => {
  const config = await tempFile('lab.json', alphaGamma);
  const out = join(await mkdtemp(join(tmpdir(), 'warmpool-config-cli-')), 'never-made');
  const streams = io();
  t.is(await main(['run', twoKindsSuite, '--config', config, '--out', out], streams), 2);
  t.regex(streams.err(), /two-kinds\.json: job "in-beta" asks for kind "beta"; job "beta-again" asks for kind "beta", which the containers' source does not have; the kinds are: "alpha", "gamma"/);
  t.regex(streams.err(), /Nothing was run/);
  await t.throwsAsync(stat(out), undefined, 'not even the output directory was made');
});

test('without --config there is one kind, "default": a job naming another exits 2 before anything is made', async (t) => {
  const out = join(await mkdtemp(join(tmpdir(), 'warmpool-config-cli-')), 'never-made');
  const streams = io();
  t.is(await main(['run', twoKindsSuite, '--pool-id', 'never-started', '--out', out], streams), 2);
  t.regex(streams.err(), /job "in-alpha" asks for kind "alpha"; .*the kinds are: "default"/);
  await t.throwsAsync(stat(out));
});

test('a config file that cannot be used exits 2 naming the file and the key', async (t) => {
  const config = await tempFile('lab.json', { host: { poolId: 'unitcfg' }, kinds: { alpha: { backend: 'docker', min: 'two' } } });
  const streams = io();
  t.is(await main(['run', twoKindsSuite, '--config', config, '--out', join(tmpdir(), 'never')], streams), 2);
  t.regex(streams.err(), new RegExp(`${config.replace(/[.]/g, '\\.')}: kinds\\.alpha\\.min: `));
  t.regex(streams.err(), /Nothing was run/);
  const missing = io();
  t.is(await main(['run', twoKindsSuite, '--config', join(tmpdir(), 'no-such-lab.json')], missing), 2);
  t.regex(missing.err(), /no-such-lab\.json: cannot read the file/);
});
