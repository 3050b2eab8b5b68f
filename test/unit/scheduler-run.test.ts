import test from 'ava';
import { getEventListeners } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory, missingImageFactory } from '../../fixtures/fake-runnable.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import type { JobResult } from '../../harness/scheduler/job-result.js';
import { runJob, type AttemptOutputText } from '../../harness/scheduler/job-runner.js';
import { RemovalQueue } from '../../harness/scheduler/removal-queue.js';
import { runSuite, type SchedulerEvent, type SchedulerOptions, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

interface RunSetup {
  readonly factory?: FakeRunnableFactory;
  readonly size?: number;
  readonly concurrency?: number;
  readonly options?: Partial<SchedulerOptions>;
}

interface Run {
  readonly result: SuiteResult;
  readonly outDir: string;
  readonly factory: FakeRunnableFactory;
  readonly job: (name: string) => JobResult;
}

/** Runs jobs on an in-process pool of fake containers, then cleans the pool up as the CLI does. */
async function runJobs(jobs: readonly unknown[], setup: RunSetup = {}): Promise<Run> {
  const factory = setup.factory ?? new FakeRunnableFactory();
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-run-'));
  const source = PoolSource.start(factory, { size: setup.size ?? 2 });
  let result: SuiteResult;
  try {
    result = await runSuite(validateSuite({ name: 'unit', jobs }), {
      source,
      concurrency: setup.concurrency ?? 2,
      outDir,
      checkoutTimeoutMs: 5_000,
      ...setup.options,
    });
  } finally {
    await source.close();
  }
  const job = (name: string): JobResult => {
    const found = result.jobs.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no job ${name}`);
    return found;
  };
  return { result, outDir, factory, job };
}

test('each job ends passed, failed, timeout or error, and every container is destroyed', async (t) => {
  const { result, job, factory, outDir } = await runJobs([
    { name: 'pass', command: ['out:hello', 'err:warn'] },
    { name: 'fail', command: ['out:partial', 'exit:3'] },
    { name: 'slow', command: ['out:started', 'hang'], timeoutMs: 50 },
    { name: 'broken', command: ['crash'] },
  ]);
  t.deepEqual(
    result.jobs.map((j) => [j.name, j.status, j.exitCode]),
    [
      ['pass', 'passed', 0],
      ['fail', 'failed', 3],
      ['slow', 'timeout', null],
      ['broken', 'error', null],
    ],
  );
  t.is(job('fail').reason, 'exit code 3');
  t.is(job('slow').reason, 'timed out after 50 ms');
  t.regex(job('broken').reason ?? '', /could not be run: the engine broke off/);
  t.deepEqual(result.totals, { jobs: 4, attempts: 4, passed: 1, failed: 1, timeout: 1, error: 1, cancelled: 0, replacedContainers: 0, leftBehind: 0 });
  t.is(await readFile(join(outDir, job('pass').stdout ?? ''), 'utf8'), 'hello');
  t.is(await readFile(join(outDir, job('pass').stderr ?? ''), 'utf8'), 'warn');
  t.is(await readFile(join(outDir, job('slow').stdout ?? ''), 'utf8'), 'started', 'a timed-out job keeps its output');
  t.is(job('broken').stdout, null);
  t.deepEqual(factory.ledger.live(), [], 'no container outlives the run');
  for (const j of result.jobs) {
    t.true(j.waitMs >= 0 && j.runMs >= 0);
    t.truthy(j.history[0]?.container);
  }
  t.true(job('slow').runMs >= 45, `runMs ${job('slow').runMs} covers the timeout`);
});

test('files, env and artifacts go in and come out', async (t) => {
  const { job, outDir } = await runJobs([
    {
      name: 'io',
      command: ['cat:/in/data.txt', 'env:GREETING', 'write:/out/report.txt=all good', 'write:/../../escape.txt=caught'],
      env: { GREETING: ' hi' },
      files: { '/in/data.txt': 'data' },
      artifacts: ['/out/report.txt', '/out/missing.txt', '/../../escape.txt'],
    },
  ]);
  const io = job('io');
  t.is(io.status, 'passed');
  t.is(await readFile(join(outDir, io.stdout ?? ''), 'utf8'), 'data hi');
  const [report, missing, escape] = io.artifacts;
  t.is(report?.file, 'jobs/io/attempt-1/artifacts/out/report.txt');
  t.is(await readFile(join(outDir, report?.file ?? ''), 'utf8'), 'all good');
  t.is(missing?.file, undefined);
  t.regex(missing?.error ?? '', /no such file/);
  t.is(escape?.file, 'jobs/io/attempt-1/artifacts/escape.txt', 'a path climbing out is saved inside the attempt directory');
  t.is(await readFile(join(outDir, escape?.file ?? ''), 'utf8'), 'caught');
});

test('a job whose files cannot be copied in ends error', async (t) => {
  const { job } = await runJobs([{ name: 'ro', command: ['out:x'], files: { '/etc/x': 'y' } }], {
    factory: new FakeRunnableFactory({ failWrites: true }),
  });
  t.is(job('ro').status, 'error');
  t.regex(job('ro').reason ?? '', /copying files in failed: .*read-only/);
});

test('a job ends error when no container is ready within the checkout timeout', async (t) => {
  const factory = new FakeRunnableFactory({ createDelayMs: 60_000 });
  const started = Date.now();
  const { job } = await runJobs([{ name: 'starved', command: ['out:x'] }], { factory, options: { checkoutTimeoutMs: 50 } });
  t.is(job('starved').status, 'error');
  t.regex(job('starved').reason ?? '', /no container: No container was ready within 50 ms/);
  t.true(job('starved').waitMs >= 45);
  t.true(Date.now() - started < 30_000, 'cleanup cancels the 60 s creations');
});

test('a missing image fails waiting jobs at once instead of after the checkout timeout', async (t) => {
  const started = Date.now();
  const { result } = await runJobs(
    [
      { name: 'a', command: ['out:x'] },
      { name: 'b', command: ['out:x'], retries: 1 },
    ],
    { factory: missingImageFactory(), options: { checkoutTimeoutMs: 60_000 } },
  );
  t.true(Date.now() - started < 30_000, 'not after the 60 s checkout timeout');
  for (const job of result.jobs) {
    t.is(job.status, 'error');
    t.regex(job.reason ?? '', /no container: Image fake\/missing:latest is not available/);
  }
  t.is(result.jobs[1]?.attempts, 2, 'an errored job is retried');
});

test('retries rerun only failed and errored jobs, each time in a new container', async (t) => {
  const { result, job, factory } = await runJobs(
    [
      { name: 'flaky', command: ['fail-first:flaky:2', 'out:ok'], retries: 3 },
      { name: 'always', command: ['exit:1'], retries: 2 },
      { name: 'steady', command: ['out:ok'], retries: 3 },
      { name: 'slow', command: ['hang'], timeoutMs: 30, retries: 3 },
      { name: 'crashy', command: ['crash'], retries: 1 },
    ],
    { size: 3, concurrency: 3 },
  );
  t.deepEqual(
    result.jobs.map((j) => [j.name, j.status, j.attempts, j.history.map((a) => a.status)]),
    [
      ['flaky', 'passed', 3, ['failed', 'failed', 'passed']],
      ['always', 'failed', 3, ['failed', 'failed', 'failed']],
      ['steady', 'passed', 1, ['passed']],
      ['slow', 'timeout', 1, ['timeout']],
      ['crashy', 'error', 2, ['error', 'error']],
    ],
  );
  const containers = result.jobs.flatMap((j) => j.history.map((a) => a.container));
  t.is(new Set(containers).size, containers.length, 'every attempt had a container of its own');
  t.is(factory.ledger.execs.length, 10);
  t.deepEqual(job('flaky').history.map((a) => a.stdout), [1, 2, 3].map((n) => `jobs/flaky/attempt-${n}/stdout.log`));
  t.is(job('flaky').stdout, 'jobs/flaky/attempt-3/stdout.log');
});

test('the pool makes a container for each job and none after the last one starts; a retry still gets one', async (t) => {
  const jobs = Array.from({ length: 6 }, (_, n) => ({ name: `job-${n}`, command: ['out:ok'] }));
  const { result, factory } = await runJobs([...jobs, { name: 'flaky', command: ['fail-first:flaky:1', 'out:ok'], retries: 1 }], { size: 4, concurrency: 2 });
  t.is(result.totals.passed, 7);
  t.is(factory.ledger.created.length, 8, 'seven jobs and one retry: eight containers, none left ready for nobody');
});

test('never more than K jobs at once', async (t) => {
  const jobs = Array.from({ length: 12 }, (_, n) => ({ name: `job-${n}`, command: ['sleep:25'] }));
  const { result, factory } = await runJobs(jobs, { size: 6, concurrency: 3 });
  t.is(result.totals.passed, 12);
  t.is(factory.ledger.maxActiveExecs, 3, 'three execs overlapped, never four');
  t.is(result.maxActiveJobs, 3);
});

test('concurrency 1 runs jobs one after another, in suite order', async (t) => {
  const jobs = Array.from({ length: 4 }, (_, n) => ({ name: `job-${n}`, command: ['sleep:5'] }));
  const { factory } = await runJobs(jobs, { size: 2, concurrency: 1 });
  t.is(factory.ledger.maxActiveExecs, 1);
  const ended = factory.ledger.execs.map((exec) => exec.endedAt ?? Infinity);
  const started = factory.ledger.execs.map((exec) => exec.startedAt);
  for (let n = 1; n < 4; n++) t.true((started[n] ?? 0) >= (ended[n - 1] ?? Infinity));
});

test('a command that ignores its timeout is abandoned after the grace period and its container destroyed', async (t) => {
  const { job, factory } = await runJobs([{ name: 'deaf', command: ['out:x', 'deaf', 'hang'], timeoutMs: 30 }], {
    options: { killGraceMs: 30 },
  });
  t.is(job('deaf').status, 'timeout');
  t.regex(job('deaf').reason ?? '', /did not stop and its container was destroyed/);
  t.deepEqual(factory.ledger.live(), []);
  t.is(factory.ledger.execs[0]?.outcome, 'aborted');
});

test('an abort stops running jobs, never starts queued ones, destroys their containers and keeps every result', async (t) => {
  const controller = new AbortController();
  const running = new Set<string>();
  const onEvent = (event: SchedulerEvent): void => {
    if (event.phase === 'running') running.add(event.job);
    if (running.size === 2) controller.abort(new Error('interrupted by SIGINT'));
  };
  const jobs = Array.from({ length: 6 }, (_, n) => ({ name: `job-${n}`, command: ['hang'], timeoutMs: 60_000 }));
  const started = Date.now();
  const { result, factory } = await runJobs(jobs, { size: 2, concurrency: 2, options: { signal: controller.signal, onEvent } });
  t.true(Date.now() - started < 30_000, 'not after the 60 s jobs');
  t.is(result.interrupted, 'interrupted by SIGINT');
  t.deepEqual(result.jobs.map((j) => j.status), Array(6).fill('cancelled'));
  t.deepEqual(result.jobs.map((j) => j.attempts), [1, 1, 0, 0, 0, 0]);
  t.is(result.jobs[0]?.reason, 'interrupted by SIGINT while running');
  t.is(result.jobs[5]?.reason, 'not started: interrupted by SIGINT');
  t.is(result.totals.cancelled, 6);
  t.deepEqual(factory.ledger.live(), [], 'the running jobs\' containers and the pool\'s are destroyed');
  t.true(factory.ledger.execs.every((exec) => exec.outcome === 'aborted'));
});

test('an abort while jobs wait for containers cancels them', async (t) => {
  const controller = new AbortController();
  const factory = new FakeRunnableFactory({ createDelayMs: 10_000 });
  setTimeout(() => controller.abort(), 50);
  const { result } = await runJobs([{ name: 'w', command: ['out:x'], retries: 2 }], { factory, options: { signal: controller.signal } });
  t.is(result.jobs[0]?.status, 'cancelled');
  t.is(result.jobs[0]?.attempts, 1, 'a cancelled job is not retried');
  t.is(result.jobs[0]?.reason, 'interrupted while waiting for a container');
  t.is(result.interrupted, 'interrupted');
});

test('an already aborted signal runs nothing', async (t) => {
  const { result, factory } = await runJobs([{ name: 'x', command: ['out:x'] }], { options: { signal: AbortSignal.abort('stop') } });
  t.is(result.jobs[0]?.status, 'cancelled');
  t.is(result.jobs[0]?.reason, 'not started: stop');
  t.is(factory.ledger.execs.length, 0);
});

test('the scheduler reports progress events in order', async (t) => {
  const events: string[] = [];
  await runJobs([{ name: 'e', command: ['exit:1'], retries: 1 }], {
    options: { onEvent: (event) => events.push(`${event.phase}${'attempt' in event ? `#${event.attempt}` : ''}`) },
  });
  t.deepEqual(events, ['waiting#1', 'running#1', 'attempt-ended#1', 'waiting#2', 'running#2', 'attempt-ended#2', 'job-ended']);
});

test('runSuite refuses a concurrency below 1', async (t) => {
  const source = PoolSource.start(new FakeRunnableFactory(), { size: 1 });
  try {
    await t.throwsAsync(runSuite(validateSuite({ name: 's', jobs: [{ name: 'a', command: ['x'] }] }), { source, concurrency: 0, outDir: tmpdir() }), {
      message: /`concurrency`/,
    });
  } finally {
    await source.close();
  }
});

test('a run leaves no listener on the caller\'s signal', async (t) => {
  const controller = new AbortController();
  await runJobs(
    [
      { name: 'a', command: ['out:x'], files: { '/f': 'y' } },
      { name: 'b', command: ['hang'], timeoutMs: 20 },
      { name: 'c', command: ['exit:1'], retries: 1 },
    ],
    { options: { signal: controller.signal } },
  );
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
});

test('runJob hands each attempt\'s whole output to onOutput, the same bytes its log files get', async (t) => {
  const factory = new FakeRunnableFactory();
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-run-'));
  const source = PoolSource.start(factory, { size: 1 });
  const removals = new RemovalQueue();
  const seen: AttemptOutputText[] = [];
  const long = 'x'.repeat(100);
  try {
    const [spec] = validateSuite({ name: 'unit', jobs: [{ name: 'flaky', command: [`out:${long}`, 'err:e', 'fail-first:flaky-out:1'], retries: 1 }] }).jobs;
    const result = await runJob(spec!, { source, outDir, checkoutTimeoutMs: 5_000, removals, keptOutputChars: 10, onOutput: (output) => seen.push(output) });
    t.is(result.status, 'passed');
    t.deepEqual(seen.map((output) => output.attempt), [1, 2]);
    for (const output of seen) {
      t.true(output.stdout.endsWith(long), 'not cut to keptOutputChars');
      t.is(output.stdout, await readFile(join(outDir, `jobs/flaky/attempt-${output.attempt}/stdout.log`), 'utf8'));
      t.is(output.stderr, await readFile(join(outDir, `jobs/flaky/attempt-${output.attempt}/stderr.log`), 'utf8'));
    }
  } finally {
    await removals.drain(5_000);
    await source.close();
    await rm(outDir, { recursive: true, force: true });
  }
});
