import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory, missingImageFactory } from '../../fixtures/fake-runnable.js';
import type { RunnableContainer } from '../../lib/container.js';
import { UnknownKindError } from '../../lib/errors.js';
import { HostPools, type HostPoolsOptions } from '../../lib/host-pools.js';
import type { KindSpec } from '../../lib/kind.js';
import { createLogger } from '../../lib/logger.js';
import { PoolSource } from '../../harness/scheduler/container-source.js';
import { HostSource } from '../../harness/scheduler/host-source.js';
import { renderJunitXml } from '../../harness/scheduler/junit-xml.js';
import { runSuite, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { UnknownJobKindError } from '../../harness/scheduler/scheduler-errors.js';
import { validateSuite } from '../../harness/scheduler/suite.js';
import { findAll, parseXml } from '../helpers/xml-parse.js';

// The scheduler with kinds: jobs check out containers of the kind they name, from the pools of a host.

const silent = createLogger({ level: 'silent' });

/** Two kinds, each with its own fake factory whose containers are named after it. */
function twoKinds(options: HostPoolsOptions = {}, specs: Partial<Record<'alpha' | 'beta', Partial<KindSpec<RunnableContainer>>>> = {}) {
  const alpha = new FakeRunnableFactory({ namePrefix: 'alpha' });
  const beta = new FakeRunnableFactory({ namePrefix: 'beta' });
  const host = new HostPools<RunnableContainer>(
    { alpha: { factory: alpha, min: 1, ...specs.alpha }, beta: { factory: beta, min: 1, ...specs.beta } },
    { logger: silent, ...options },
  );
  return { host, source: new HostSource(host), alpha, beta };
}

async function run(source: HostSource | PoolSource, jobs: readonly unknown[], concurrency = 2): Promise<SuiteResult> {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-kinds-'));
  return runSuite(validateSuite({ name: 'kinds', jobs }), { source, concurrency, outDir, checkoutTimeoutMs: 5_000 });
}

const ranIn = (result: SuiteResult, job: string): string | undefined => result.jobs.find((one) => one.name === job)?.history[0]?.container;

test('each job gets a container of its kind, and its result records the kind', async (t) => {
  const { source, alpha, beta } = twoKinds();
  let result: SuiteResult;
  try {
    result = await run(source, [
      { name: 'a1', kind: 'alpha', command: ['out:a1'] },
      { name: 'b1', kind: 'beta', command: ['out:b1'] },
      { name: 'a2', kind: 'alpha', command: ['out:a2'] },
      { name: 'b2', kind: 'beta', command: ['out:b2'] },
    ]);
  } finally {
    await source.close();
  }
  t.deepEqual(
    result.jobs.map((job) => [job.name, job.kind, job.status]),
    [
      ['a1', 'alpha', 'passed'],
      ['b1', 'beta', 'passed'],
      ['a2', 'alpha', 'passed'],
      ['b2', 'beta', 'passed'],
    ],
  );
  for (const job of ['a1', 'a2']) t.regex(ranIn(result, job) ?? '', /^alpha-\d+$/, `${job} ran in an alpha container`);
  for (const job of ['b1', 'b2']) t.regex(ranIn(result, job) ?? '', /^beta-\d+$/, `${job} ran in a beta container`);
  t.deepEqual(alpha.ledger.live(), [], 'every alpha container is removed');
  t.deepEqual(beta.ledger.live(), [], 'every beta container is removed');
});

test('a job naming no kind gets the default kind (the first), recorded in its result and in junit.xml', async (t) => {
  const { source } = twoKinds();
  let result: SuiteResult;
  try {
    result = await run(source, [
      { name: 'plain', command: ['out:x'] },
      { name: 'beta-job', kind: 'beta', command: ['out:y'] },
    ]);
  } finally {
    await source.close();
  }
  t.is(result.jobs[0]?.kind, 'alpha');
  t.regex(ranIn(result, 'plain') ?? '', /^alpha-/);
  const testcases = findAll(parseXml(renderJunitXml(result)), 'testcase');
  const kindOf = (index: number) => findAll(testcases[index] ?? { name: '', attributes: {}, children: [], text: '' }, 'property')[0]?.attributes;
  t.deepEqual(kindOf(0), { name: 'kind', value: 'alpha' });
  t.deepEqual(kindOf(1), { name: 'kind', value: 'beta' });
  t.is(testcases[0]?.attributes['classname'], 'kinds', 'the classname stays the suite');
});

test('a job of an unknown kind stops the run before any job runs, naming the job, the kind and the kinds', async (t) => {
  const { source, alpha, beta } = twoKinds();
  try {
    const error = await t.throwsAsync(
      run(source, [
        { name: 'fine', kind: 'alpha', command: ['out:x'] },
        { name: 'typo', kind: 'gamma', command: ['out:y'] },
      ]),
      { instanceOf: UnknownJobKindError },
    );
    t.is(error?.code, 'ERR_WARMPOOL_UNKNOWN_JOB_KIND');
    t.is(error?.message, 'job "typo" asks for kind "gamma", which the containers\' source does not have; the kinds are: "alpha", "beta"');
    t.deepEqual(error?.jobs, [{ job: 'typo', kind: 'gamma' }]);
  } finally {
    await source.close();
  }
  t.deepEqual([...alpha.ledger.execs, ...beta.ledger.execs], [], 'not even the job of a good kind ran');
});

test('a pool made from flags is one kind, "default": jobs may name it, any other kind is refused before running', async (t) => {
  const factory = new FakeRunnableFactory();
  const source = PoolSource.start(factory, { size: 1, logger: silent });
  try {
    t.deepEqual(source.kinds, ['default']);
    const result = await run(source, [{ name: 'named', kind: 'default', command: ['out:x'] }, { name: 'unnamed', command: ['out:y'] }]);
    t.deepEqual(result.jobs.map((job) => [job.status, job.kind]), [['passed', 'default'], ['passed', 'default']]);
    await t.throwsAsync(run(source, [{ name: 'other', kind: 'py311', command: ['out:x'] }]), { message: /job "other" asks for kind "py311".*the kinds are: "default"/ });
    await t.throwsAsync(source.checkout({ timeoutMs: 100, kind: 'py311' }), { instanceOf: UnknownKindError, message: /the kinds are: "default"/ });
  } finally {
    await source.close();
  }
  t.deepEqual(factory.ledger.live(), []);
});

test('containers the jobs removed free their room in the host budget: more jobs than maxContainers all run', async (t) => {
  // Room for 3 containers in all; each kind keeps one ready, so only one more can be out at a time. Were removed
  // containers still counted, the third job would wait forever.
  const { host, source, alpha, beta } = twoKinds({ maxContainers: 3 });
  let result: SuiteResult;
  try {
    result = await run(
      source,
      Array.from({ length: 8 }, (_, index) => ({ name: `j${index}`, kind: index % 2 === 0 ? 'alpha' : 'beta', command: ['out:x'] })),
    );
    t.deepEqual(host.status().map((kind) => kind.held), [0, 0], 'nothing is counted as handed out once the jobs are done');
  } finally {
    await source.close();
  }
  t.deepEqual(result.jobs.map((job) => job.status), Array.from({ length: 8 }, () => 'passed'));
  t.true(alpha.ledger.created.length + beta.ledger.created.length >= 8);
  t.deepEqual([...alpha.ledger.live(), ...beta.ledger.live()], []);
});

test('a kind whose image is missing fails its own jobs at once; the other kind runs', async (t) => {
  const good = new FakeRunnableFactory({ namePrefix: 'good' });
  const host = new HostPools<RunnableContainer>({ good: { factory: good, min: 1 }, broken: { factory: missingImageFactory(), min: 1 } }, { logger: silent });
  const source = new HostSource(host);
  const seen: string[] = [];
  source.onCreationError((error, kind) => seen.push(`${kind}: ${error.name}`));
  let result: SuiteResult;
  try {
    const outDir = await mkdtemp(join(tmpdir(), 'warmpool-kinds-'));
    const suite = validateSuite({
      name: 'half',
      jobs: [
        { name: 'works', kind: 'good', command: ['out:x'] },
        { name: 'cannot', kind: 'broken', command: ['out:y'] },
      ],
    });
    // A long checkout timeout: only the missing image can end the broken kind's wait in time.
    result = await runSuite(suite, { source, concurrency: 2, outDir, checkoutTimeoutMs: 600_000 });
  } finally {
    await source.close();
  }
  t.is(result.jobs[0]?.status, 'passed');
  t.is(result.jobs[1]?.status, 'error');
  t.regex(result.jobs[1]?.reason ?? '', /no container: .*fake\/missing:latest/);
  t.true(seen.includes('broken: ImageUnavailableError'), seen.join('; '));
  t.false(seen.some((line) => line.startsWith('good:')));
});

test('the source sums its kinds for the progress display', async (t) => {
  const { host, source } = twoKinds({}, { alpha: { min: 2 }, beta: { min: 1 } });
  try {
    await host.get('alpha', { timeoutMs: 5_000 }).then((container) => container && host.release(container));
    const statuses = host.status();
    t.is(source.capacity, statuses.reduce((sum, kind) => sum + kind.target, 0));
    t.is(source.ready(), statuses.reduce((sum, kind) => sum + kind.ready, 0));
    t.true(source.capacity >= 3);
    t.deepEqual(source.kinds, ['alpha', 'beta']);
  } finally {
    await source.close();
  }
});
