import test from 'ava';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { UsageError } from '../../harness/cli/command.js';
import { parseRunArguments } from '../../harness/cli/commands/run.js';
import { main } from '../../harness/cli/main.js';
import { defaultCheckoutTimeoutMs } from '../../harness/scheduler/scheduler.js';

const invalidSuite = new URL('../../fixtures/suites/invalid-timeout.json', import.meta.url).pathname;

function io(): { stdout: PassThrough; stderr: PassThrough; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  stdout.resume();
  return { stdout, stderr, err: () => Buffer.concat(chunks).toString('utf8') };
}

test('defaults: docker, concurrency 4, results/, the in-process pool', (t) => {
  t.deepEqual(parseRunArguments(['suite.json']), {
    suiteFile: 'suite.json',
    backend: 'docker',
    size: undefined,
    concurrency: 4,
    outDir: 'results',
    socket: undefined,
    dockerSocket: undefined,
    poolId: 'run',
    checkoutTimeoutMs: defaultCheckoutTimeoutMs,
  });
});

test('every flag is read', (t) => {
  const args = parseRunArguments(['s.json', '--backend', 'lxc', '--size', '3', '--concurrency', '2', '--out', 'o', '--pool-id', 'p1', '--checkout-timeout-ms', '500']);
  t.like(args, { backend: 'lxc', size: 3, concurrency: 2, outDir: 'o', poolId: 'p1', checkoutTimeoutMs: 500 });
  t.like(parseRunArguments(['s.json', '--socket', '/run/w.sock', '--docker-socket', '/d.sock']), { socket: '/run/w.sock', dockerSocket: '/d.sock' });
});

const usageErrors: [string, string[], RegExp][] = [
  ['no suite', [], /give the suite file/],
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
