import test, { type ExecutionContext } from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../../lib/errors.js';
import { defaultJobTimeoutMs, jobDirectoryName, loadSuite, validateSuite } from '../../harness/scheduler/suite.js';

const good = { name: 'ok', command: ['/bin/true'] };

/** Validating `suite` throws an InvalidOptionError whose message names every string in `mentions`. */
const refuses = test.macro({
  exec(t: ExecutionContext, suite: unknown, mentions: readonly string[]) {
    const error = t.throws(() => validateSuite(suite), { instanceOf: InvalidOptionError });
    t.is(error?.code, 'ERR_WARMPOOL_INVALID_OPTION');
    for (const mention of mentions) t.true(error?.message.includes(mention), `"${error?.message}" mentions ${mention}`);
  },
  title: (given) => `refuses ${given ?? ''}`,
});

const jobs = (...list: unknown[]): unknown => ({ name: 'smoke', jobs: [good, ...list] });

test('a suite that is not an object', refuses, ['jobs'], ['suite']);
test('a suite without jobs', refuses, { name: 's', jobs: [] }, ['suite → jobs']);
test('a suite without a name', refuses, { jobs: [good] }, ['suite → name']);
test('an unknown suite key', refuses, { name: 's', jobs: [good], job: [] }, ['suite → job']);
test('a job that is not an object', refuses, jobs('echo'), ['jobs[1]']);
test('a job without a name', refuses, jobs({ command: ['x'] }), ['jobs[1] → name']);
test('a job with a blank name', refuses, jobs({ name: '  ', command: ['x'] }), ['jobs[1] → name']);
test('a job name with a newline', refuses, jobs({ name: 'a\nb', command: ['x'] }), ['jobs[1] → name']);
test('two jobs with one name', refuses, jobs({ name: 'ok', command: ['x'] }), ['jobs[1] "ok" → name', 'no other job']);
test('two jobs with one log directory', refuses, jobs({ name: 'a b', command: ['x'] }, { name: 'a/b', command: ['x'] }), ['jobs[2] "a/b" → name', 'jobs/a_b']);
test('a job without a command', refuses, jobs({ name: 'nocmd' }), ['jobs[1] "nocmd" → command']);
test('a command given as a string', refuses, jobs({ name: 'str', command: 'echo hi' }), ['jobs[1] "str" → command', 'argv']);
test('an empty command', refuses, jobs({ name: 'empty', command: [] }), ['"empty" → command']);
test('a command with a number in it', refuses, jobs({ name: 'num', command: ['sleep', 1] }), ['"num" → command']);
test('a zero timeout', refuses, jobs({ name: 't0', command: ['x'], timeoutMs: 0 }), ['jobs[1] "t0" → timeoutMs']);
test('a fractional timeout', refuses, jobs({ name: 'tf', command: ['x'], timeoutMs: 1.5 }), ['"tf" → timeoutMs']);
test('a timeout as a string', refuses, jobs({ name: 'ts', command: ['x'], timeoutMs: '10s' }), ['"ts" → timeoutMs', '"10s"']);
test('a timeout too long for a timer', refuses, jobs({ name: 'tl', command: ['x'], timeoutMs: 2 ** 31 }), ['"tl" → timeoutMs']);
test('env as an array', refuses, jobs({ name: 'ea', command: ['x'], env: ['A=1'] }), ['"ea" → env']);
test('an env value that is a number', refuses, jobs({ name: 'en', command: ['x'], env: { A: 1 } }), ['"en" → env.A']);
test('an env key that is not a name', refuses, jobs({ name: 'ek', command: ['x'], env: { 'A-B': 'x' } }), ['"ek" → env.A-B']);
test('a relative file path', refuses, jobs({ name: 'fr', command: ['x'], files: { 'tmp/a': 'x' } }), ['"fr" → files["tmp/a"]']);
test('a file whose content is not text', refuses, jobs({ name: 'fc', command: ['x'], files: { '/a': 1 } }), ['"fc" → files["/a"]']);
test('artifacts as a string', refuses, jobs({ name: 'as', command: ['x'], artifacts: '/a' }), ['"as" → artifacts']);
test('a relative artifact', refuses, jobs({ name: 'ar', command: ['x'], artifacts: ['/a', 'b'] }), ['"ar" → artifacts[1]']);
test('a directory as an artifact', refuses, jobs({ name: 'ad', command: ['x'], artifacts: ['/tmp/'] }), ['"ad" → artifacts[0]']);
test('an artifact listed twice', refuses, jobs({ name: 'a2', command: ['x'], artifacts: ['/tmp/a', '/tmp//a'] }), ['"a2" → artifacts[1]']);
test('negative retries', refuses, jobs({ name: 'rn', command: ['x'], retries: -1 }), ['"rn" → retries']);
test('too many retries', refuses, jobs({ name: 'rm', command: ['x'], retries: 11 }), ['"rm" → retries']);
test('an empty kind', refuses, jobs({ name: 'k0', command: ['x'], kind: '' }), ['jobs[1] "k0" → kind', 'kind name']);
test('a kind that is not a string', refuses, jobs({ name: 'kn', command: ['x'], kind: 3 }), ['"kn" → kind']);
test('a misspelt kind field', refuses, jobs({ name: 'kt', command: ['x'], kinds: 'a' }), ['"kt" → kinds', 'kind']);
test('a misspelt field', refuses, jobs({ name: 'typo', command: ['x'], timeout: 5 }), ['jobs[1] "typo" → timeout', 'timeoutMs']);

test('fills in the defaults', (t) => {
  const suite = validateSuite({ name: 's', jobs: [good] });
  t.deepEqual(suite.jobs[0], { name: 'ok', command: ['/bin/true'], timeoutMs: defaultJobTimeoutMs, env: {}, files: {}, artifacts: [], retries: 0 });
});

test('keeps every field given', (t) => {
  const job = { name: 'all', command: ['sh', '-c', 'x'], timeoutMs: 5, env: { K: 'V' }, files: { '/tmp/i': 'text' }, artifacts: ['/tmp/o'], retries: 2, kind: 'py311' };
  t.deepEqual(validateSuite({ name: 's', jobs: [job] }).jobs[0], job);
});

test('job directories cannot leave jobs/', (t) => {
  t.is(jobDirectoryName('../etc'), '.._etc');
  t.is(jobDirectoryName('..'), '__');
  t.is(jobDirectoryName('a <b> & "c"'), 'a__b_____c_');
});

test('loadSuite names the file it cannot read or parse', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'warmpool-suite-'));
  const broken = join(dir, 'broken.json');
  await writeFile(broken, '{ "name": "x", ');
  const parseError = await t.throwsAsync(loadSuite(broken), { instanceOf: InvalidOptionError });
  t.true(parseError?.message.includes('broken.json'));
  t.true(parseError?.message.includes('valid JSON'));
  const missing = await t.throwsAsync(loadSuite(join(dir, 'missing.json')), { instanceOf: InvalidOptionError });
  t.true(missing?.message.includes('missing.json'));
});

test('every suite under fixtures/suites is valid', async (t) => {
  for (const file of ['demo.json', 'statuses.json', 'retries.json', 'all-pass.json', 'slow.json', 'invalid-timeout.json']) {
    const path = new URL(`../../fixtures/suites/${file}`, import.meta.url).pathname;
    if (file.startsWith('invalid-')) await t.throwsAsync(loadSuite(path), { instanceOf: InvalidOptionError });
    else await t.notThrowsAsync(loadSuite(path), file);
  }
});
