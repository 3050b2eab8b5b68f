import test from 'ava';
import { PassThrough, Writable } from 'node:stream';
import { createLogger, type LoggerOptions } from '../../lib/logger.js';
import { WarmpoolError } from '../../lib/errors.js';

/** A stream that keeps what is written; `isTTY` as given. */
function capture(isTTY = false): { stream: Writable & { isTTY?: boolean }; lines(): string[]; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  }) as Writable & { isTTY?: boolean };
  if (isTTY) stream.isTTY = true;
  return { stream, lines: () => text.split('\n').filter((line) => line !== ''), text: () => text };
}

// Nothing here may depend on the environment the tests run in.
const quietEnv = {};
const ansi = new RegExp(String.fromCharCode(27));

function logger(options: LoggerOptions) {
  return createLogger({ env: quietEnv, level: 'debug', ...options });
}

class CodedError extends WarmpoolError {
  readonly code = 'ERR_TEST_CODED';
}

test('text lines carry no ANSI escape when the stream is not a terminal', (t) => {
  const out = capture(false);
  logger({ stream: out.stream }).warn('creation failed', new CodedError('engine gone'));
  t.is(out.lines().length, 1);
  t.notRegex(out.text(), ansi);
  t.regex(out.text(), /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}warmpool: creation failed code=ERR_TEST_CODED error="engine gone"\n$/);
});

test('a terminal gets colour, unless NO_COLOR is set', (t) => {
  const tty = capture(true);
  createLogger({ env: {}, level: 'info', stream: tty.stream }).info('ready');
  t.regex(tty.text(), ansi);
  const noColor = capture(true);
  createLogger({ env: { NO_COLOR: '1' }, level: 'info', stream: noColor.stream }).info('ready');
  t.notRegex(noColor.text(), ansi);
  t.regex(noColor.text(), /INFO {2}warmpool: ready/);
});

test('json: one object a line with time, level, message, pool, container and the error code', (t) => {
  const out = capture(true);
  const log = logger({ stream: out.stream, format: 'json', name: 'warmpool-serve', context: { pool: 'lab-a' } });
  log.info('serving', { socket: '/run/lab-a.sock' });
  log.error('destroy failed', { container: 'warmpool-lab-a-1-abcd' }, new CodedError('still running'));
  log.debug('multi\nline "quoted"');
  const lines = out.lines();
  t.is(lines.length, 3);
  t.notRegex(out.text(), ansi, 'no colour in JSON, even on a terminal');
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const entry of entries) t.false(Number.isNaN(Date.parse(String(entry['time']))), `an ISO time: ${String(entry['time'])}`);
  t.like(entries[0], { level: 'info', logger: 'warmpool-serve', message: 'serving', pool: 'lab-a', socket: '/run/lab-a.sock' });
  t.like(entries[1], { level: 'error', message: 'destroy failed', pool: 'lab-a', container: 'warmpool-lab-a-1-abcd', code: 'ERR_TEST_CODED', error: 'still running' });
  t.like(entries[2], { level: 'debug', message: 'multi\nline "quoted"' });
});

test('a logged object cannot overwrite the line’s own fields', (t) => {
  const out = capture();
  logger({ stream: out.stream, format: 'json' }).info('the message', { message: 'forged', level: 'fatal', time: 0, pool: 'p' });
  t.like(JSON.parse(out.text()), { message: 'the message', level: 'info', pool: 'p' });
});

test('the level: the option, else WARMPOOL_LOG_LEVEL, else silent', (t) => {
  const byOption = capture();
  const fromOption = createLogger({ env: { WARMPOOL_LOG_LEVEL: 'debug' }, level: 'warn', stream: byOption.stream });
  fromOption.info('hidden');
  fromOption.warn('shown');
  t.deepEqual(byOption.lines().map((line) => line.split(': ')[1]), ['shown']);

  const byEnv = capture();
  const fromEnv = createLogger({ env: { WARMPOOL_LOG_LEVEL: 'error' }, stream: byEnv.stream });
  fromEnv.warn('hidden');
  fromEnv.error('shown');
  t.is(byEnv.lines().length, 1);

  const silent = capture();
  const quiet = createLogger({ env: {}, stream: silent.stream });
  quiet.fatal('nothing');
  createLogger({ env: {}, level: 'silent', stream: silent.stream }).fatal('nothing either');
  t.is(silent.text(), '');
});

test('the format: the option, else WARMPOOL_LOG_FORMAT, else text; an unknown value is text', (t) => {
  const fromEnv = capture();
  createLogger({ env: { WARMPOOL_LOG_LEVEL: 'info', WARMPOOL_LOG_FORMAT: 'json' }, stream: fromEnv.stream }).info('hi');
  t.like(JSON.parse(fromEnv.text()), { message: 'hi' });
  const optionWins = capture();
  createLogger({ env: { WARMPOOL_LOG_FORMAT: 'json' }, level: 'info', format: 'text', stream: optionWins.stream }).info('hi');
  t.regex(optionWins.text(), /INFO {2}warmpool: hi\n$/);
  const unknown = capture();
  createLogger({ env: { WARMPOOL_LOG_FORMAT: 'xml' }, level: 'info', stream: unknown.stream }).info('hi');
  t.regex(unknown.text(), /INFO {2}warmpool: hi\n$/);
});

test('an error without a code is unexpected: text shows its stack', (t) => {
  const out = capture();
  logger({ stream: out.stream }).error('a listener threw', new TypeError('x is not a function'));
  t.regex(out.text(), /ERROR warmpool: a listener threw error="x is not a function"\n {4}TypeError: x is not a function\n {8}at /);
});

test('a stream that fails is written to no more, and logging neither throws nor crashes', async (t) => {
  let writes = 0;
  // No 'error' listener of the test's own: unheard, the error event is an uncaught exception and fails this test.
  const failing = new Writable({
    write(_chunk, _encoding, callback) {
      writes++;
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  // Something piped into it, as tsx pipes into stderr: the pipe's error listener re-emits the error when it is
  // the last listener, so "add a listener if there is none" is not enough.
  new PassThrough().pipe(failing);
  const log = logger({ stream: failing });
  log.info('first');
  await new Promise((resolve) => failing.once('close', resolve));
  log.info('second');
  log.error('third');
  t.is(writes, 1, 'only the first line reached the failed stream');

  const throwing = { write: (): boolean => { throw new Error('ENOSPC'); } };
  const onFullDisk = createLogger({ env: {}, level: 'info', stream: throwing });
  t.notThrows(() => {
    onFullDisk.info('one');
    onFullDisk.info('two');
  });
});
