import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSuffix } from '../../lib/backends/owner.js';
import { reapBackendOrphans, resolveBackendSettings, type BackendName } from '../../harness/backend.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { runCli, suitePath } from '../helpers/scheduler-engine-tests.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';
import { findAll, parseXml } from '../helpers/xml-parse.js';

// `warmpool run --config lab.json` on the real engines: the jobs of fixtures/suites/two-kinds.json each run in a
// container of their kind (each kind's env sets KIND_MARK, which the job prints), the job naming no kind in the
// first kind's, and nothing of either kind is left on the engines.

const runId = randomSuffix();
/** Each kind's pool id, for the checks and the clean-up of a test that failed half-way. */
const kindPools: { backend: BackendName; poolId: string }[] = [];

test.before(async () => {
  await assertEngine('docker');
  await assertEngine('lxc');
});

test.after.always(async () => {
  await Promise.allSettled(kindPools.map(({ backend, poolId }) => reapBackendOrphans(resolveBackendSettings({ backend, poolId }), true)));
});

/** Writes a config of kinds alpha (KIND_MARK=a) and beta (KIND_MARK=b) on the given backends; returns its path. */
async function twoKindConfig(hostPoolId: string, backends: { alpha: BackendName; beta: BackendName }): Promise<string> {
  const kind = (backend: BackendName, mark: string) => ({ backend, env: { KIND_MARK: mark }, min: 1, max: 2 });
  const config = { host: { poolId: hostPoolId, maxCreations: 4, maxContainers: 6 }, kinds: { alpha: kind(backends.alpha, 'a'), beta: kind(backends.beta, 'b') } };
  for (const [name, backend] of Object.entries(backends)) kindPools.push({ backend, poolId: `${hostPoolId}.${name}` });
  const path = join(await mkdtemp(join(tmpdir(), 'warmpool-kinds-it-')), 'lab.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

for (const [title, backends] of [
  ['two Docker kinds', { alpha: 'docker', beta: 'docker' }],
  ['a Docker kind and an LXC kind', { alpha: 'docker', beta: 'lxc' }],
] as const) {
  test(`${title}: each job runs in a container of its kind, and nothing is left on the engines`, async (t) => {
    const hostPoolId = `itk-${backends.beta}-${runId}`;
    const config = await twoKindConfig(hostPoolId, backends);
    const out = join(await mkdtemp(join(tmpdir(), 'warmpool-kinds-it-')), 'out');
    const run = await runCli([suitePath('two-kinds.json'), '--config', config, '--out', out, '--concurrency', '2']);
    t.is(run.exitCode, 0, run.all);
    t.regex(run.stdout, /containers from in-process pools of lab\.json's kinds alpha \(docker\), beta \((docker|lxc)\)/);

    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ResultsDocument;
    t.like(results, { source: 'in-process', config, poolId: hostPoolId, kinds: ['alpha', 'beta'] });
    const ran = await Promise.all(
      results.jobs.map(async (job) => [job.name, job.kind, job.status, (await readFile(join(out, job.stdout ?? 'none'), 'utf8')).trim()]),
    );
    t.deepEqual(ran, [
      ['in-alpha', 'alpha', 'passed', 'kind mark: a'],
      ['in-beta', 'beta', 'passed', 'kind mark: b'],
      ['default-kind', 'alpha', 'passed', 'kind mark: a'],
      ['beta-again', 'beta', 'passed', 'kind mark: b'],
    ]);
    for (const job of results.jobs) {
      t.true((job.history[0]?.container ?? '').includes(`${hostPoolId}.${job.kind ?? ''}`), `${job.name} ran in a container of pool ${hostPoolId}.${job.kind ?? ''}`);
    }

    const junit = parseXml(await readFile(join(out, 'junit.xml'), 'utf8'));
    t.deepEqual(
      findAll(junit, 'property').map((property) => property.attributes['value']),
      ['alpha', 'beta', 'alpha', 'beta'],
    );

    for (const [name, backend] of Object.entries(backends)) {
      t.deepEqual(await containersOfPool(backend, `${hostPoolId}.${name}`), [], `nothing of kind ${name} is left on ${backend}`);
    }
  });
}
