import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory } from '../../fixtures/fake-runnable.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import { runJob } from '../../harness/scheduler/job-runner.js';
import { BackgroundLogWrites, writeLogFiles } from '../../harness/scheduler/log-files.js';
import { RemovalQueue } from '../../harness/scheduler/removal-queue.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

test('writeLogFiles makes the directory and writes every file, empty ones too', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'warmpool-logs-'));
  try {
    const dir = join(base, 'jobs', 'j', 'attempt-1');
    await writeLogFiles({ dir, files: [['stdout.log', 'out\n'], ['stderr.log', '']] });
    t.is(await readFile(join(dir, 'stdout.log'), 'utf8'), 'out\n');
    t.is(await readFile(join(dir, 'stderr.log'), 'utf8'), '');
    const blocked = join(base, 'a-file');
    await writeFile(blocked, 'x');
    await t.throwsAsync(writeLogFiles({ dir: join(blocked, 'attempt-1'), files: [['stdout.log', 'out']] }), { code: 'ENOTDIR' });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('background log writes: runJob returns before they end, drain() waits for them, a failure is reported, not thrown', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'warmpool-logs-'));
  const failures: string[] = [];
  const logs = new BackgroundLogWrites((dir, message) => failures.push(`${dir}: ${message}`));
  const source = PoolSource.start(new FakeRunnableFactory(), { size: 1 });
  const removals = new RemovalQueue();
  try {
    const [spec] = validateSuite({ name: 'unit', jobs: [{ name: 'j', command: ['out:hello', 'err:warn'] }] }).jobs;
    const result = await runJob(spec!, { source, outDir: base, checkoutTimeoutMs: 5_000, removals, backgroundLogs: logs });
    t.is(result.status, 'passed');
    t.is(result.stdout, 'jobs/j/attempt-1/stdout.log');
    t.is(logs.pending, 1, 'the result came back while its logs were still being written');
    await logs.drain();
    t.is(logs.pending, 0);
    t.is(await readFile(join(base, 'jobs/j/attempt-1/stdout.log'), 'utf8'), 'hello');
    t.is(await readFile(join(base, 'jobs/j/attempt-1/stderr.log'), 'utf8'), 'warn');

    const blocked = join(base, 'a-file');
    await writeFile(blocked, 'x');
    logs.write({ dir: join(blocked, 'attempt-1'), files: [['stdout.log', 'lost']] });
    await logs.drain();
    t.is(failures.length, 1);
    t.regex(failures[0] ?? '', /a-file\/attempt-1: .*ENOTDIR/);
  } finally {
    await removals.drain(5_000);
    await source.close();
    await rm(base, { recursive: true, force: true });
  }
});
