import test from 'ava';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { AttemptResult, JobResult, JobStatus } from '../../harness/scheduler/job-result.js';
import { escapeXml, junitCounts, renderJunitXml } from '../../harness/scheduler/junit-xml.js';
import { ProgressReporter } from '../../harness/scheduler/progress.js';
import { prepareOutDir, writeResults, type ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { suiteTotals, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { findAll, parseXml } from '../helpers/xml-parse.js';

function attempt(status: JobStatus, n = 1): AttemptResult {
  return {
    attempt: n,
    status,
    exitCode: status === 'passed' ? 0 : status === 'failed' ? 2 : null,
    ...(status === 'passed' ? {} : { reason: `${status} reason` }),
    startedAt: '2024-01-01T00:00:00.000Z',
    endedAt: '2024-01-01T00:00:01.000Z',
    waitMs: 10,
    runMs: 1500,
    stdout: null,
    stderr: null,
    artifacts: [],
    warnings: [],
  };
}

function job(name: string, status: JobStatus, output?: { stdout: string; stderr: string }): JobResult {
  const history = status === 'cancelled' ? [] : [attempt(status)];
  return {
    name,
    status,
    exitCode: history[0]?.exitCode ?? null,
    ...(status === 'passed' ? {} : { reason: `${status} reason` }),
    attempts: history.length,
    waitMs: 10,
    runMs: 1500,
    stdout: null,
    stderr: null,
    artifacts: [],
    history,
    ...(output ? { output } : {}),
  };
}

function suiteResult(jobs: JobResult[], name = 'report', leftBehind: SuiteResult['leftBehind'] = []): SuiteResult {
  return {
    suite: name,
    startedAt: '2024-01-01T00:00:00.000Z',
    endedAt: '2024-01-01T00:00:05.000Z',
    durationMs: 5000,
    concurrency: 2,
    jobs,
    totals: suiteTotals(jobs, leftBehind),
    maxActiveJobs: 2,
    leftBehind,
  };
}

const everyStatus = (): JobResult[] => [
  job('p1', 'passed'),
  job('p2', 'passed'),
  job('f', 'failed'),
  job('t', 'timeout'),
  job('e', 'error'),
  job('c', 'cancelled'),
];

test('junit counts: timeouts are failures, errors errors, cancelled skipped', (t) => {
  t.deepEqual(junitCounts(everyStatus()), { tests: 6, failures: 2, errors: 1, skipped: 1 });
});

test('the junit report parses and its counts match its test cases', (t) => {
  const root = parseXml(renderJunitXml(suiteResult(everyStatus())));
  t.is(root.name, 'testsuites');
  const [suite] = findAll(root, 'testsuite');
  t.truthy(suite);
  const cases = findAll(root, 'testcase');
  for (const element of [root, suite]) {
    t.is(element?.attributes['tests'], String(cases.length));
    t.is(element?.attributes['failures'], String(findAll(root, 'failure').length));
    t.is(element?.attributes['errors'], String(findAll(root, 'error').length));
    t.is(element?.attributes['skipped'], String(findAll(root, 'skipped').length));
  }
  t.deepEqual(findAll(root, 'failure').map((failure) => failure.attributes['type']), ['failed', 'timeout']);
  t.is(findAll(root, 'error')[0]?.attributes['message'], 'error reason');
  t.is(cases[0]?.attributes['time'], '1.500');
  t.is(suite?.attributes['time'], '5.000');
});

test('escapeXml escapes markup and replaces characters XML cannot hold', (t) => {
  t.is(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  t.is(escapeXml('bell\u0007 nul\u0000 esc\u001b tab\t lf\n'), 'bell\ufffd nul\ufffd esc\ufffd tab\t lf\n');
  t.is(escapeXml('lone \ud800 pair \ud83d\ude00'), 'lone \ufffd pair \ud83d\ude00');
  t.is(escapeXml('\ufffe\uffff'), '\ufffd\ufffd');
});

test('names, reasons and output with markup survive the round trip through XML', (t) => {
  const nasty = `a <b> & "c" 'd' ]]> \u001b[31m`;
  const failing = { ...job(nasty, 'failed', { stdout: `out ${nasty}\n`, stderr: `err\u0000 ${nasty}` }), reason: `reason ${nasty}\nsecond line` };
  const root = parseXml(renderJunitXml(suiteResult([failing], `suite ${nasty}`)));
  const clean = nasty.replace('\u001b', '\ufffd');
  t.is(root.attributes['name'], `suite ${clean}`);
  const [testcase] = findAll(root, 'testcase');
  t.is(testcase?.attributes['name'], clean);
  t.is(findAll(root, 'failure')[0]?.attributes['message'], `reason ${clean}\nsecond line`, 'a newline in an attribute is kept');
  t.is(findAll(root, 'system-out')[0]?.text, `out ${clean}\n`);
  t.is(findAll(root, 'system-err')[0]?.text, `err\ufffd ${clean}`);
});

test('the xml check refuses what is not well-formed', (t) => {
  t.throws(() => parseXml('<a><b></a></b>'), { message: /closes/ });
  t.throws(() => parseXml('<a x="1" x="2"/>'), { message: /twice/ });
  t.throws(() => parseXml('<a>&</a>'), { message: /bare &/ });
  t.throws(() => parseXml('<a>&nbsp;</a>'), { message: /unknown entity/ });
  t.throws(() => parseXml('<a x=1/>'), { message: /malformed/ });
  t.throws(() => parseXml('<a>\u0001</a>'), { message: /forbidden/ });
  t.throws(() => parseXml('<a>'), { message: /unclosed/ });
  t.notThrows(() => parseXml('<?xml version="1.0"?>\n<a x="&lt;&#10;"><b/>t&amp;</a>\n'));
});

test('prepareOutDir moves the last run\'s results into previous/, replacing the set before, and leaves the rest alone', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-results-'));
  t.deepEqual(await prepareOutDir(outDir), [], 'nothing to move in a new directory');
  await mkdir(join(outDir, 'jobs', 'last'), { recursive: true });
  await writeFile(join(outDir, 'results.json'), 'last results');
  await writeFile(join(outDir, 'journal.jsonl'), 'last journal');
  await writeFile(join(outDir, 'keep.txt'), 'mine');
  await mkdir(join(outDir, 'previous', 'jobs', 'older'), { recursive: true });
  await writeFile(join(outDir, 'previous', 'junit.xml'), 'older junit');
  t.deepEqual(await prepareOutDir(outDir), ['results.json', 'journal.jsonl', 'jobs']);
  for (const name of ['jobs', 'results.json', 'journal.jsonl']) await t.throwsAsync(stat(join(outDir, name)), undefined, `${name} moved away`);
  t.is(await readFile(join(outDir, 'previous', 'results.json'), 'utf8'), 'last results');
  t.is(await readFile(join(outDir, 'previous', 'journal.jsonl'), 'utf8'), 'last journal');
  t.true((await stat(join(outDir, 'previous', 'jobs', 'last'))).isDirectory());
  await t.throwsAsync(stat(join(outDir, 'previous', 'junit.xml')), undefined, 'one previous set is kept, not two');
  await t.throwsAsync(stat(join(outDir, 'previous', 'jobs', 'older')));
  t.is(await readFile(join(outDir, 'keep.txt'), 'utf8'), 'mine');
});

test('writeResults writes results.json and junit.xml', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-results-'));

  const jobs = everyStatus();
  jobs[0] = job('p1', 'passed', { stdout: 'big output', stderr: '' });
  const files = await writeResults(outDir, suiteResult(jobs), { suiteFile: 'x.json', backend: 'docker', source: 'in-process', poolSize: 2 });
  t.is(files.results, join(outDir, 'results.json'));
  const document = JSON.parse(await readFile(files.results, 'utf8')) as ResultsDocument;
  t.is(document.schemaVersion, 1);
  t.is(document.suite, 'report');
  t.is(document.suiteFile, 'x.json');
  t.is(document.junit, 'junit.xml');
  t.deepEqual(document.totals, { jobs: 6, attempts: 5, passed: 2, failed: 1, timeout: 1, error: 1, cancelled: 1, replacedContainers: 0, leftBehind: 0 });
  t.deepEqual(document.leftBehind, []);
  t.false('output' in (document.jobs[0] ?? {}), 'output stays in the log files');
  t.deepEqual(Object.keys(document.jobs[2] ?? {}), ['name', 'status', 'exitCode', 'reason', 'attempts', 'waitMs', 'runMs', 'stdout', 'stderr', 'artifacts', 'history']);
  const junit = parseXml(await readFile(files.junit, 'utf8'));
  t.is(junit.attributes['tests'], '6');
});

function captured(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('off a terminal, progress is one plain line per event and a summary table', (t) => {
  const out = captured();
  const progress = new ProgressReporter({ stream: out.stream, total: 2, poolReady: () => 1, poolCapacity: 2 });
  progress.start();
  const failed = job('flaky', 'failed');
  progress.handle({ phase: 'waiting', job: 'flaky', attempt: 1 });
  progress.handle({ phase: 'running', job: 'flaky', attempt: 1 });
  progress.handle({ phase: 'attempt-ended', job: 'flaky', attempt: 1, result: attempt('failed'), willRetry: true });
  progress.handle({ phase: 'job-ended', job: 'flaky', result: failed, done: 1, total: 2 });
  progress.handle({ phase: 'job-ended', job: 'p', result: job('p', 'passed'), done: 2, total: 2 });
  progress.summary(suiteResult([failed, job('p', 'passed')]), { results: 'out/results.json', junit: 'out/junit.xml' });
  const lines = out.text().split('\n');
  t.false(out.text().includes('\x1b'), 'no escape codes off a terminal');
  t.is(lines[0], '      RETRY flaky: attempt 1 failed (failed reason); trying again in a new container');
  t.is(lines[1], '[1/2] FAIL flaky exit 2 (wait 0.01s, run 1.50s) — failed reason');
  t.is(lines[2], '[2/2] PASS p exit 0 (wait 0.01s, run 1.50s)');
  t.regex(out.text(), /JOB\s+STATUS\s+TRIES\s+EXIT\s+WAIT\s+RUN\s+REASON/);
  t.regex(out.text(), /flaky\s+failed\s+1\s+2\s+0\.01s\s+1\.50s\s+failed reason/);
  t.regex(out.text(), /report: 2 jobs — 1 passed, 1 failed, 0 timed out, 0 errors, 0 cancelled — 5\.00s/);
  t.true(out.text().includes('junit:   out/junit.xml'));
});

test('on a terminal, progress redraws a bar with done, passed, failed, running and pool ready', (t) => {
  const out = captured();
  const progress = new ProgressReporter({ stream: out.stream, total: 4, poolReady: () => 3, poolCapacity: 4, tty: true, color: false });
  progress.start();
  progress.handle({ phase: 'running', job: 'a', attempt: 1 });
  progress.handle({ phase: 'job-ended', job: 'b', result: job('b', 'timeout'), done: 1, total: 4 });
  progress.stop();
  const text = out.text();
  t.true(text.includes('\r\x1b[2K'), 'the bar is redrawn in place');
  t.true(text.includes('1/4 done | 0 passed | 1 failed | 1 running | pool 3/4 ready'));
  t.true(text.includes('[1/4] TIME b (wait 0.01s, run 1.50s) — timeout reason\n'));
  t.true(text.endsWith('\r\x1b[2K'), 'stop() removes the bar');
});

test('progress says when a dead container was replaced, passes notices on, and names what was left behind', (t) => {
  const out = captured();
  const progress = new ProgressReporter({ stream: out.stream, total: 1, poolReady: () => 1, poolCapacity: 1 });
  progress.handle({ phase: 'replaced', job: 'j', attempt: 1, replaced: { name: 'c-0', reason: 'Container c-0 is not running' } });
  progress.handle({ phase: 'notice', message: 'removing container c-1 failed (busy); retrying in the background' });
  const passed = { ...job('j', 'passed'), replacedContainers: [{ name: 'c-0', reason: 'Container c-0 is not running' }] };
  progress.summary(suiteResult([passed], 'report', [{ name: 'c-1', reason: 'busy' }]), { results: 'out/results.json', junit: 'out/junit.xml' });
  const lines = out.text().split('\n');
  t.is(lines[0], '      DEAD j: container c-0 was dead at first use (Container c-0 is not running); taking another (not an attempt)');
  t.is(lines[1], '      removing container c-1 failed (busy); retrying in the background');
  t.true(lines.includes('replaced: 1 container(s) dead at first use, each replaced at once (not counted as attempts)'));
  t.true(lines.includes('LEFT BEHIND: 1 container(s) could not be removed: c-1 (busy)'));
});
