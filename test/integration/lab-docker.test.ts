import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapBackendOrphans, resolveBackendSettings } from '../../harness/backend.js';
import type { LabStatus } from '../../harness/lab/lab-status.js';
import type { LabJobResult } from '../../harness/lab/lab-job.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { assertEngineReady, containersOfPool } from '../../fixtures/service/engine-probe.js';
import { killSpawned } from '../../fixtures/service/child-processes.js';
import {
  clearLab,
  deliveriesRecorded,
  jobsInFlight,
  labRedisUrl,
  restartFixtureRedis,
  runWarmpool,
  startWorker,
  testPoolId,
  testPrefix,
  twoKindWorkerConfig,
  type WorkerProcess,
} from '../../fixtures/lab/lab-fixture.js';

// A lab of three `warmpool worker` processes on this host, each with its own host id and pool ids, the fixture's
// Redis and the real Docker engine: a bad suite refused at submit, a Redis restart under a running suite, and a
// suite of 30 jobs across two kinds during which one worker is SIGKILLed. The tests run in order on the same
// workers; the last one stops them all and checks that nothing is left on the engine.

const url = labRedisUrl();
const password = decodeURIComponent(new URL(url).password);
const prefix = testPrefix('lab');
const hostIds = ['h1', 'h2', 'h3'] as const;
const hostPools = new Map(hostIds.map((id) => [id, testPoolId(`lab${id}`)]));
const kindPoolIds = [...hostPools.values()].flatMap((pool) => [`${pool}.alpha`, `${pool}.beta`]);
const workers = new Map<string, WorkerProcess>();
const configs = new Map<string, string>();
let workDir = '';

function worker(id: string): WorkerProcess {
  const found = workers.get(id);
  if (found === undefined) throw new Error(`no worker ${id}`);
  return found;
}

async function start(id: string): Promise<WorkerProcess> {
  const started = await startWorker({ url, prefix, hostId: id, config: configs.get(id) ?? '', out: join(workDir, `worker-${id}`) });
  workers.set(id, started);
  return started;
}

/** Jobs that print their kind's mark and sleep, alternately of kind alpha and beta; `longSeconds` adds a long one. */
async function writeSuite(name: string, jobs: number, seconds: number, longSeconds?: number): Promise<string> {
  const job = (jobName: string, kind: string, sleep: number) => ({
    name: jobName,
    kind,
    command: ['/bin/sh', '-c', `echo "kind $KIND_MARK"; sleep ${sleep}`],
    timeoutMs: 60_000,
  });
  const suite = {
    name,
    jobs: [
      ...(longSeconds === undefined ? [] : [job(`${name}-long`, 'alpha', longSeconds)]),
      ...Array.from({ length: jobs }, (_, index) => job(`${name}-${index}`, index % 2 === 0 ? 'alpha' : 'beta', seconds)),
    ],
  };
  const path = join(workDir, `${name}.json`);
  await writeFile(path, JSON.stringify(suite));
  return path;
}

async function labStatus(): Promise<LabStatus> {
  const status = await runWarmpool(['lab', 'status', '--prefix', prefix, '--json'], url);
  if (status.exitCode !== 0) throw new Error(`lab status failed: ${status.all}`);
  return JSON.parse(status.stdout) as LabStatus;
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** results.json of a lab suite: run's document, each job with its host, deliveries and infraRetries. */
type LabResultsDocument = Omit<ResultsDocument, 'jobs'> & { readonly jobs: readonly Omit<LabJobResult, 'outputs'>[] };

async function results(out: string): Promise<LabResultsDocument> {
  return JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as LabResultsDocument;
}

/** Each job printed the mark of the kind it asked for: it ran in a container of that kind. */
async function assertRanInItsKind(t: { is(a: unknown, b: unknown, m?: string): void }, out: string, jobs: readonly { name: string; kind?: string; stdout: string | null }[]): Promise<void> {
  for (const job of jobs) {
    const printed = (await readFile(join(out, job.stdout ?? 'missing'), 'utf8')).trim();
    t.is(printed, `kind ${job.kind === 'alpha' ? 'a' : 'b'}`, job.name);
  }
}

test.before(async () => {
  await assertEngineReady('docker');
  workDir = await mkdtemp(join(tmpdir(), 'warmpool-lab-it-'));
  for (const id of hostIds) configs.set(id, await twoKindWorkerConfig(hostPools.get(id) ?? ''));
  await Promise.all(hostIds.map(start));
});

test.after.always(async () => {
  await killSpawned();
  // Only removes something if a test failed half-way; the last test asserts that nothing is left.
  await Promise.allSettled(kindPoolIds.map((poolId) => reapBackendOrphans(resolveBackendSettings({ backend: 'docker', poolId }), true)));
  await clearLab(url, prefix);
});

test.serial('a bad suite is refused at submit, saying why, and nothing is enqueued', async (t) => {
  const unknownKind = join(workDir, 'unknown-kind.json');
  await writeFile(unknownKind, JSON.stringify({ name: 'bad', jobs: [{ name: 'ok', kind: 'alpha', command: ['true'] }, { name: 'typo', kind: 'alpah', command: ['true'] }] }));
  const refusedKind = await runWarmpool(['submit', unknownKind, '--prefix', prefix, '--out', join(workDir, 'bad-out')], url);
  t.is(refusedKind.exitCode, 2, refusedKind.all);
  t.regex(refusedKind.stderr, /job "typo" asks for kind "alpah".*the kinds are: "alpha", "beta"/);
  t.regex(refusedKind.stderr, /Nothing was enqueued/);

  const unknownField = join(workDir, 'unknown-field.json');
  await writeFile(unknownField, JSON.stringify({ name: 'bad', jobs: [{ name: 'sneaky', kind: 'alpha', command: ['true'], privileged: true }] }));
  const refusedField = await runWarmpool(['submit', unknownField, '--prefix', prefix], url);
  t.is(refusedField.exitCode, 2, refusedField.all);
  t.regex(refusedField.stderr, /invalid suite .*jobs\[0\] "sneaky" → privileged/);

  const status = await labStatus();
  t.deepEqual(
    status.queues.map(({ kind, waiting, active, completed, failed }) => ({ kind, waiting, active, completed, failed })),
    [
      { kind: 'alpha', waiting: 0, active: 0, completed: 0, failed: 0 },
      { kind: 'beta', waiting: 0, active: 0, completed: 0, failed: 0 },
    ],
  );
  t.deepEqual(status.suites, []);
  t.deepEqual(
    status.hosts.map((host) => [host.id, host.alive, host.capacity]),
    hostIds.map((id) => [id, true, 4]),
  );
  for (const output of [refusedKind.all, refusedField.all]) t.false(output?.includes(password), 'the Redis password is never printed');
});

test.serial('Redis restarted under a running suite: workers and the submitter reconnect and carry on; a long job is not taken for dead', async (t) => {
  const out = join(workDir, 'restart-out');
  // The long job runs more than twice the lock duration (5 s): its lock is renewed, it runs once.
  const submit = runWarmpool(['submit', await writeSuite('restart', 8, 2, 11), '--prefix', prefix, '--out', out], url);
  await until('jobs running', () => hostIds.some((id) => jobsInFlight(worker(id)).length > 0));
  const restartStart = Date.now();
  await restartFixtureRedis(url);
  const downMs = Date.now() - restartStart;
  const run = await submit;
  t.is(run.exitCode, 0, run.all);
  const document = await results(out);
  t.is(document.jobs.length, 9);
  t.like(document.totals, { jobs: 9, passed: 9, failed: 0, error: 0, timeout: 0, cancelled: 0, attempts: 9 });
  await assertRanInItsKind(t, out, document.jobs);
  const ranTwice = document.jobs.filter((job) => job.infraRetries > 0 || job.deliveries.length !== 1).map((job) => job.name);
  // A lock outlives a Redis outage shorter than its renewal margin (lockDuration - lockRenewTime = 3 s): then no
  // job runs twice. On a machine so loaded that the restart took longer, running again is the designed outcome.
  if (downMs < 2_500) t.deepEqual(ranTwice, [], `no job ran twice: neither the restart (${downMs} ms) nor the long run made a lock expire`);
  else t.log(`the restart took ${downMs} ms, past the locks' margin: ${ranTwice.length} job(s) ran again`);
  t.true((document.jobs.find((job) => job.name === 'restart-long')?.runMs ?? 0) >= 11_000);
  t.false(run.all?.includes(password), 'the Redis password is never printed');
});

test.serial('SIGTERM: a worker stops taking jobs, hands its running ones back after the grace period and exits 0; they run elsewhere, not as failures', async (t) => {
  const out = join(workDir, 'drain-out');
  // More jobs than h1 and h3 take at once (4 each), so h2 has some when it is told to stop. Each runs 10 s: the
  // signal may reach h2 seconds after its jobs started on a loaded machine, and they must outlast its 2 s grace.
  const detached = await runWarmpool(['submit', await writeSuite('drain', 12, 10), '--prefix', prefix, '--detach'], url);
  t.is(detached.exitCode, 0, detached.all);
  const suiteId = detached.stdout.trim();
  t.regex(suiteId, /^[a-z0-9]+-[0-9a-f]{8}$/, 'with --detach, stdout is the suite id alone');
  const early = await runWarmpool(['results', suiteId, '--prefix', prefix, '--no-wait', '--out', out], url);
  t.is(early.exitCode, 1, early.all);
  t.regex(early.stdout, new RegExp(`suite ${suiteId} \\(drain\\): \\d+ of 12 jobs done; pending: `));
  const submit = runWarmpool(['results', suiteId, '--prefix', prefix, '--out', out], url);
  const draining = worker('h2');
  await until('h2 running jobs', () => jobsInFlight(draining, 'drain-').length >= 1);
  draining.kill('SIGTERM');
  const exit = await draining.exited;
  t.is(exit.code, 0, draining.stderr());
  // Jobs it had when the grace period (2 s of their 10) ran out: the ones it took until the signal came.
  const handedBack = draining.events.filter((event) => event['event'] === 'job-handed-back').map((event) => String(event['job']));
  t.true(handedBack.length >= 1, JSON.stringify(draining.events));
  t.deepEqual(jobsInFlight(draining, 'drain-'), [], 'every job it took ended or went back to its queue');
  t.like(draining.events.at(-1), { event: 'stopped', handedBack: handedBack.length, leftBehind: [] });

  const run = await submit;
  t.is(run.exitCode, 0, run.all);
  const document = await results(out);
  t.like(document.totals, { jobs: 12, passed: 12, failed: 0, error: 0, attempts: 12 });
  for (const name of handedBack) {
    const job = document.jobs.find((entry) => entry.name === name);
    t.like(job, { status: 'passed', attempts: 1, infraRetries: 1 }, name);
    t.like(job?.deliveries, [{ host: 'h2', outcome: 'handed-back' }, { outcome: 'ran' }]);
  }
  await start('h2');
});

test.serial('30 jobs on three workers, one SIGKILLed mid-run: every job passes, its jobs ran again elsewhere as infra retries, nothing is left', async (t) => {
  const out = join(workDir, 'kill-out');
  const submit = runWarmpool(['submit', await writeSuite('kill', 30, 2), '--prefix', prefix, '--out', out], url);
  const victim = worker('h3');
  await until('h3 running jobs', () => jobsInFlight(victim, 'kill-').length >= 2);
  // Killed once Redis has h3's delivery of the jobs checked below, so each of their lost deliveries must name h3
  // (a job killed before its record arrived shows as "(unrecorded)", by design, and is still counted as lost; the
  // totals below cover any job h3 took after the check).
  const lostJobs = await deliveriesRecorded(victim, { url, prefix, hostId: 'h3', namePrefix: 'kill-' });
  victim.kill('SIGKILL');
  t.true(lostJobs.length >= 1, `h3 had jobs in flight when killed: ${JSON.stringify(victim.events)}`);
  const killedAt = Date.now();
  await victim.exited;

  const run = await submit;
  t.is(run.exitCode, 0, run.all);
  const document = await results(out);
  t.is(document.jobs.length, 30);
  t.like(document.totals, { jobs: 30, passed: 30, failed: 0, error: 0, timeout: 0, cancelled: 0, attempts: 30 });
  await assertRanInItsKind(t, out, document.jobs);

  const delays: number[] = [];
  for (const name of lostJobs) {
    const job = document.jobs.find((entry) => entry.name === name);
    t.like(job, { status: 'passed', attempts: 1 }, `${name}: not a failure, not a test retry; h3's events: ${JSON.stringify(victim.events)}`);
    t.true((job?.infraRetries ?? 0) >= 1, `${name} shows an infrastructure retry`);
    t.like(job?.deliveries[0], { host: 'h3', outcome: 'lost' });
    const rerun = job?.deliveries.at(-1);
    t.like(rerun, { outcome: 'ran' });
    t.not(rerun?.host, 'h3');
    delays.push(Date.parse(rerun?.startedAt ?? '') - killedAt);
  }
  t.true((document.lab?.infraRetries ?? 0) >= lostJobs.length);
  t.log(`re-run after SIGKILL of h3 (${lostJobs.length} jobs): ${delays.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')}`);
  t.regex(run.stdout, /infrastructure retries: \d+ .*not failures, not test retries/);

  const dead = (await labStatus()).hosts.find((host) => host.id === 'h3');
  t.like(dead, { alive: false, state: 'running' }, 'the killed host shows dead: its heartbeat expired without it stopping');

  // Started again, h3 removes what its killed predecessor left on the engine.
  const killedPid = victim.pid;
  const restarted = await start('h3');
  const h3Pools = [`${hostPools.get('h3')}.alpha`, `${hostPools.get('h3')}.beta`];
  const leftovers = (await Promise.all(h3Pools.map((pool) => containersOfPool('docker', pool)))).flat().filter((name) => name.includes(`-${killedPid}-`));
  t.deepEqual(leftovers, [], "the killed worker's containers were reaped when it started again");
  t.true(restarted.pid !== killedPid);

  for (const id of hostIds) worker(id).kill('SIGTERM');
  const exits = await Promise.all(hostIds.map((id) => worker(id).exited));
  t.deepEqual(
    exits.map((exit) => exit.code),
    [0, 0, 0],
    hostIds.map((id) => worker(id).stderr()).join('\n'),
  );
  for (const id of hostIds) t.false(worker(id).stderr().includes(password), `worker ${id} never logs the Redis password`);
  t.deepEqual((await Promise.all(kindPoolIds.map((pool) => containersOfPool('docker', pool)))).flat(), [], 'no container of any worker is left');
  t.deepEqual(
    (await labStatus()).hosts.map((host) => [host.id, host.state, host.alive]),
    hostIds.map((id) => [id, 'stopped', false]),
  );
});
