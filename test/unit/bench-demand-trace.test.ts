import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDemandTrace, quickDemandTrace } from '../../harness/bench/bench-options.js';
import { fixedPoolSize } from '../../harness/bench/demand-sizes.js';
import {
  DemandTraceError,
  loadDemandTrace,
  parseDemandTrace,
  scaleTraceToEngine,
  traceArrivals,
  traceDurationMs,
  traceRates,
  type DemandTrace,
} from '../../harness/bench/demand-trace.js';

const burst: DemandTrace = {
  description: 'test',
  seed: 5,
  phases: [
    { name: 'quiet', durationMs: 10_000, checkoutsPerSecond: 0.5, holdMs: 1_000 },
    { name: 'silent', durationMs: 5_000, checkoutsPerSecond: 0, holdMs: 0 },
    { name: 'peak', durationMs: 20_000, checkoutsPerSecond: 20, holdMs: 3_000 },
  ],
};

function traceError(t: ExecutionContext, value: unknown): DemandTraceError {
  const error = t.throws(() => parseDemandTrace(value, 'trace.json'), { instanceOf: DemandTraceError });
  if (!error) throw new Error('expected a DemandTraceError');
  t.is(error.code, 'ERR_WARMPOOL_DEMAND_TRACE');
  return error;
}

for (const [file, least, most] of [
  [defaultDemandTrace, 25_000, 40_000],
  [quickDemandTrace, 8_000, 12_000],
] as const) {
  test(`the trace ${file.split('/').at(-1) ?? ''} is valid, lasts ${least / 1000} to ${most / 1000} s and has a burst well above its mean`, (t) => {
    const trace = loadDemandTrace(file);
    const durationMs = traceDurationMs(trace);
    t.true(durationMs >= least && durationMs <= most, `${durationMs} ms`);
    const rates = traceRates(trace);
    t.true(rates.peakPerSecond >= 2 * rates.meanPerSecond, `peak ${rates.peakPerSecond}/s, mean ${rates.meanPerSecond}/s`);
    t.true(traceArrivals(trace).length > 20);
  });
}

test('a valid trace parses to its phases, names defaulting to empty', (t) => {
  const parsed = parseDemandTrace({ seed: 3, phases: [{ durationMs: 1000, checkoutsPerSecond: 2, holdMs: 0 }] }, 'trace.json');
  t.deepEqual(parsed, { description: '', seed: 3, phases: [{ name: '', durationMs: 1000, checkoutsPerSecond: 2, holdMs: 0 }] });
});

test('every bad key of a trace is reported at once, with its path and value', (t) => {
  const error = traceError(t, {
    seed: 1.5,
    phases: [
      { durationMs: 0, checkoutsPerSecond: 1, holdMs: 10 },
      { durationMs: 1000, checkoutsPerSecond: -1, holdMs: 10, hold: 3 },
      { durationMs: 1000, checkoutsPerSecond: 1, holdMs: Infinity },
      'quiet',
    ],
    extra: true,
  });
  const lines = error.message.split('\n');
  t.true(lines.every((line) => line.startsWith('trace.json: ')), error.message);
  for (const expected of [
    'trace.json: extra: not a trace key',
    'trace.json: seed: expected an integer, got 1.5',
    'trace.json: phases[0].durationMs: expected an integer number of milliseconds above 0, got 0',
    'trace.json: phases[1].hold: not a phase key',
    'trace.json: phases[1].checkoutsPerSecond: expected a finite number from 0 up, got -1',
    'trace.json: phases[2].holdMs: expected a finite number of milliseconds from 0 up, got Infinity',
    'trace.json: phases[3]: expected an object',
  ]) {
    t.true(
      lines.some((line) => line.startsWith(expected)),
      `missing ${expected} in:\n${error.message}`,
    );
  }
  t.deepEqual(
    error.issues.map((issue) => issue.path),
    ['extra', 'seed', 'phases[0].durationMs', 'phases[1].hold', 'phases[1].checkoutsPerSecond', 'phases[2].holdMs', 'phases[3]'],
  );
});

test('a trace with no phases, or with no checkouts at all, is refused', (t) => {
  t.is(traceError(t, { seed: 1, phases: [] }).issues[0]?.path, 'phases');
  t.is(traceError(t, { seed: 1 }).issues[0]?.path, 'phases');
  const silent = traceError(t, { seed: 1, phases: [{ durationMs: 1000, checkoutsPerSecond: 0, holdMs: 0 }] });
  t.regex(silent.message, /expected at least one checkout/);
  t.regex(traceError(t, { seed: 1, phases: [{ durationMs: 1000, checkoutsPerSecond: 0.4, holdMs: 0 }] }).message, /expected at least one checkout/);
  t.regex(traceError(t, [1, 2]).message, /^trace\.json: expected an object with seed and phases, got \[1,2\]$/);
});

test('a missing or malformed file is a DemandTraceError naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-demand-'));
  try {
    const missing = join(dir, 'missing.json');
    t.regex(t.throws(() => loadDemandTrace(missing), { instanceOf: DemandTraceError }).message, new RegExp(`^${missing}: cannot read the file`));
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "seed": 1,');
    t.regex(t.throws(() => loadDemandTrace(broken), { instanceOf: DemandTraceError }).message, new RegExp(`^${broken}: not valid JSON`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the rates are the busiest phase and the mean over the whole trace', (t) => {
  const rates = traceRates(burst);
  t.is(traceDurationMs(burst), 35_000);
  t.is(rates.peakPerSecond, 20);
  t.is(rates.expectedCheckouts, 5 + 0 + 400);
  t.is(rates.meanPerSecond, 405 / 35);
});

test('arrivals fall in their phases, in time order, with their phase hold, exactly as many as the rate says', (t) => {
  const arrivals = traceArrivals(burst);
  t.true(arrivals.every((arrival, index) => index === 0 || arrival.atMs > (arrivals[index - 1]?.atMs ?? Infinity)));
  const bounds = [
    [0, 10_000],
    [10_000, 15_000],
    [15_000, 35_000],
  ] as const;
  for (const arrival of arrivals) {
    const [from, to] = bounds[arrival.phase] ?? [NaN, NaN];
    t.true(arrival.atMs > from && arrival.atMs <= to, `${arrival.atMs} ms in phase ${arrival.phase}`);
    t.is(arrival.holdMs, burst.phases[arrival.phase]?.holdMs ?? -1);
  }
  t.is(arrivals.filter((arrival) => arrival.phase === 1).length, 0);
  // Each phase offers exactly its rate × its length.
  t.is(arrivals.filter((arrival) => arrival.phase === 0).length, 5);
  t.is(arrivals.filter((arrival) => arrival.phase === 2).length, 400);
  t.is(arrivals.length, traceRates(burst).expectedCheckouts);
});

test('the same seed replays the same arrivals; another seed, others; a phase changed leaves the others alone', (t) => {
  t.deepEqual(traceArrivals(burst), traceArrivals({ ...burst }));
  t.notDeepEqual(traceArrivals({ ...burst, seed: 6 }), traceArrivals(burst));
  const otherPeak = { ...burst, phases: [burst.phases[0]!, burst.phases[1]!, { ...burst.phases[2]!, checkoutsPerSecond: 7, durationMs: 3_000 }] };
  const inPhase = (trace: DemandTrace, phase: number) => traceArrivals(trace).filter((arrival) => arrival.phase === phase);
  t.deepEqual(inPhase(otherPeak, 0), inPhase(burst, 0));
  t.is(inPhase(otherPeak, 2).length, 21);
});

test('fixed pool size: Little’s law plus two standard deviations, at least one', (t) => {
  // 4/s × 500 ms = 2 on their way: 2 + 2·sqrt(2) = 4.83, so 5.
  t.is(fixedPoolSize(4, 500), 5);
  // 10/s × 400 ms = exactly 4: 4 + 2·2 = 8, not 9 for float noise.
  t.is(fixedPoolSize(10, 400), 8);
  t.is(fixedPoolSize(0, 500), 1);
  t.is(fixedPoolSize(0.2, 100), 1);
  t.throws(() => fixedPoolSize(-1, 100), { instanceOf: RangeError });
  t.throws(() => fixedPoolSize(1, Number.NaN), { instanceOf: RangeError });
});

test('a trace written for a creation time is scaled to the engine: rates up and holds down by the same factor, lengths kept', (t) => {
  const written: DemandTrace = { ...burst, referenceCreationMs: 400 };
  const { trace, factor } = scaleTraceToEngine(written, 100);
  t.is(factor, 4);
  t.deepEqual(
    trace.phases.map((phase) => [phase.durationMs, phase.checkoutsPerSecond, phase.holdMs]),
    [
      [10_000, 2, 250],
      [5_000, 0, 0],
      [20_000, 80, 750],
    ],
  );
  // The load (rate × creation time) and the containers held at once (rate × hold) are the written ones.
  for (const [index, phase] of trace.phases.entries()) {
    const before = written.phases[index]!;
    t.is(phase.checkoutsPerSecond * 100, before.checkoutsPerSecond * 400);
    t.is(phase.checkoutsPerSecond * phase.holdMs, before.checkoutsPerSecond * before.holdMs);
  }
  t.is(traceDurationMs(trace), traceDurationMs(written));
  t.is(traceArrivals(trace).length, 4 * traceArrivals(written).length);
  t.is(scaleTraceToEngine(written, 400).factor, 1, 'the engine it was written for replays it as written');
});

test('a trace without referenceCreationMs is replayed as written; a bad creation time or reference is refused', (t) => {
  const { trace, factor } = scaleTraceToEngine(burst, 123);
  t.is(factor, 1);
  t.is(trace, burst);
  t.throws(() => scaleTraceToEngine({ ...burst, referenceCreationMs: 400 }, 0), { instanceOf: RangeError, message: /got 0/ });
  const error = traceError(t, { seed: 1, referenceCreationMs: -5, phases: [{ durationMs: 1000, checkoutsPerSecond: 1, holdMs: 0 }] });
  t.is(error.message, 'trace.json: referenceCreationMs: expected a finite number of milliseconds above 0, got -5');
  t.is(parseDemandTrace({ seed: 1, referenceCreationMs: 250, phases: [{ durationMs: 1000, checkoutsPerSecond: 1, holdMs: 0 }] }, 'x').referenceCreationMs, 250);
});
