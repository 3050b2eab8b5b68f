import test from 'ava';
import { realSuiteFigures, realSuiteNotes } from '../../harness/bench/real-suite-figures.js';
import { modeOrder } from '../../harness/bench/real-suite-part.js';
import type { JobOutcome, ModeRun, SuiteMode } from '../../harness/bench/real-suite-outcome.js';
import type { PoolModeRun } from '../../harness/bench/real-suite-pool.js';

const passed = (module: string, runMs: number, extra: Partial<JobOutcome> = {}): JobOutcome => ({ module, status: 'passed', runMs, ...extra });

function modeRun(mode: SuiteMode, concurrency: number, wallMs: number, jobs: JobOutcome[]): ModeRun | PoolModeRun {
  if (mode === 'pool') return { mode, concurrency, wallMs, jobs, fillMs: 800, bookkeepingMs: jobs.map(() => 4) };
  return { mode, concurrency, wallMs, jobs };
}

const runs = [
  modeRun('noContainer', 2, 10_000, [passed('test_a', 1_000), passed('test_b', 2_000)]),
  modeRun('pool', 2, 12_000, [passed('test_a', 1_100, { waitMs: 50 }), passed('test_b', 2_100, { waitMs: 150 })]),
  modeRun('perJob', 2, 15_000, [passed('test_a', 1_300, { totalMs: 1_800 }), { module: 'test_b', status: 'failed', reason: 'exit code 2: boom', runMs: 2_500, totalMs: 3_000 }]),
  modeRun('noContainer', 4, 9_000, [passed('test_a', 1_000), passed('test_b', 2_000)]),
  modeRun('perJob', 4, 14_000, [passed('test_a', 1_300, { totalMs: 1_800 }), passed('test_b', 2_300, { totalMs: 2_800 })]),
  modeRun('pool', 4, 11_000, [passed('test_a', 1_100, { waitMs: 0 }), passed('test_b', 2_100, { waitMs: 0 })]),
];

function values(): Map<string, number | null> {
  return new Map(realSuiteFigures(runs).map((entry) => [entry.key, entry.value]));
}

test('the headline figures are the first concurrency measured, and every concurrency has its own', (t) => {
  const figures = values();
  t.is(figures.get('realSuite.pool.wallS'), 12);
  t.is(figures.get('realSuite.perJob.wallS'), 15);
  t.is(figures.get('realSuite.noContainer.wallS'), 10);
  t.is(figures.get('realSuite.poolVsPerJob'), 12 / 15);
  t.is(figures.get('realSuite.poolVsNoContainer'), 1.2);
  t.is(figures.get('realSuite.c4.pool.wallS'), 11);
  t.is(figures.get('realSuite.c4.poolVsNoContainer'), 11 / 9);
  t.is(figures.get('realSuite.c2.pool.runSumS'), 3.2);
  t.is(figures.get('realSuite.c2.pool.waitSumS'), 0.2);
  t.is(figures.get('realSuite.c2.perJob.overheadSumS'), 1);
});

test('jobs not passed are a figure in every mode, 0 included, and a note names them', (t) => {
  const figures = values();
  t.is(figures.get('realSuite.c2.perJob.notPassed'), 1);
  t.is(figures.get('realSuite.c2.pool.notPassed'), 0);
  t.is(figures.get('realSuite.c4.noContainer.notPassed'), 0);
  const notes = realSuiteNotes(runs, { backend: { packages: 'p=1', source: 'img', perJobHow: 'run', poolRunTime: 'exec' }, modules: ['test_a', 'test_b'], workers: 5, orders: [['noContainer', 'pool', 'perJob']] });
  t.true(notes.some((note) => note.startsWith('NOT PASSED (1): perJob at 2: test_b failed (exit code 2: boom)')));
  t.false(notes.some((note) => note.startsWith('All ')));
});

test('per-module differences to the host are paired by module and leave failed jobs out', (t) => {
  const notes = realSuiteNotes(runs, { backend: { packages: 'p=1', source: 'img', perJobHow: 'run', poolRunTime: 'exec' }, modules: ['test_a', 'test_b'], workers: 5, orders: [] });
  const atTwo = notes.find((note) => note.startsWith('At 2 at once:')) ?? '';
  t.regex(atTwo, /pool run time minus the host's, per module, p50 100 ms/);
  // Only test_a passed per job at 2: 1,300 - 1,000.
  t.regex(atTwo, /perJob run time minus the host's, per module, p50 300 ms/);
  t.regex(atTwo, /scheduler's time per job outside the wait and the command p50 4 ms/);
});

test('a concurrency the host did not run at has the pool / per-job ratio and no host ratio', (t) => {
  const withoutHostAt4 = runs.filter((run) => !(run.mode === 'noContainer' && run.concurrency === 4));
  const figures = new Map(realSuiteFigures(withoutHostAt4).map((entry) => [entry.key, entry.value]));
  t.is(figures.get('realSuite.c4.poolVsPerJob'), 11 / 14);
  t.false(figures.has('realSuite.c4.poolVsNoContainer'));
  t.false(figures.has('realSuite.c4.noContainer.wallS'));
  t.is(figures.get('realSuite.poolVsNoContainer'), 1.2);
});

test("the machine's CPU per run, and per job beyond the host's, where the host ran; nothing when not measured", (t) => {
  const withCpu = (run: ModeRun, machineCpuMs: number): ModeRun => ({ ...run, machineCpuMs });
  const measured = [
    withCpu(runs[0]!, 20_000),
    withCpu(runs[1]!, 23_000),
    withCpu(runs[2]!, 22_000),
    withCpu(runs[4]!, 28_000),
    withCpu(runs[5]!, 27_000),
  ];
  const figures = new Map(realSuiteFigures(measured).map((entry) => [entry.key, entry]));
  t.is(figures.get('realSuite.c2.pool.machineCpuS')?.value, 23);
  t.is(figures.get('realSuite.c2.pool.machineCpuS')?.unit, 'core-s');
  // Two jobs each: (23 - 20) s and (22 - 20) s of CPU beyond the host's, per job.
  t.is(figures.get('realSuite.c2.pool.containerCpuPerJobMs')?.value, 1_500);
  t.is(figures.get('realSuite.c2.perJob.containerCpuPerJobMs')?.value, 1_000);
  t.is(figures.get('realSuite.c4.perJob.machineCpuS')?.value, 28);
  t.false(figures.has('realSuite.c4.pool.containerCpuPerJobMs'), 'no host run at 4 in this set');
  t.false([...values().keys()].some((key) => key.includes('machineCpu') || key.includes('containerCpu')), 'runs without the measure have no such figures');
});

test('a loopback-only container per job, where measured, has its figures, its overhead and the pool / it ratio', (t) => {
  const loopback = modeRun('perJobLoopback', 2, 12_500, [passed('test_a', 1_200, { totalMs: 1_500 }), passed('test_b', 2_200, { totalMs: 2_400 })]);
  const figures = new Map(realSuiteFigures([...runs, { ...loopback, machineCpuMs: 21_000 }, { ...runs[0]!, machineCpuMs: 20_000 }].filter((run, index) => !(index === 0))).map((entry) => [entry.key, entry.value]));
  t.is(figures.get('realSuite.perJobLoopback.wallS'), 12.5);
  t.is(figures.get('realSuite.c2.perJobLoopback.overheadSumS'), 0.5);
  t.is(figures.get('realSuite.c2.poolVsPerJobLoopback'), 12 / 12.5);
  t.is(figures.get('realSuite.c2.perJobLoopback.containerCpuPerJobMs'), 500);
  t.false(figures.has('realSuite.c4.poolVsPerJobLoopback'), 'not measured at 4');
  t.false(values().has('realSuite.c2.poolVsPerJobLoopback'), 'nor anywhere on an engine without it');
  t.is(values().get('realSuite.perJobLoopback.wallS'), null, 'the headline says it was not measured');
});

test('the host runs first at the first concurrency only; the container modes reverse their order at each next one', (t) => {
  const modes = ['pool', 'perJob', 'perJobLoopback'] as const;
  t.deepEqual(modeOrder(0, modes), ['noContainer', 'pool', 'perJob', 'perJobLoopback']);
  t.deepEqual(modeOrder(1, modes), ['perJobLoopback', 'perJob', 'pool']);
  t.deepEqual(modeOrder(2, ['pool', 'perJob']), ['pool', 'perJob']);
});
