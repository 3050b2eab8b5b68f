import test from 'ava';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { FakeRunnableFactory, type FakeRunnableContainer } from '../../fixtures/fake-runnable.js';
import { PoolSource, type ContainerSource } from '../../harness/scheduler/container-source.js';
import { JournalWriter, journalFileName, readJournal, type JournalContents } from '../../harness/scheduler/journal.js';
import { runJournaled, type JournaledRun } from '../../harness/scheduler/journaled-run.js';
import { ProgressReporter } from '../../harness/scheduler/progress.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { jobsToRun } from '../../harness/scheduler/resume.js';
import { validateSuite, type Suite } from '../../harness/scheduler/suite.js';
import { findAll, parseXml } from '../helpers/xml-parse.js';

// The journal: every finished job's result on disk as it ends, results.json and junit.xml built from it, the
// previous run moved aside, and --resume running only what has no result.

const suite = validateSuite({
  name: 'journaled',
  jobs: [
    { name: 'a', command: ['out:alpha <&>', 'err:warn-a'] },
    { name: 'b', command: ['out:beta', 'exit:2'] },
    { name: 'c', command: ['out:gamma'] },
  ],
});

interface Journaled {
  readonly run: JournaledRun;
  readonly factory: FakeRunnableFactory;
  readonly lines: string;
}

interface RunOptions {
  readonly toRun?: Suite;
  readonly resumed?: JournalContents;
  readonly signal?: AbortSignal;
  readonly stream?: NodeJS.WritableStream;
  /** Applied to each container a job checks out. */
  readonly tamper?: (container: FakeRunnableContainer) => void;
  readonly removalTimeoutMs?: number;
}

async function journaledRun(outDir: string, options: RunOptions = {}): Promise<Journaled> {
  const factory = new FakeRunnableFactory();
  const pool = PoolSource.start(factory, { size: 1 });
  const { tamper } = options;
  const source: ContainerSource =
    tamper === undefined
      ? pool
      : {
          capacity: pool.capacity,
          ready: () => pool.ready(),
          close: () => pool.close(),
          checkout: async (checkout) => {
            const container = (await pool.checkout(checkout)) as FakeRunnableContainer;
            tamper(container);
            return container;
          },
        };
  const stream = options.stream ?? new PassThrough().resume();
  const said: string[] = [];
  const run = await runJournaled({
    suite,
    suiteFile: '/suites/journaled.json',
    suiteSha256: 'a'.repeat(64),
    toRun: options.toRun ?? suite,
    ...(options.resumed ? { resumed: options.resumed } : {}),
    outDir,
    source,
    description: { suiteFile: '/suites/journaled.json', source: 'in-process' },
    settings: { backend: 'docker', poolId: 'unit', concurrency: 1, checkoutTimeoutMs: 5_000 },
    concurrency: 1,
    checkoutTimeoutMs: 5_000,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.removalTimeoutMs === undefined ? {} : { removalTimeoutMs: options.removalTimeoutMs }),
    progress: new ProgressReporter({ stream, total: (options.toRun ?? suite).jobs.length, poolReady: () => 0, poolCapacity: 1 }),
    say: (line) => said.push(line),
  });
  return { run, factory, lines: said.join('\n') };
}

async function results(outDir: string): Promise<ResultsDocument> {
  return JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as ResultsDocument;
}

test('each job is on disk in the journal before it is reported done; results.json and junit.xml come from it', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  const journaledWhenReported: number[] = [];
  // Reads the journal the instant the progress line of a finished job is written.
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (/^\[\d\/3\]/.test(chunk.toString('utf8'))) {
        const text = readFileSync(join(outDir, journalFileName), 'utf8');
        journaledWhenReported.push(text.split('\n').filter((line) => line.includes('"type":"job"')).length);
      }
      callback();
    },
  });
  const { run } = await journaledRun(outDir, { stream });
  t.deepEqual(journaledWhenReported, [1, 2, 3]);

  const journal = await readJournal(outDir);
  t.is(journal.runs.length, 1);
  t.like(journal.runs[0], { suite: 'journaled', suiteSha256: 'a'.repeat(64), jobs: ['a', 'b', 'c'], resume: false, settings: { poolId: 'unit' } });
  t.is(journal.ends.length, 1);
  t.deepEqual([...journal.results.keys()], ['a', 'b', 'c']);
  t.false(readFileSync(join(outDir, journalFileName), 'utf8').includes('alpha'), 'output stays in the log files');

  const document = await results(outDir);
  t.deepEqual(document.jobs.map((job) => [job.name, job.status]), [
    ['a', 'passed'],
    ['b', 'failed'],
    ['c', 'passed'],
  ]);
  t.deepEqual(document.jobs, [...journal.results.values()], 'results.json holds exactly what the journal holds');
  t.is(document.runs, undefined, 'a run that was not resumed says nothing of runs');
  t.is(run.result.totals.passed, 2);
  const junit = parseXml(await readFile(join(outDir, 'junit.xml'), 'utf8'));
  t.is(findAll(junit, 'system-out')[0]?.text, 'alpha <&>');
});

test('a new run in the same directory moves the previous results aside first', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  await journaledRun(outDir);
  const first = await readFile(join(outDir, journalFileName), 'utf8');
  const { lines } = await journaledRun(outDir);
  t.regex(lines, /The previous run's results\.json, junit\.xml, journal\.jsonl, jobs moved to .*\/previous\//);
  t.is(await readFile(join(outDir, 'previous', journalFileName), 'utf8'), first);
  t.true((await stat(join(outDir, 'previous', 'jobs', 'a', 'attempt-1', 'stdout.log'))).isFile());
  t.is((await readJournal(outDir)).runs.length, 1, 'the new journal starts afresh');
});

test('after a kill mid-suite, --resume runs only the jobs without a result and reports the whole suite', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  await journaledRun(outDir);
  // What SIGKILL after job a leaves: the header, a's line, half a line, no end, no results.json.
  const [header, lineOfA] = (await readFile(join(outDir, journalFileName), 'utf8')).split('\n');
  await writeFile(join(outDir, journalFileName), `${header}\n${lineOfA}\n`);
  await appendFile(join(outDir, journalFileName), '{"type":"job","result":{"name":"b","sta');
  await writeFile(join(outDir, 'results.json'), 'stale');
  const killed = await readJournal(outDir);
  t.is(killed.unreadableLines, 1, 'the line cut short is skipped');
  const toRun = jobsToRun(suite, killed);
  t.deepEqual(toRun.jobs.map((job) => job.name), ['b', 'c']);

  const { factory, run } = await journaledRun(outDir, { toRun, resumed: killed });
  t.deepEqual(factory.ledger.execs.map((exec) => exec.argv[0]), ['out:beta', 'out:gamma'], 'a did not run again');
  const document = await results(outDir);
  t.deepEqual(document.jobs.map((job) => [job.name, job.status]), [
    ['a', 'passed'],
    ['b', 'failed'],
    ['c', 'passed'],
  ]);
  t.deepEqual(document.jobs[0], killed.results.get('a'), "a's result is the journaled one");
  t.is(document.runs, 2);
  t.is(document.startedAt, killed.runs[0]?.startedAt ?? '', 'the suite started when the first run did');
  t.like(document.totals, { jobs: 3, passed: 2, failed: 1 });
  t.is(run.result.jobs.length, 3);
  const junit = parseXml(await readFile(join(outDir, 'junit.xml'), 'utf8'));
  t.is(findAll(junit, 'testcase').length, 3);
  t.is(findAll(junit, 'system-out')[0]?.text, 'alpha <&>', "a's output read back from its log");
  t.is(findAll(junit, 'system-err')[0]?.text, 'warn-a');
  const journal = await readJournal(outDir);
  t.deepEqual(journal.runs.map((segment) => segment.resume), [false, true], 'the resume header is not glued to the half line');
  t.is(journal.unreadableLines, 1);
});

test('jobs cancelled by an interrupt count as without a result: --resume runs them again', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  const controller = new AbortController();
  controller.abort(new Error('interrupted by SIGINT'));
  await journaledRun(outDir, { signal: controller.signal });
  const interrupted = await readJournal(outDir);
  t.deepEqual([...interrupted.results.values()].map((job) => job.status), ['cancelled', 'cancelled', 'cancelled']);
  t.is(interrupted.ends[0]?.interrupted, 'interrupted by SIGINT');
  t.is((await results(outDir)).totals.cancelled, 3);

  const toRun = jobsToRun(suite, interrupted);
  t.is(toRun.jobs.length, 3);
  await journaledRun(outDir, { toRun, resumed: interrupted });
  t.deepEqual((await results(outDir)).jobs.map((job) => job.status), ['passed', 'failed', 'passed']);
});

test('a resume with nothing left to run rebuilds the reports without a container', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  await journaledRun(outDir);
  const journal = await readJournal(outDir);
  const toRun = jobsToRun(suite, journal);
  t.deepEqual(toRun.jobs, []);
  const { factory } = await journaledRun(outDir, { toRun, resumed: journal });
  t.is(factory.ledger.execs.length, 0);
  t.deepEqual((await results(outDir)).jobs.map((job) => job.status), ['passed', 'failed', 'passed']);
});

test('journal writes are serialized, and a new run never appends to an old journal', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  const writer = await JournalWriter.open(outDir, {
    suite: 's',
    suiteFile: '/s.json',
    suiteSha256: 'b'.repeat(64),
    jobs: ['x', 'y'],
    startedAt: new Date().toISOString(),
    resume: false,
    settings: { concurrency: 1, checkoutTimeoutMs: 1 },
  });
  const job = (name: string) => ({ name, status: 'passed' as const, exitCode: 0, attempts: 1, waitMs: 0, runMs: 0, stdout: null, stderr: null, artifacts: [], history: [] });
  await Promise.all([writer.record(job('x')), writer.record(job('y'))]);
  await writer.close();
  await t.throwsAsync(JournalWriter.open(outDir, { suite: 's', suiteFile: '/s.json', suiteSha256: 'b', jobs: [], startedAt: '', resume: false, settings: { concurrency: 1, checkoutTimeoutMs: 1 } }), {
    code: 'EEXIST',
  }, 'a new run never appends to an old journal');
  t.deepEqual([...(await readJournal(outDir)).results.keys()], ['x', 'y']);
});

test('containers a run could not remove are in the journal\'s end line and in results.json', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-journal-'));
  const { run } = await journaledRun(outDir, {
    tamper: (container) => {
      if (container.name === 'fake-1') container.destroyFailuresLeft = Infinity;
    },
    removalTimeoutMs: 50,
  });
  t.deepEqual(run.result.leftBehind.map((left) => left.name), ['fake-1']);
  const document = await results(outDir);
  t.is(document.totals.leftBehind, 1);
  t.deepEqual(document.leftBehind, [{ name: 'fake-1', reason: 'Removing container fake-1 failed: the engine is busy' }]);
  t.deepEqual((await readJournal(outDir)).ends[0]?.leftBehind, document.leftBehind);
  t.deepEqual(document.jobs.map((job) => job.status), ['passed', 'failed', 'passed'], 'the jobs\' statuses do not change');
});
