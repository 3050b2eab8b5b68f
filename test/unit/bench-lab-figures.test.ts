import test from 'ava';
import { parseBenchOptions } from '../../harness/bench/bench-options.js';
import { labFigures, labScaling, labStepNote } from '../../harness/bench/lab-figures.js';
import type { LabStepResult } from '../../harness/bench/lab-step.js';
import { UsageError } from '../../harness/usage-error.js';

function step(workers: number, overrides: Partial<LabStepResult> = {}): LabStepResult {
  return {
    workers,
    concurrency: 4,
    jobs: 2_000,
    jobMs: 50,
    enqueueMs: 120,
    // 2,000 jobs over 80 slots, 25 rounds of 50 ms, with 5 ms between jobs: 1.375 s.
    spanMs: 1_375,
    turnaroundsMs: [4, 5, 6],
    commandMs: [50, 51],
    resultMs: [1, 2],
    processCpuMs: 2_600,
    eventLoopUtilization: 0.9,
    windowMs: 1_500,
    redisCpuMs: 400,
    redis: {
      commands: 6_100,
      roundTrips: 4_200,
      byName: new Map([
        ['updateProgress', 2_000],
        ['moveToFinished', 2_000],
        ['bzpopmin', 200],
      ]),
    },
    dispatchMs: [1, 2, 3, 4, 100],
    ...overrides,
  };
}

const value = (figures: ReturnType<typeof labFigures>, key: string): number | null | undefined => figures.find((entry) => entry.key === key)?.value;

test('scaling is jobs over the drain against workers x 4 / 50 ms', (t) => {
  const scaling = labScaling(step(20));
  t.is(scaling.idealJobsPerSecond, 1_600);
  t.true(Math.abs(scaling.jobsPerSecond - 2_000 / 1.375) < 1e-9);
  t.true(Math.abs(scaling.ratio - 50 / 55) < 1e-9);
});

test('each worker count has its figures under lab.workers<N>., beside the ideal; the headline dispatch is the most workers', (t) => {
  const figures = labFigures([step(1, { spanMs: 26_000, dispatchMs: [9, 9, 9] }), step(20)], [0.1, 0.2, 0.3]);
  t.true(figures.every((entry) => entry.key.startsWith('lab.')));
  t.is(new Set(figures.map((entry) => entry.key)).size, figures.length, 'keys are unique');
  t.is(value(figures, 'lab.redisPing.p50Ms'), 0.2);
  t.is(value(figures, 'lab.dispatch.p50Ms'), 3);
  t.is(value(figures, 'lab.workers1.dispatch.p50Ms'), 9);
  t.is(value(figures, 'lab.workers1.idealJobsPerSecond'), 80);
  t.is(value(figures, 'lab.workers20.idealJobsPerSecond'), 1_600);
  t.is(value(figures, 'lab.workers20.redisRoundTripsPerJob'), 2.1);
  t.is(value(figures, 'lab.workers20.processCpuMsPerJob'), 1.3);
  t.is(value(figures, 'lab.workers20.redisCpuMsPerJob'), 0.2);
  t.is(value(figures, 'lab.workers20.eventLoopBusy'), 90);
  t.is(value(figures, 'lab.workers20.turnaround.p50Ms'), 5);
  // The goal is named where it applies: the most workers' ratio, and the headline dispatch.
  t.regex(figures.find((entry) => entry.key === 'lab.workers20.ratio')?.label ?? '', /goal: at least 0\.9/);
  t.notRegex(figures.find((entry) => entry.key === 'lab.workers1.ratio')?.label ?? '', /goal/);
  t.regex(figures.find((entry) => entry.key === 'lab.dispatch.p50Ms')?.label ?? '', /at 20 workers.*goal: at most 5 ms/);
  // Every rate sits right before its ideal.
  const keys = figures.map((entry) => entry.key);
  t.is(keys.indexOf('lab.workers20.idealJobsPerSecond'), keys.indexOf('lab.workers20.jobsPerSecond') + 1);
  t.throws(() => labFigures([], [1]), { instanceOf: RangeError });
});

test("a worker count's note says where a job's time went, round trips by name, most first", (t) => {
  const note = labStepNote(step(20), 2);
  t.regex(note, /20 worker\(s\)/);
  t.regex(note, /idle 5\.00 ms on average .* of which 1\.50 ms/);
  t.regex(note, /Round trips per job: moveToFinished 1\.00, updateProgress 1\.00, bzpopmin 0\.10 \(3\.05 commands\)/);
  // (2,600 + 400) CPU-ms over 2,000 jobs on 2 cores.
  t.regex(note, /1\.50 CPU-ms per job the 2 cores here could drain at most 1333 jobs\/s/);
});

test('--lab-jobs and --lab-workers set the lab part; --quick drains fewer jobs; bad values are usage errors', (t) => {
  const defaults = parseBenchOptions([]);
  t.is(defaults.labJobs, 2_000);
  t.deepEqual(defaults.labWorkers, [1, 5, 20]);
  t.is(parseBenchOptions(['--quick']).labJobs, 300);
  const given = parseBenchOptions(['--lab-jobs', '300', '--lab-workers', '2, 8']);
  t.is(given.labJobs, 300);
  t.deepEqual(given.labWorkers, [2, 8]);
  t.true(parseBenchOptions(['--skip', 'lab']).skip.has('lab'));
  t.throws(() => parseBenchOptions(['--lab-jobs', '0']), { instanceOf: UsageError, message: /--lab-jobs/ });
  t.throws(() => parseBenchOptions(['--lab-workers', '1,x']), { instanceOf: UsageError, message: /--lab-workers/ });
});
