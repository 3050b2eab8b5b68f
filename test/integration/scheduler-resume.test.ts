import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../fixtures/engines/engine-config.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { reapBackendOrphans, resolveBackendSettings, type BackendName } from '../../harness/backend.js';
import { readJournal } from '../../harness/scheduler/journal.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { runCli, suitePath } from '../helpers/scheduler-engine-tests.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';
import { findAll, parseXml } from '../helpers/xml-parse.js';

// `warmpool run` killed with SIGKILL mid-suite keeps every finished job's result in its journal; `--resume OUT`
// removes what the killed run left on the engine, runs only the rest and writes the whole suite's results.
const runId = randomSuffix();
const backends: BackendName[] = ['docker', 'lxc'];
const poolIds = new Map(backends.map((backend) => [backend, `it-resume-${backend}-${runId}`]));

test.before(async () => {
  await Promise.all(backends.map((backend) => assertEngine(backend)));
});

test.after.always(async () => {
  // Only removes something if a test failed half-way; the tests assert that nothing is left.
  await Promise.allSettled(backends.map((backend) => reapBackendOrphans(resolveBackendSettings({ backend, poolId: poolIds.get(backend) ?? '' }), true)));
});

/** Resolves once `text` has appeared on the stream (the CLI prints a job's line after its result is journaled). */
function printed(stream: NodeJS.ReadableStream, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${JSON.stringify(text)} not printed within ${timeoutMs} ms; got: ${seen}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (!seen.includes(text)) return;
      clearTimeout(timer);
      stream.off('data', onData);
      resolve();
    };
    stream.on('data', onData);
  });
}

for (const backend of backends) {
  test(`${backend}: a run killed with SIGKILL mid-suite keeps its finished jobs; --resume completes the suite and leaves no container`, async (t) => {
    const poolId = poolIds.get(backend) ?? '';
    const out = join(await mkdtemp(join(tmpdir(), `warmpool-resume-${backend}-`)), 'out');
    const killed = execa('node', ['--import', 'tsx', 'harness/cli/warmpool.ts', 'run', suitePath('resumable.json'), '--backend', backend, '--pool-id', poolId, '--out', out, '--concurrency', '2'], {
      cwd: repoRoot,
      reject: false,
    });
    const stdout = killed.stdout;
    if (!stdout) throw new Error('no stdout from warmpool run');
    // Both quick jobs are done (and journaled) once the second job line is printed.
    await printed(stdout, '[2/4]', 90_000);
    // The slow jobs took the two containers the pool made for them (it makes none beyond the jobs to come) as
    // soon as the quick jobs' slots freed, and hold them for 15 s: wait until the quick jobs' containers are
    // removed and the engine holds just those two, then kill the run.
    const deadline = Date.now() + 60_000;
    while ((await containersOfPool(backend, poolId)).length !== 2) {
      if (Date.now() > deadline) throw new Error(`the engine never held just the slow jobs' two containers: ${(await containersOfPool(backend, poolId)).join(', ')}`);
      await sleep(100);
    }
    killed.kill('SIGKILL');
    const ended = await killed;
    t.is(ended.signal, 'SIGKILL');

    const journal = await readJournal(out);
    // In the order they ended, which is either.
    t.deepEqual(
      [...journal.results.values()].map((job) => [job.name, job.status]).sort(),
      [
        ['quick-1', 'passed'],
        ['quick-2', 'passed'],
      ],
      'every finished job is on disk; the killed ones are not',
    );
    await t.throwsAsync(stat(join(out, 'results.json')), undefined, 'the killed run wrote no results.json');
    const leftByTheKill = await containersOfPool(backend, poolId);
    t.true(leftByTheKill.length >= 2, `the kill left containers behind: ${leftByTheKill.join(', ')}`);

    const resumed = await runCli(['--resume', out]);
    t.is(resumed.exitCode, 0, resumed.all);
    // At least 2 of the 4: the engine may have finished removals the killed run had started, not more.
    const reaped = new RegExp(`Removed (\\d+) container\\(s\\) an earlier run of pool ${poolId} left behind`).exec(resumed.stdout);
    t.true(Number(reaped?.[1] ?? 0) >= 2, resumed.stdout);
    t.regex(resumed.stdout, /Resuming suite resumable in .*: 2 of 4 jobs have results; running the other 2, 2 at once/);
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ResultsDocument;
    t.deepEqual(
      results.jobs.map((job) => [job.name, job.status, job.attempts]),
      [
        ['quick-1', 'passed', 1],
        ['quick-2', 'passed', 1],
        ['slow-1', 'passed', 1],
        ['slow-2', 'passed', 1],
      ],
    );
    t.deepEqual(results.jobs.slice(0, 2), [journal.results.get('quick-1'), journal.results.get('quick-2')], 'the quick jobs were not run again');
    t.is(results.runs, 2);
    t.like(results, { backend, poolId });
    t.is(await readFile(join(out, results.jobs[2]?.stdout ?? ''), 'utf8'), 'slow one\n');
    const junit = parseXml(await readFile(join(out, 'junit.xml'), 'utf8'));
    t.like(findAll(junit, 'testsuite')[0]?.attributes, { tests: '4', failures: '0', errors: '0', skipped: '0' });
    t.is(findAll(junit, 'system-out')[0]?.text, 'quick one\n', "a journaled job's output is read back from its log");
    t.deepEqual(await containersOfPool(backend, poolId), [], 'no container of the pool is left');
  });
}
