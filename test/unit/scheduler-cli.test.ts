import { availableParallelism } from 'node:os';
import test from 'ava';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../harness/cli/command.js';
import { parseRunArguments } from '../../harness/cli/commands/run.js';
import { main } from '../../harness/cli/main.js';
import { journalFileName, journalVersion, type JournalRunEntry } from '../../harness/scheduler/journal.js';
import { resolveRunSettings } from '../../harness/scheduler/run-settings.js';
import { defaultCheckoutTimeoutMs } from '../../harness/scheduler/scheduler.js';
import { stderrCapturingIo } from '../helpers/cli.js';

const invalidSuite = new URL('../../fixtures/suites/invalid-timeout.json', import.meta.url).pathname;

const io = stderrCapturingIo;

test('defaults: docker, one job per core, results/, the in-process pool', (t) => {
  t.deepEqual(resolveRunSettings(parseRunArguments(['suite.json'])), {
    suiteFile: 'suite.json',
    resume: false,
    backend: 'docker',
    size: undefined,
    concurrency: availableParallelism(),
    outDir: 'results',
    socket: undefined,
    dockerSocket: undefined,
    poolId: 'run',
    checkoutTimeoutMs: defaultCheckoutTimeoutMs,
    config: undefined,
  });
});

test('every flag is read', (t) => {
  const args = resolveRunSettings(parseRunArguments(['s.json', '--backend', 'lxc', '--size', '3', '--concurrency', '2', '--out', 'o', '--pool-id', 'p1', '--checkout-timeout-ms', '500']));
  t.like(args, { backend: 'lxc', size: 3, concurrency: 2, outDir: 'o', poolId: 'p1', checkoutTimeoutMs: 500 });
  t.like(parseRunArguments(['s.json', '--socket', '/run/w.sock', '--docker-socket', '/d.sock']), { socket: '/run/w.sock', dockerSocket: '/d.sock' });
});

const journaled = {
  suiteFile: '/abs/suite.json',
  settings: { backend: 'lxc', poolId: 'killed-run', size: 3, concurrency: 2, checkoutTimeoutMs: 9_000 },
};

test('--resume OUT writes to OUT and takes the suite file and settings of the journaled run', (t) => {
  const settings = resolveRunSettings(parseRunArguments(['--resume', 'o']), journaled);
  t.deepEqual(settings, {
    suiteFile: '/abs/suite.json',
    resume: true,
    backend: 'lxc',
    size: 3,
    concurrency: 2,
    outDir: 'o',
    socket: undefined,
    dockerSocket: undefined,
    poolId: 'killed-run',
    checkoutTimeoutMs: 9_000,
    config: undefined,
  });
});

test('--resume: flags given win over the journaled settings', (t) => {
  t.like(resolveRunSettings(parseRunArguments(['other.json', '--resume', 'o', '--concurrency', '5', '--out', 'o']), journaled), {
    suiteFile: 'other.json',
    concurrency: 5,
    poolId: 'killed-run',
  });
  const toService = resolveRunSettings(parseRunArguments(['--resume', 'o', '--socket', '/s.sock']), journaled);
  t.like(toService, { socket: '/s.sock', size: undefined });
  const fromService = { suiteFile: '/abs/suite.json', settings: { socket: '/s.sock', concurrency: 2, checkoutTimeoutMs: 1 } };
  t.like(resolveRunSettings(parseRunArguments(['--resume', 'o']), fromService), { socket: '/s.sock' });
  t.like(resolveRunSettings(parseRunArguments(['--resume', 'o', '--pool-id', 'mine']), fromService), { socket: undefined, poolId: 'mine' });
});

const usageErrors: [string, string[], RegExp][] = [
  ['no suite', [], /give the suite file/],
  ['--resume and --out naming two directories', ['--resume', 'a', '--out', 'b'], /--resume OUT writes to OUT/],
  ['two suites', ['a.json', 'b.json'], /one suite file, got 2/],
  ['an unknown flag', ['a.json', '--sise', '3'], /sise/],
  ['a zero size', ['a.json', '--size', '0'], /--size must be an integer from 1 up/],
  ['a word for the concurrency', ['a.json', '--concurrency', 'many'], /--concurrency/],
  ['an unknown backend', ['a.json', '--backend', 'podman'], /--backend must be docker or lxc/],
  ['a negative checkout timeout', ['a.json', '--checkout-timeout-ms', '-1'], /checkout-timeout-ms/],
  ['--size with --socket', ['a.json', '--socket', '/s', '--size', '2'], /--size is for the in-process pool/],
  ['--docker-socket without --socket', ['a.json', '--docker-socket', '/d'], /goes with --socket/],
];

test('refuses a pool id the engines cannot use', (t) => {
  t.throws(() => parseRunArguments(['a.json', '--pool-id', 'Bad Id']), { message: /`poolId`/ });
});
for (const [title, args, message] of usageErrors) {
  test(`refuses ${title}`, (t) => {
    t.throws(() => parseRunArguments(args), { instanceOf: UsageError, message });
  });
}

test('an invalid suite exits 2 naming the job and field, before anything is set up', async (t) => {
  const out = join(await mkdtemp(join(tmpdir(), 'warmpool-cli-')), 'never-made');
  const streams = io();
  const code = await main(['run', invalidSuite, '--out', out], streams);
  t.is(code, 2);
  t.regex(streams.err(), /invalid suite .*invalid-timeout\.json: Expected `jobs\[1\] "bad-timeout" → timeoutMs` to be an integer number of milliseconds/);
  t.regex(streams.err(), /Nothing was run/);
  await t.throwsAsync(stat(out), undefined, 'not even the output directory was made');
});

test('a bad flag exits 2 with the usage', async (t) => {
  const streams = io();
  t.is(await main(['run', invalidSuite, '--concurrency', '0'], streams), 2);
  t.regex(streams.err(), /--concurrency must be an integer from 1 up[\s\S]*Usage: warmpool run SUITE\.json/);
});

async function journalIn(dir: string, header: Partial<JournalRunEntry>): Promise<void> {
  const entry: JournalRunEntry = {
    type: 'run',
    journalVersion,
    suite: 'invalid',
    suiteFile: invalidSuite,
    suiteSha256: '0'.repeat(64),
    jobs: ['fine'],
    startedAt: new Date().toISOString(),
    resume: false,
    settings: { backend: 'docker', poolId: 'never-used', concurrency: 1, checkoutTimeoutMs: 1_000 },
    ...header,
  };
  await writeFile(join(dir, journalFileName), `${JSON.stringify(entry)}\n`);
}

test('--resume without a journal in OUT exits 2 and runs nothing', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'warmpool-cli-'));
  const streams = io();
  t.is(await main(['run', '--resume', out], streams), 2);
  t.regex(streams.err(), /Cannot resume from .*journal\.jsonl: no journal could be read \(ENOENT/);
  t.regex(streams.err(), /Nothing was run/);
  await writeFile(join(out, journalFileName), '{"type":"job","result":{"name":"x"}}\n');
  const again = io();
  t.is(await main(['run', '--resume', out], again), 2);
  t.regex(again.err(), /does not start with a run header of journal version 1/);
});

test('--resume refuses a suite file that is not the one the journaled run started with', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'warmpool-cli-'));
  await journalIn(out, { suiteSha256: 'f'.repeat(64) });
  const streams = io();
  t.is(await main(['run', '--resume', out], streams), 2);
  t.regex(streams.err(), /The suite file .*invalid-timeout\.json is not the one the journaled run started with \(sha256 [0-9a-f]{12}… now, ffffffffffff… in the journal\)/);
  t.regex(streams.err(), /Nothing was run/);
});
