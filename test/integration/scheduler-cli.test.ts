import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomSuffix } from '../../lib/backends/owner.js';
import { reapBackendOrphans, resolveBackendSettings } from '../../harness/backend.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { runCli, suitePath } from '../helpers/scheduler-engine-tests.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';
import { findAll, parseXml } from '../helpers/xml-parse.js';

// `warmpool run` as a separate process on Docker: exit codes, the demo suite and Ctrl-C.
const runId = randomSuffix();
const poolIds: string[] = [];
const newPoolId = (what: string): string => {
  const id = `it-cli-${what}-${runId}`;
  poolIds.push(id);
  return id;
};

test.before(async () => {
  await assertEngine('docker');
});

test.after.always(async () => {
  await Promise.allSettled(poolIds.map((poolId) => reapBackendOrphans(resolveBackendSettings({ backend: 'docker', poolId }), true)));
});

async function outDir(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'warmpool-cli-it-')), 'out');
}

async function readResults(out: string): Promise<ResultsDocument> {
  return JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ResultsDocument;
}

test('exit code 0 when every job passed', async (t) => {
  const poolId = newPoolId('ok');
  const out = await outDir();
  const run = await runCli([suitePath('all-pass.json'), '--pool-id', poolId, '--out', out]);
  t.is(run.exitCode, 0, run.all);
  t.regex(run.stdout, /all-pass: 2 jobs — 2 passed, 0 failed/);
  t.is((await readResults(out)).totals.passed, 2);
  t.deepEqual(await containersOfPool('docker', poolId), []);
});

test('exit code 1 when a job did not pass: the demo suite, as npm start runs it', async (t) => {
  const poolId = newPoolId('demo');
  const out = await outDir();
  const run = await runCli([suitePath('demo.json'), '--pool-id', poolId, '--out', out]);
  t.is(run.exitCode, 1, run.all);
  const results = await readResults(out);
  t.deepEqual(Object.fromEntries(results.jobs.map((job) => [job.name, job.status])), {
    hello: 'passed',
    'env-and-files': 'passed',
    arithmetic: 'passed',
    'slow-build': 'passed',
    'failing-assertion': 'failed',
    'fresh-container-per-retry': 'failed',
    'hangs-forever': 'timeout',
    'missing-artifact': 'passed',
  });
  t.is(results.jobs.find((job) => job.name === 'fresh-container-per-retry')?.attempts, 2);
  t.regex(run.stdout, /JOB\s+STATUS\s+TRIES/);
  t.regex(run.stdout, /demo: 8 jobs — 5 passed, 2 failed, 1 timed out, 0 errors, 0 cancelled/);
  const junit = parseXml(await readFile(join(out, 'junit.xml'), 'utf8'));
  t.like(findAll(junit, 'testsuite')[0]?.attributes, { tests: '8', failures: '3', errors: '0', skipped: '0' });
  t.deepEqual(await containersOfPool('docker', poolId), []);
});

test('exit code 2 for an invalid suite or bad flags', async (t) => {
  const invalid = await runCli([suitePath('invalid-timeout.json'), '--pool-id', newPoolId('bad')]);
  t.is(invalid.exitCode, 2);
  t.regex(invalid.stderr, /jobs\[1\] "bad-timeout" → timeoutMs/);
  const flags = await runCli([suitePath('all-pass.json'), '--concurrency', '0']);
  t.is(flags.exitCode, 2);
  t.regex(flags.stderr, /--concurrency must be an integer from 1 up/);
  const poolId = newPoolId('out');
  const unusableOut = await runCli([suitePath('all-pass.json'), '--pool-id', poolId, '--out', '/etc/hostname/out']);
  t.is(unusableOut.exitCode, 2, unusableOut.all);
  t.regex(unusableOut.stderr, /--out \/etc\/hostname\/out cannot be used: ENOTDIR/);
  t.deepEqual(await containersOfPool('docker', poolId), [], 'the pool it had started is cleaned up');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} stops the run: running jobs cancelled, containers destroyed, pool cleaned up, results written`, async (t) => {
    const poolId = newPoolId(signal.toLowerCase());
    const out = await outDir();
    const run = runCli([suitePath('slow.json'), '--pool-id', poolId, '--out', out, '--concurrency', '2']);
    // Wait until the two running jobs' containers are checked out: the pool of 2 then refills to 4 on the engine.
    const deadline = Date.now() + 30_000;
    while ((await containersOfPool('docker', poolId)).length < 4) {
      if (Date.now() > deadline) throw new Error('the jobs never started');
      await sleep(100);
    }
    await sleep(500);
    // Not run.kill(): execa follows it with a SIGKILL 5 s later, which a loaded machine's cleanup can outlast.
    if (run.pid === undefined) throw new Error('warmpool run has no pid');
    process.kill(run.pid, signal);
    const ended = await run;
    t.is(ended.exitCode, 1, ended.all);
    t.regex(ended.stderr, new RegExp(`${signal}: stopping jobs`));
    const results = await readResults(out);
    t.is(results.interrupted, `interrupted by ${signal}`);
    t.deepEqual(results.jobs.map((job) => job.status), ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    t.deepEqual(results.jobs.map((job) => job.reason), [
      `interrupted by ${signal} while running`,
      `interrupted by ${signal} while running`,
      `not started: interrupted by ${signal}`,
      `not started: interrupted by ${signal}`,
    ]);
    t.is(await readFile(join(out, 'jobs', 'long-1', 'attempt-1', 'stdout.log'), 'utf8').catch(() => 'no log'), 'no log', 'a cancelled command has no verdict to log');
    t.like(findAll(parseXml(await readFile(join(out, 'junit.xml'), 'utf8')), 'testsuite')[0]?.attributes, { tests: '4', skipped: '4' });
    t.deepEqual(await containersOfPool('docker', poolId), [], 'no container of the run is left');
  });
}
