import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../fixtures/engines/engine-config.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { createBackendFactory, reapBackendOrphans, resolveBackendSettings, type BackendName, type BackendSettings } from '../../harness/backend.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import { junitCounts } from '../../harness/scheduler/junit-xml.js';
import { prepareOutDir, writeResults, type ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { runSuite, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { loadSuite, validateSuite, type Suite } from '../../harness/scheduler/suite.js';
import { assertEngine, containersOfPool, CountingSource, watchDockerEventsOfPool } from './engines.js';
import { findAll, parseXml, type XmlElement } from './xml-parse.js';

export const suitePath = (name: string): string => join(repoRoot, 'fixtures', 'suites', name);

/** `warmpool run` as a separate process, as a user runs it. */
export function runCli(args: readonly string[], env: Record<string, string> = {}) {
  return execa('node', ['--import', 'tsx', 'harness/cli/warmpool.ts', 'run', ...args], { cwd: repoRoot, reject: false, env, all: true });
}

/** Asserts a junit.xml parses and its counts match both its test cases and the job statuses. */
export function checkJunit(t: { is(actual: unknown, expected: unknown, message?: string): void }, xml: string, result: SuiteResult): XmlElement {
  const root = parseXml(xml);
  const suite = findAll(root, 'testsuite')[0];
  const expected = junitCounts(result.jobs);
  t.is(suite?.attributes['tests'], String(expected.tests), 'tests');
  t.is(suite?.attributes['failures'], String(expected.failures), 'failures');
  t.is(suite?.attributes['errors'], String(expected.errors), 'errors');
  t.is(suite?.attributes['skipped'], String(expected.skipped), 'skipped');
  t.is(findAll(root, 'testcase').length, expected.tests, 'one testcase per job');
  t.is(findAll(root, 'failure').length, expected.failures, 'failure elements');
  t.is(findAll(root, 'error').length, expected.errors, 'error elements');
  t.is(findAll(root, 'skipped').length, expected.skipped, 'skipped elements');
  return root;
}

/**
 * The scheduler on a real engine, the same tests for Docker and LXC. Every pool id is this file's own, so the
 * engine checks see only what these tests made, even with other test files running at once.
 */
export function registerSchedulerEngineTests(backend: BackendName): void {
  const runId = randomSuffix();
  const poolIds: string[] = [];
  const newPoolId = (what: string): string => {
    const id = `it-sched-${what}-${runId}`;
    poolIds.push(id);
    return id;
  };

  test.before(async () => {
    await assertEngine(backend);
  });

  test.after.always(async () => {
    // Only removes something if a test failed half-way; the tests themselves assert that nothing is left.
    await Promise.allSettled(poolIds.map((poolId) => reapBackendOrphans(resolveBackendSettings({ backend, poolId }), true)));
  });

  interface EngineRun {
    readonly result: SuiteResult;
    readonly document: ResultsDocument;
    readonly junit: string;
    readonly outDir: string;
    readonly counting: CountingSource;
  }

  async function runOnEngine(
    suite: Suite,
    options: { poolId: string; size: number; concurrency: number; checkoutTimeoutMs?: number; settings?: Partial<BackendSettings> },
  ): Promise<EngineRun> {
    const settings = resolveBackendSettings({ ...options.settings, backend, poolId: options.poolId });
    const counting = new CountingSource(PoolSource.start(createBackendFactory(settings), { size: options.size }));
    const outDir = await mkdtemp(join(tmpdir(), `warmpool-it-${backend}-`));
    await prepareOutDir(outDir);
    let result: SuiteResult;
    let files: { results: string; junit: string };
    try {
      result = await runSuite(suite, {
        source: counting,
        concurrency: options.concurrency,
        outDir,
        checkoutTimeoutMs: options.checkoutTimeoutMs ?? 60_000,
      });
      files = await writeResults(outDir, result, { backend, source: 'in-process', poolId: options.poolId, poolSize: options.size });
    } finally {
      await counting.close();
    }
    const document = JSON.parse(await readFile(files.results, 'utf8')) as ResultsDocument;
    return { result, document, junit: await readFile(files.junit, 'utf8'), outDir, counting };
  }

  test(`${backend}: pass, fail, timeout and no container give exactly those statuses, a junit.xml that parses, and no container left`, async (t) => {
    const good = newPoolId('ok');
    const run = await runOnEngine(await loadSuite(suitePath('statuses.json')), { poolId: good, size: 3, concurrency: 3 });
    t.deepEqual(
      run.document.jobs.map((job) => [job.name, job.status, job.exitCode]),
      [
        ['passes', 'passed', 0],
        ['fails', 'failed', 3],
        ['times-out', 'timeout', null],
      ],
    );
    const [passes, fails, timesOut] = run.document.jobs;
    t.is(await readFile(join(run.outDir, passes?.stdout ?? ''), 'utf8'), 'input <&> "quoted"\n', 'files and env went in');
    t.is(await readFile(join(run.outDir, passes?.artifacts[0]?.file ?? ''), 'utf8'), 'done\n', 'the artifact came out');
    t.is(await readFile(join(run.outDir, fails?.stderr ?? ''), 'utf8'), 'assertion failed: <1> & <2>\n');
    t.is(await readFile(join(run.outDir, timesOut?.stdout ?? ''), 'utf8'), 'started\n', 'a timed-out job keeps what it printed');
    t.true((timesOut?.runMs ?? 0) >= 1_400 && (timesOut?.runMs ?? 0) < 20_000, `killed near its 1500 ms timeout (${timesOut?.runMs ?? 0} ms)`);
    for (const job of run.document.jobs) t.true(job.waitMs >= 0 && typeof job.runMs === 'number');
    t.deepEqual(run.document.totals, { jobs: 3, attempts: 3, passed: 1, failed: 1, timeout: 1, error: 0, cancelled: 0, replacedContainers: 0, leftBehind: 0 });
    const junit = checkJunit(t, run.junit, run.result);
    t.is(findAll(junit, 'testsuite')[0]?.attributes['failures'], '2', 'a timeout counts as a failure');
    t.regex(findAll(junit, 'system-err')[0]?.text ?? '', /<1> & <2>/);

    // A second run on a backend whose image (Docker) or base container (LXC) is missing: no container can be had.
    const broken = newPoolId('none');
    const missing: Partial<BackendSettings> =
      // A loopback registry that refuses connections: the engine's pull fails at once, without leaving the machine.
      backend === 'docker' ? { dockerImage: '127.0.0.1:1/warmpool/missing:latest' } : { lxcBase: `missing-base-${runId}` };
    const none = await runOnEngine(validateSuite({ name: 'no-container', jobs: [{ name: 'unobtainable', command: ['/bin/true'] }] }), {
      poolId: broken,
      size: 1,
      concurrency: 1,
      // Far longer than the test: the reason below says the image failed the job, not this timeout.
      checkoutTimeoutMs: 120_000,
      settings: missing,
    });
    t.deepEqual(none.document.jobs.map((job) => [job.name, job.status, job.exitCode, job.attempts]), [['unobtainable', 'error', null, 1]]);
    t.regex(none.document.jobs[0]?.reason ?? '', /^no container: Image .* is not available/);
    t.is(findAll(checkJunit(t, none.junit, none.result), 'error').length, 1);

    t.deepEqual(await containersOfPool(backend, good), [], 'no container of the run is left');
    t.deepEqual(await containersOfPool(backend, broken), []);
  });

  test(`${backend}: retries rerun only the failed job, each time in a new container`, async (t) => {
    const poolId = newPoolId('retry');
    const run = await runOnEngine(await loadSuite(suitePath('retries.json')), { poolId, size: 2, concurrency: 3 });
    t.deepEqual(
      run.document.jobs.map((job) => [job.name, job.status, job.attempts, job.history.map((attempt) => attempt.status)]),
      [
        ['always-fails', 'failed', 3, ['failed', 'failed', 'failed']],
        ['passes', 'passed', 1, ['passed']],
        ['times-out', 'timeout', 1, ['timeout']],
      ],
    );
    const attempts = run.document.jobs[0]?.history ?? [];
    const containers = attempts.map((attempt) => attempt.container);
    t.is(new Set(containers).size, 3, 'three attempts, three containers');
    const hostnames = await Promise.all(attempts.map(async (attempt) => (await readFile(join(run.outDir, attempt.stdout ?? ''), 'utf8')).trim()));
    t.is(new Set(hostnames).size, 3, `each attempt saw another machine: ${hostnames.join(', ')}`);
    t.is(run.counting.names.length, 5, 'five checkouts in all: 3 + 1 + 1');
    t.deepEqual(await containersOfPool(backend, poolId), []);
  });

  test(`${backend}: with concurrency 2 no more than 2 jobs run at once`, async (t) => {
    const poolId = newPoolId('conc');
    const jobs = Array.from({ length: 6 }, (_, n) => ({ name: `sleeper-${n}`, command: ['/bin/sh', '-c', 'sleep 1'], timeoutMs: 30_000 }));
    const started = Date.now();
    const run = await runOnEngine(validateSuite({ name: 'concurrency', jobs }), { poolId, size: 4, concurrency: 2 });
    t.is(run.result.totals.passed, 6);
    t.is(run.counting.maxOut, 2, 'two containers in use at once, never three');
    t.is(run.result.maxActiveJobs, 2);
    // Seen from the results alone: at no instant do more than two attempts overlap.
    const edges = run.document.jobs.flatMap((job) =>
      job.history.flatMap((attempt) => [
        { at: Date.parse(attempt.startedAt), delta: 1 },
        { at: Date.parse(attempt.endedAt), delta: -1 },
      ]),
    );
    edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let overlap = 0;
    let most = 0;
    for (const edge of edges) most = Math.max(most, (overlap += edge.delta));
    t.true(most <= 2, `at most 2 overlapping attempts (${most})`);
    t.true(Date.now() - started >= 3_000, 'six one-second jobs two at a time take three seconds at least');
    t.deepEqual(await containersOfPool(backend, poolId), []);
  });

  test(`${backend}: warmpool run refuses an invalid suite with a clear message and creates no container`, async (t) => {
    const poolId = newPoolId('bad');
    const events = backend === 'docker' ? await watchDockerEventsOfPool(poolId) : undefined;
    const out = join(await mkdtemp(join(tmpdir(), 'warmpool-it-bad-')), 'out');
    const run = await runCli([suitePath('invalid-timeout.json'), '--backend', backend, '--pool-id', poolId, '--out', out]);
    t.is(run.exitCode, 2, run.all);
    t.regex(run.stderr, /invalid suite .*invalid-timeout\.json: Expected `jobs\[1\] "bad-timeout" → timeoutMs` to be an integer number of milliseconds .*got `"soon"`/);
    t.deepEqual(await containersOfPool(backend, poolId), []);
    if (events) t.deepEqual(await events.stop(), [], 'the engine never saw a container of this pool');
  });
}
