import test from 'ava';
import { mulberry32, poissonArrivals, poissonArrivalsAtRate } from '../../harness/bench/arrivals.js';
import { planOpenLoop } from '../../harness/bench/open-loop-plan.js';

test('the same seed gives the same schedule, another seed another one', (t) => {
  const first = poissonArrivals({ ratePerSecond: 20, seed: 14, count: 200 });
  const again = poissonArrivals({ ratePerSecond: 20, seed: 14, count: 200 });
  const other = poissonArrivals({ ratePerSecond: 20, seed: 15, count: 200 });
  t.deepEqual(again, first);
  t.is(other.length, 200);
  t.notDeepEqual(other, first);
  t.true(
    other.every((atMs, index) => atMs !== first[index]),
    'no arrival time of seed 15 equals the one of seed 14 at the same position',
  );
});

test('the generator is reproducible and stays strictly between 0 and 1', (t) => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const draws = Array.from({ length: 10_000 }, () => a());
  t.deepEqual(
    Array.from({ length: 10_000 }, () => b()),
    draws,
  );
  t.true(draws.every((value) => value > 0 && value < 1));
  const mean = draws.reduce((sum, value) => sum + value, 0) / draws.length;
  // Uniform on (0, 1): mean 0.5, standard error 0.29 / sqrt(10,000) = 0.003.
  t.true(Math.abs(mean - 0.5) < 0.02, `mean of the draws ${mean}`);
});

test('times are strictly increasing and start after 0', (t) => {
  const arrivals = poissonArrivals({ ratePerSecond: 1000, seed: 3, count: 5000 });
  t.is(arrivals.length, 5000);
  t.true((arrivals[0] ?? 0) > 0);
  t.true(arrivals.every((atMs, index) => index === 0 || atMs > (arrivals[index - 1] ?? Infinity)));
});

test('the mean gap is 1/λ: 50 per second is 20 ms apart on average', (t) => {
  for (const seed of [1, 2, 3]) {
    const arrivals = poissonArrivals({ ratePerSecond: 50, seed, count: 20_000 });
    const meanGapMs = (arrivals.at(-1) ?? 0) / arrivals.length;
    // The standard error of the mean of 20,000 exponential gaps is 20 / sqrt(20,000) = 0.14 ms; ±1 ms is seven of
    // them, yet a rate off by a factor of two (10 or 40 ms) or a gap in seconds taken for ms fails by far.
    t.true(Math.abs(meanGapMs - 20) < 1, `seed ${seed}: mean gap ${meanGapMs} ms`);
  }
});

test('the gaps are exponential, not evenly spaced: their spread equals their mean', (t) => {
  const arrivals = poissonArrivals({ ratePerSecond: 10, seed: 9, count: 20_000 });
  const gaps = arrivals.map((atMs, index) => atMs - (index === 0 ? 0 : (arrivals[index - 1] ?? 0)));
  const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
  const deviation = Math.sqrt(gaps.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / gaps.length);
  t.true(Math.abs(deviation / mean - 1) < 0.05, `coefficient of variation ${deviation / mean}`);
  // P(gap > mean) = 1/e for an exponential distribution.
  const longer = gaps.filter((gap) => gap > mean).length / gaps.length;
  t.true(Math.abs(longer - Math.exp(-1)) < 0.02, `share of gaps above the mean ${longer}`);
});

test('a duration bounds the schedule; with a count too, whichever ends first', (t) => {
  const byDuration = poissonArrivals({ ratePerSecond: 100, seed: 5, durationMs: 10_000 });
  t.true(byDuration.every((atMs) => atMs <= 10_000));
  // About 1,000 arrivals in 10 s at 100/s; Poisson spread sqrt(1000) = 32.
  t.true(byDuration.length > 850 && byDuration.length < 1150, `${byDuration.length} arrivals`);
  t.deepEqual(poissonArrivals({ ratePerSecond: 100, seed: 5, durationMs: 10_000, count: 10 }), byDuration.slice(0, 10));
  t.deepEqual(poissonArrivals({ ratePerSecond: 100, seed: 5, durationMs: 50, count: 1000 }), byDuration.filter((atMs) => atMs <= 50));
  t.deepEqual(poissonArrivals({ ratePerSecond: 100, seed: 5, count: 0 }), []);
});

test('bad rates, seeds and bounds are refused with a RangeError naming the value', (t) => {
  for (const ratePerSecond of [0, -1, Number.NaN, Infinity]) {
    t.throws(() => poissonArrivals({ ratePerSecond, seed: 1, count: 10 }), {
      instanceOf: RangeError,
      message: `Expected an arrival rate above 0 per second, got ${ratePerSecond}`,
    });
  }
  t.throws(() => poissonArrivals({ ratePerSecond: 1, seed: 1 }), { instanceOf: RangeError, message: /neither/ });
  t.throws(() => poissonArrivals({ ratePerSecond: 1, seed: 1, durationMs: Number.NaN }), { instanceOf: RangeError, message: /got NaN/ });
  t.throws(() => poissonArrivals({ ratePerSecond: 1, seed: 1, durationMs: -5 }), { instanceOf: RangeError, message: /got -5/ });
  t.throws(() => poissonArrivals({ ratePerSecond: 1, seed: 1, count: 2.5 }), { instanceOf: RangeError, message: /got 2.5/ });
  t.throws(() => poissonArrivals({ ratePerSecond: 1, seed: 0.5, count: 1 }), { instanceOf: RangeError, message: /seed, got 0.5/ });
});

test('a schedule at the exact rate offers λ on the dot and stays random', (t) => {
  const arrivals = poissonArrivalsAtRate({ ratePerSecond: 2, seed: 1425, count: 50 });
  t.deepEqual(poissonArrivalsAtRate({ ratePerSecond: 2, seed: 1425, count: 50 }), arrivals);
  t.is(arrivals.length, 50);
  t.true(arrivals.every((atMs, index) => index === 0 || atMs > (arrivals[index - 1] ?? Infinity)));
  // The (count+1)th arrival is at (count+1)/λ = 25.5 s, so the 50 fall inside it: 500 ms apart on average.
  t.true((arrivals.at(-1) ?? Infinity) < 25_500);
  // The plain schedule of the same seed offers 27% less than asked (its 51st arrival near 35 s, not 25.5 s).
  const plain = poissonArrivals({ ratePerSecond: 2, seed: 1425, count: 51 });
  t.true((plain.at(-1) ?? 0) > 30_000, `plain schedule's 51st arrival at ${plain.at(-1)} ms`);
  // Same order of the gaps: the exact schedule is the plain one rescaled, not a fixed interval.
  const ratios = arrivals.map((atMs, index) => atMs / (plain[index] ?? Number.NaN));
  t.true(ratios.every((value) => Math.abs(value - (ratios[0] ?? 0)) < 1e-9));
  const gaps = arrivals.map((atMs, index) => atMs - (index === 0 ? 0 : (arrivals[index - 1] ?? 0)));
  t.true(Math.max(...gaps) > 3 * Math.min(...gaps), 'gaps still vary');
  t.deepEqual(poissonArrivalsAtRate({ ratePerSecond: 2, seed: 1, count: 0 }), []);
  t.throws(() => poissonArrivalsAtRate({ ratePerSecond: 0, seed: 1, count: 5 }), { instanceOf: RangeError, message: /got 0/ });
  t.throws(() => poissonArrivalsAtRate({ ratePerSecond: 1, seed: 1, count: -1 }), { instanceOf: RangeError, message: /got -1/ });
});

test('the open-loop plan: three loads at 25, 50 and 90% of the ceiling, within the job budget, warm-up first', (t) => {
  const budget = { windowMs: 12_000, minJobs: 40, maxWindowMs: 20_000, maxJobs: 300 };
  const docker = planOpenLoop(10, budget);
  t.deepEqual(
    docker.map((load) => [load.key, load.ratePerSecond, load.arrivalsMs.length, load.warmUpJobs]),
    [
      ['load25', 2.5, 40, 8],
      ['load50', 5, 60, 12],
      ['load90', 9, 108, 22],
    ],
  );
  const lxc = planOpenLoop(60, budget);
  t.deepEqual(
    lxc.map((load) => load.arrivalsMs.length),
    [180, 300, 300],
    'a fast engine is capped at maxJobs',
  );
  t.deepEqual(
    planOpenLoop(6, budget).map((load) => load.arrivalsMs.length),
    [30, 40, 65],
    'a slow engine: the 25% load stops at 20 s (1.5/s), not at 40 jobs',
  );
  t.deepEqual(planOpenLoop(10, budget), docker, 'the same plan every run');
  t.throws(() => planOpenLoop(0, budget), { instanceOf: RangeError, message: /ceiling above 0 per second, got 0/ });
  t.throws(() => planOpenLoop(Number.NaN, budget), { instanceOf: RangeError, message: /got NaN/ });
});
