import test from 'ava';
import { execa, type ResultPromise } from 'execa';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../fixtures/engines/engine-config.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { reapBackendOrphans, resolveBackendSettings } from '../../harness/backend.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { runCli, suitePath } from '../helpers/scheduler-engine-tests.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';

// `warmpool run --socket`: jobs check their containers out of a running `warmpool serve` (Docker).
const poolId = `it-svc-run-${randomSuffix()}`;
let service: ResultPromise | undefined;
let socket = '';

test.before(async () => {
  await assertEngine('docker');
  socket = join(await mkdtemp(join(tmpdir(), 'warmpool-svc-')), 'pool.sock');
  service = execa('node', ['--import', 'tsx', 'harness/cli/warmpool.ts', 'serve', '--pool-id', poolId, '--socket', socket, '--size', '2'], {
    cwd: repoRoot,
    reject: false,
    buffer: false,
  });
  // The service prints one JSON line once it listens.
  const stdout = service.stdout;
  if (!stdout) throw new Error('no stdout from warmpool serve');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('warmpool serve did not start listening within 60 s')), 60_000);
    stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('"socket"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void service?.then(() => reject(new Error('warmpool serve exited before it listened')));
  });
});

test.serial.after.always('stopping the service leaves no container', async (t) => {
  service?.kill('SIGTERM');
  await service;
  t.deepEqual(await containersOfPool('docker', poolId), []);
});

// Runs after the check above (a serial hook holds back the hooks after it): removes what a failure left.
test.after.always(async () => {
  await reapBackendOrphans(resolveBackendSettings({ backend: 'docker', poolId }), true);
});

test.serial('a suite runs on containers from the service, with the same statuses and exit codes', async (t) => {
  const out = join(await mkdtemp(join(tmpdir(), 'warmpool-svc-out-')), 'out');
  const run = await runCli([suitePath('statuses.json'), '--socket', socket, '--out', out, '--concurrency', '3']);
  t.is(run.exitCode, 1, run.all);
  t.regex(run.stdout, /containers from the service at /);
  const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ResultsDocument;
  t.is(results.source, 'service');
  t.deepEqual(results.jobs.map((job) => job.status), ['passed', 'failed', 'timeout']);
  t.regex(results.jobs[0]?.history[0]?.container ?? '', new RegExp(`^warmpool-${poolId}-`), 'the container came from the service');

  const passing = await runCli([suitePath('all-pass.json'), '--socket', socket, '--out', out]);
  t.is(passing.exitCode, 0, passing.all);
});

test.serial('the service keeps only its ready containers once the run is over', async (t) => {
  // Every checked-out container was released: the engine holds the service's ready ones and nothing more.
  const deadline = Date.now() + 30_000;
  let names = await containersOfPool('docker', poolId);
  while (names.length > 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    names = await containersOfPool('docker', poolId);
  }
  t.true(names.length <= 2, names.join(', '));
});

test('no service on the socket: exit code 3, nothing run', async (t) => {
  const out = join(await mkdtemp(join(tmpdir(), 'warmpool-svc-none-')), 'out');
  const run = await runCli([suitePath('all-pass.json'), '--socket', join(tmpdir(), `no-such-${randomSuffix()}.sock`), '--out', out]);
  t.is(run.exitCode, 3, run.all);
  t.regex(run.stderr, /Cannot reach the warmpool service .*Nothing was run/s);
  await t.throwsAsync(access(out), undefined, 'the output directory is left alone');
});
