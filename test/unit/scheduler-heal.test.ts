import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory } from '../../fixtures/fake-runnable.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import type { JobResult } from '../../harness/scheduler/job-result.js';
import { runSuite, type SchedulerEvent, type SchedulerOptions, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

// Healing in the scheduler: containers dead at first use are replaced, not blamed on the job; a container the
// engine kills under a job makes it `error`, not `failed`.

interface Run {
  readonly result: SuiteResult;
  readonly factory: FakeRunnableFactory;
  readonly events: SchedulerEvent[];
  readonly outDir: string;
  readonly job: (name: string) => JobResult;
}

async function runJobs(jobs: readonly unknown[], factory: FakeRunnableFactory, options: Partial<SchedulerOptions> = {}, size = 1): Promise<Run> {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-heal-'));
  const source = PoolSource.start(factory, { size });
  const events: SchedulerEvent[] = [];
  let result: SuiteResult;
  try {
    result = await runSuite(validateSuite({ name: 'heal', jobs }), {
      source,
      concurrency: 1,
      outDir,
      checkoutTimeoutMs: 5_000,
      livenessSettleMs: 50,
      onEvent: (event) => events.push(event),
      ...options,
    });
  } finally {
    await source.close();
  }
  const job = (name: string): JobResult => {
    const found = result.jobs.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no job ${name}`);
    return found;
  };
  return { result, factory, events, outDir, job };
}

test('the happy path asks the engine nothing: no state() call for jobs that pass or fail', async (t) => {
  const factory = new FakeRunnableFactory();
  const { result } = await runJobs(
    [
      { name: 'passes', command: ['out:ok'], files: { '/f': 'x' } },
      { name: 'fails', command: ['exit:3'] },
      { name: 'times-out', command: ['hang'], timeoutMs: 20 },
    ],
    factory,
  );
  t.deepEqual(result.jobs.map((job) => job.status), ['passed', 'failed', 'timeout']);
  t.is(factory.ledger.stateCalls, 0);
});

test('a container dead at its first exec is replaced at once, recorded, and not counted as an attempt', async (t) => {
  // Containers 0 and 1 were killed while pooled; the job gets container 2.
  const factory = new FakeRunnableFactory({ killedAtCreation: (n) => n < 2 });
  const { job, result, events } = await runJobs([{ name: 'lucky', command: ['out:ran'] }], factory);
  const lucky = job('lucky');
  t.is(lucky.status, 'passed');
  t.is(lucky.attempts, 1);
  t.is(lucky.history[0]?.container, 'fake-2');
  t.deepEqual(lucky.replacedContainers?.map((replaced) => replaced.name), ['fake-0', 'fake-1']);
  t.deepEqual(lucky.history[0]?.replacedContainers, lucky.replacedContainers, "the attempt's own record");
  t.regex(lucky.replacedContainers?.[0]?.reason ?? '', /^Container fake-0 is not running: the command could not be started: container fake-0 is not running$/);
  t.is(result.totals.replacedContainers, 2);
  t.is(result.totals.attempts, 1);
  t.deepEqual(
    events.filter((event) => event.phase === 'replaced').map((event) => (event.phase === 'replaced' ? event.replaced.name : '')),
    ['fake-0', 'fake-1'],
  );
  t.deepEqual(factory.ledger.live().filter((container) => container.killed), [], 'the dead ones were removed');
});

test('a container dead at its first file copy is replaced the same way', async (t) => {
  const factory = new FakeRunnableFactory({ killedAtCreation: (n) => n === 0 });
  const { job } = await runJobs([{ name: 'with-files', command: ['cat:/in'], files: { '/in': 'data' } }], factory);
  t.is(job('with-files').status, 'passed');
  t.regex(job('with-files').replacedContainers?.[0]?.reason ?? '', /^Container fake-0 is not running: copying \/in in failed: container fake-0 is not running$/);
  t.deepEqual(factory.ledger.live(), []);
});

test('an attempt gives up after 10 replacements from a small pool: a pool of dead containers is an error, not an endless loop', async (t) => {
  const factory = new FakeRunnableFactory({ killedAtCreation: () => true });
  const { job } = await runJobs([{ name: 'doomed', command: ['out:never'], retries: 1 }], factory);
  const doomed = job('doomed');
  t.is(doomed.status, 'error');
  t.regex(doomed.reason ?? '', /^11 containers in a row were dead at first use; the last: Container fake-\d+ is not running/);
  t.is(doomed.attempts, 2, 'an error attempt is retried per `retries`, with replacements of its own');
  t.is(doomed.replacedContainers?.length, 22);
  t.is(factory.ledger.execs.length, 0, 'no command ever ran');
});

test('a container the engine kills under the command ends the job error, not failed, with its output kept', async (t) => {
  // The engine still says `running` twice after the kill: the scheduler asks again before it concludes.
  const factory = new FakeRunnableFactory({ staleRunningStates: 2 });
  const { job, outDir } = await runJobs([{ name: 'oom', command: ['out:working', 'killed'], artifacts: ['/out'] }], factory, { livenessSettleMs: 5_000 });
  const oom = job('oom');
  t.is(oom.status, 'error');
  t.is(oom.exitCode, null, 'killed by the engine: no exit code of its own');
  t.regex(oom.reason ?? '', /^the container died under the command: Container fake-0 died \(exit code 137\)$/);
  t.is(await readFile(join(outDir, oom.stdout ?? ''), 'utf8'), 'working');
  t.deepEqual(oom.artifacts, [], 'nothing is read from a dead container');
  t.is(factory.ledger.stateCalls, 3, 'running, running, stopped');
  t.is(oom.replacedContainers, undefined);
});

test('an exit code of 137 from a container that still runs is the command\'s own: failed', async (t) => {
  const factory = new FakeRunnableFactory();
  const { job } = await runJobs([{ name: 'self-kill', command: ['exit:137'] }, { name: 'not-found', command: ['exit:127'] }], factory);
  t.is(job('self-kill').status, 'failed');
  t.is(job('self-kill').exitCode, 137);
  t.is(job('not-found').status, 'failed');
  t.true(factory.ledger.stateCalls >= 2, 'asked, since the code could have been a kill');
});

test('a job killed under it is retried as an infrastructure error, in a new container', async (t) => {
  const factory = new FakeRunnableFactory();
  const { job } = await runJobs([{ name: 'flaky-host', command: ['killed'], retries: 1 }], factory);
  const flaky = job('flaky-host');
  t.deepEqual(flaky.history.map((attempt) => [attempt.status, attempt.container]), [
    ['error', 'fake-0'],
    ['error', 'fake-1'],
  ]);
});

test('an engine that breaks off the exec while the container runs is an error, not a replacement', async (t) => {
  const factory = new FakeRunnableFactory();
  const { job } = await runJobs([{ name: 'broken', command: ['crash'] }], factory);
  t.is(job('broken').status, 'error');
  t.regex(job('broken').reason ?? '', /^the command could not be run: the engine broke off/);
  t.is(job('broken').replacedContainers, undefined);
});
