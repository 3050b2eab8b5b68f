import test from 'ava';
import { benchKind, benchLabConfig } from '../../harness/bench/lab-hosts.js';
import { benchJobEnv, LabInstantFactory, sleepMsOf, type CommandRun } from '../../harness/bench/lab-instant-factory.js';
import { LabJobWatch } from '../../harness/bench/lab-job-watch.js';
import { benchSuite } from '../../harness/bench/lab-suite.js';
import { kindConcurrency } from '../../harness/lab/kind-concurrency.js';
import { parseLabJobData } from '../../harness/lab/lab-job.js';

test('sleep SECONDS is the one command an instant container runs', (t) => {
  t.is(sleepMsOf(['sleep', '0.05']), 50);
  t.is(sleepMsOf(['sleep', '2']), 2_000);
  t.is(sleepMsOf(['sleep', '0']), 0);
  for (const argv of [['sleep'], ['sleep', ''], ['sleep', '-1'], ['sleep', '1e3'], ['sleep', '1', '2'], ['/bin/sleep', '1'], ['sleep', 'Infinity']]) {
    t.is(sleepMsOf(argv), undefined, JSON.stringify(argv));
  }
});

test("an instant container's sleep takes its time and tells whose command started and ended, and when", async (t) => {
  const started: [string, number][] = [];
  const ended: CommandRun[] = [];
  const factory = new LabInstantFactory({ started: (job, atMs) => started.push([job, atMs]), ended: (run) => ended.push(run) });
  const container = await factory.createContainer();
  t.is(container.describe().id, container.id);
  t.is(await container.state(), 'running');
  const before = performance.now();
  const result = await container.exec(['sleep', '0.03'], { env: { [benchJobEnv]: 'd7' } });
  t.deepEqual(result, { exitCode: 0, stdout: '', stderr: '', timedOut: false });
  t.is(started.length, 1);
  t.is(started[0]?.[0], 'd7');
  const [run] = ended;
  t.is(run?.job, 'd7');
  t.true((run?.startMs ?? 0) >= before);
  t.is(run?.startMs, started[0]?.[1]);
  // Timers never fire early; the length is at least what was asked.
  t.true((run?.endMs ?? 0) - (run?.startMs ?? 0) >= 29);
});

test('any other command exits 127 and reports nothing; an aborted sleep rejects; each container is new', async (t) => {
  const runs: CommandRun[] = [];
  const factory = new LabInstantFactory({ started: () => undefined, ended: (run) => runs.push(run) });
  const container = await factory.createContainer();
  const other = await container.exec(['sh', '-c', 'true']);
  t.is(other.exitCode, 127);
  t.regex(other.stderr, /sh: not found/);
  const controller = new AbortController();
  const sleeping = container.exec(['sleep', '10'], { signal: controller.signal });
  controller.abort(new Error('stop'));
  await t.throwsAsync(sleeping);
  t.deepEqual(runs, []);
  await t.throwsAsync(container.readFile('/x'), { message: /no such file/ });
  await container.destroy();
  t.not((await factory.createContainer()).id, container.id);
});

test('the bench suite is a valid suite of sleeps of the bench kind, each job carrying its key', (t) => {
  const suite = benchSuite('drain', 12, 50, 'd');
  t.is(suite.name, 'drain');
  t.is(suite.jobs.length, 12);
  t.deepEqual(
    suite.jobs.map((job) => job.name),
    Array.from({ length: 12 }, (_, index) => `job-${String(index).padStart(2, '0')}`),
  );
  for (const [index, job] of suite.jobs.entries()) {
    t.deepEqual(job.command, ['sleep', '0.05']);
    t.deepEqual(job.env, { [benchJobEnv]: `d${index}` });
    t.is(job.kind, benchKind);
    // What a worker reads back from Redis passes its own check.
    t.is(parseLabJobData({ suiteId: 's', index, job }, benchKind).job.name, job.name);
  }
  t.deepEqual(benchSuite('one', 1, 0, 's3-').jobs[0]?.command, ['sleep', '0']);
  t.is(benchSuite('one', 1, 0, 's3-').jobs[0]?.env[benchJobEnv], 's3-0');
  t.throws(() => benchSuite('none', 0, 50, 'd'), { instanceOf: RangeError });
});

test("a bench host's config takes 4 jobs at once, as warmpool worker would from it, with room for 4 more held", (t) => {
  const config = benchLabConfig(4);
  t.deepEqual([...config.kinds.keys()], [benchKind]);
  t.is(kindConcurrency(config.kinds, config.host.maxContainers).get(benchKind), 4);
  t.is(config.host.maxContainers, 8);
  const kind = config.kinds.get(benchKind);
  t.is(kind?.min, 4);
  t.is(kind?.idleTtlMs, Infinity);
});

test('the watch counts ends per suite and by status, and says when a suite is through', async (t) => {
  const watch = new LabJobWatch();
  const through = watch.suiteEnded('abc', 2);
  let resolved = false;
  void through.then(() => (resolved = true));
  watch.emit({ event: 'job-started', jobId: 'abc.0' });
  watch.emit({ event: 'job-ended', jobId: 'abc.0', status: 'passed' });
  watch.emit({ event: 'job-ended', jobId: 'other.0', status: 'passed' });
  await Promise.resolve();
  t.false(resolved);
  watch.emit({ event: 'job-ended', jobId: 'abc.1', status: 'failed' });
  await through;
  t.deepEqual([...watch.statuses('abc')], [
    ['passed', 1],
    ['failed', 1],
  ]);
  t.is(typeof watch.endedAt('abc.1'), 'number');
  t.is(watch.endedAt('abc.2'), undefined);
  const again = await Promise.race([watch.suiteEnded('abc', 2).then(() => 'at once'), new Promise((resolve) => setImmediate(() => resolve('waiting')))]);
  t.is(again, 'at once', 'a suite already through resolves at once');
});

test("the watch hands a command's start to whoever waits for it, and keeps each host's runs", async (t) => {
  const watch = new LabJobWatch();
  const first = watch.listener('host1');
  const second = watch.listener('host2');
  const start = watch.commandStart('s0-0');
  first.started('d1', 1);
  second.started('s0-0', 42);
  t.is(await start, 42);
  first.ended({ job: 'd1', startMs: 1, endMs: 51 });
  first.ended({ job: 'w0', startMs: 0, endMs: 1 });
  second.ended({ job: 'd2', startMs: 3, endMs: 53 });
  t.deepEqual(
    watch.runsByHost((job) => job.startsWith('d')),
    [[{ job: 'd1', startMs: 1, endMs: 51 }], [{ job: 'd2', startMs: 3, endMs: 53 }]],
  );
});
