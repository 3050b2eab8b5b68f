import test from 'ava';
import { PassThrough, Writable } from 'node:stream';
import { main, takeGlobalOptions } from '../../harness/cli/main.js';
import { UsageError } from '../../harness/cli/command.js';
import { brokenStreams, protectOutput } from '../../harness/cli/safe-output.js';

function io(): { stdout: PassThrough; stderr: PassThrough; out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return { stdout, stderr, out: () => out, err: () => err };
}

test('--log-format is taken out of the arguments, wherever it stands before --', (t) => {
  t.deepEqual(takeGlobalOptions(['run', 'suite.json', '--log-format', 'json', '--size', '2']), {
    args: ['run', 'suite.json', '--size', '2'],
    options: { logFormat: 'json' },
  });
  t.deepEqual(takeGlobalOptions(['--log-format=text', 'serve']), { args: ['serve'], options: { logFormat: 'text' } });
  t.deepEqual(takeGlobalOptions(['run', '--', '--log-format', 'json']), { args: ['run', '--', '--log-format', 'json'], options: {} });
  t.throws(() => takeGlobalOptions(['status', '--log-format']), { instanceOf: UsageError, message: /--log-format needs a value/ });
  t.throws(() => takeGlobalOptions(['status', '--log-format', 'xml']), { instanceOf: UsageError, message: /--log-format must be text or json, got "xml"/ });
});

test('main passes --log-format on to every logger through WARMPOOL_LOG_FORMAT and lists it in each help', async (t) => {
  const env: NodeJS.ProcessEnv = {};
  const streams = io();
  t.is(await main(['status', '--log-format', 'json', '--help'], streams, env), 0);
  t.is(env['WARMPOOL_LOG_FORMAT'], 'json');
  t.regex(streams.out(), /Usage: warmpool status[\s\S]*Global options[\s\S]*--log-format text\|json/);
});

test('main refuses a bad --log-format or WARMPOOL_LOG_FORMAT with exit code 2, naming the value', async (t) => {
  const flag = io();
  t.is(await main(['status', '--log-format', 'yaml'], flag, {}), 2);
  t.regex(flag.err(), /--log-format must be text or json, got "yaml"/);
  const fromEnv = io();
  t.is(await main(['status'], fromEnv, { WARMPOOL_LOG_FORMAT: 'xml' }), 2);
  t.regex(fromEnv.err(), /WARMPOOL_LOG_FORMAT must be text or json, got "xml"/);
});

test('a protected stream that failed drops later writes, calls their callbacks and throws nothing', async (t) => {
  let attempts = 0;
  const failing = new Writable({
    write(_chunk, _encoding, callback) {
      attempts++;
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  protectOutput([failing]);
  failing.write('first\n');
  await new Promise((resolve) => failing.once('close', resolve));
  t.true(brokenStreams.has(failing), 'the failure was heard (unheard, it would crash this test)');
  const called = await new Promise<unknown>((resolve) => failing.write('second\n', resolve));
  t.is(called, null, 'the callback still runs');
  t.is(attempts, 1, 'nothing more reached the stream');

  const throwing = new Writable({ write: () => undefined });
  (throwing as unknown as { write: () => boolean }).write = () => {
    throw new Error('ENOSPC');
  };
  protectOutput([throwing]);
  t.notThrows(() => throwing.write('x'));
  t.true(brokenStreams.has(throwing));
});
