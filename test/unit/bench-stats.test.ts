import test from 'ava';
import { percentile, perSecond, quantileOfSorted, ratio, summarize } from '../../harness/bench/stats.js';
import { steadyRate } from '../../harness/bench/throughput.js';

test('percentiles interpolate linearly between the nearest ranks', (t) => {
  const samples = [1, 2, 3, 4];
  t.is(percentile(samples, 0), 1);
  t.is(percentile(samples, 50), 2.5, 'the median of an even count is the mean of the middle two');
  t.is(percentile(samples, 100), 4);
  t.is(percentile([10, 20], 99), 19.9, 'p99 of two samples lies 99% of the way to the larger');
  t.is(quantileOfSorted([5, 7, 9], 0.5), 7);
});

test('percentiles do not depend on the order of the samples', (t) => {
  t.is(percentile([9, 1, 5, 3, 7], 50), 5);
  t.is(percentile([9, 1, 5, 3, 7], 25), 3);
});

test('one sample is every percentile', (t) => {
  t.deepEqual(summarize([42]), { count: 1, min: 42, p50: 42, p99: 42, p999: 42, max: 42, mean: 42 });
});

test('summarize gives count, min, p50, p99, p99.9, max and mean', (t) => {
  const samples = Array.from({ length: 101 }, (_, index) => 100 - index);
  const summary = summarize(samples);
  t.is(summary.count, 101);
  t.is(summary.min, 0);
  t.is(summary.p50, 50);
  t.is(summary.p99, 99);
  t.is(summary.p999, 99.9, 'rank 0.999 x 100 = 99.9 lies 90% of the way from 99 to 100');
  t.is(summary.max, 100);
  t.is(summary.mean, 50);
  t.is(samples[0], 100, 'the samples are not sorted in place');
});

test('p99.9 separates the worst sample in a thousand from the p99', (t) => {
  // 1,001 samples 0..1000: p99 is rank 990, p99.9 rank 999, max rank 1000.
  const samples = Array.from({ length: 1001 }, (_, index) => index);
  const summary = summarize(samples);
  t.is(summary.p99, 990);
  t.is(summary.p999, 999);
  t.is(summary.max, 1000);
  // One slow outlier in 2,000 fast samples moves the max but neither percentile.
  const mostlyFast = [...Array.from({ length: 2000 }, () => 10), 5000];
  t.is(summarize(mostlyFast).p999, 10);
  t.is(summarize(mostlyFast).max, 5000);
  // Three in a thousand do move the p99.9.
  const someSlow = [...Array.from({ length: 997 }, () => 10), 5000, 5000, 5000];
  t.is(summarize(someSlow).p999, 5000);
  t.is(summarize(someSlow).p99, 10);
});

test('empty, non-finite and out-of-range inputs are refused', (t) => {
  t.throws(() => summarize([]), { instanceOf: RangeError, message: /at least one sample/ });
  t.throws(() => summarize([1, Number.NaN]), { instanceOf: RangeError, message: /finite/ });
  t.throws(() => percentile([1, Infinity], 50), { instanceOf: RangeError });
  t.throws(() => percentile([1, 2], 101), { instanceOf: RangeError, message: /fraction/ });
  t.throws(() => percentile([1, 2], -1), { instanceOf: RangeError });
});

test('perSecond turns a count over milliseconds into a rate', (t) => {
  t.is(perSecond(8, 1000), 8);
  t.is(perSecond(5, 250), 20);
  t.throws(() => perSecond(1, 0), { instanceOf: RangeError });
});

test('ratio is null when a side is missing or the denominator is 0', (t) => {
  t.is(ratio(1, 4), 0.25);
  t.is(ratio(undefined, 4), null);
  t.is(ratio(1, undefined), null);
  t.is(ratio(1, 0), null);
});

test('steadyRate counts the completions after the first `skip`, from the skip-th end to everything done', (t) => {
  // Eight served at once from a full pool (ends 1..8 ms), then one every 100 ms up to 1,008 ms, all removed at 1,058.
  const endsMs = [...Array.from({ length: 8 }, (_, index) => index + 1), ...Array.from({ length: 10 }, (_, index) => 108 + index * 100)];
  const completions = { startMs: 0, endsMs, doneMs: 1058 };
  t.is(steadyRate(completions, 8), (10 / (1058 - 8)) * 1000);
  t.true(steadyRate(completions, 0) > 1.5 * steadyRate(completions, 8), 'counting the full start would flatter the rate by 79%');
  t.is(steadyRate(completions, 0), (18 / 1058) * 1000);
  t.throws(() => steadyRate(completions, 18), { instanceOf: RangeError, message: /more than 18 completions, got 18/ });
  t.throws(() => steadyRate({ startMs: 0, endsMs: [5, 5], doneMs: 5 }, 1), { instanceOf: RangeError, message: /0 ms/ });
});

test('steadyRate over rounds is all steady units over all steady windows, not a mean of the rates', (t) => {
  const fast = { startMs: 0, endsMs: [10, 20, 30, 40, 50], doneMs: 60 }; // after the first: 4 in 50 ms
  const slow = { startMs: 1000, endsMs: [1100, 1300, 1500], doneMs: 1550 }; // after the first: 2 in 450 ms
  t.is(steadyRate([fast, slow], 1), (6 / 500) * 1000);
  t.is(steadyRate([fast], 1), steadyRate(fast, 1));
  t.throws(() => steadyRate([], 1), { instanceOf: RangeError, message: /at least one run/ });
  t.throws(() => steadyRate([fast, { startMs: 0, endsMs: [1], doneMs: 2 }], 1), { instanceOf: RangeError, message: /more than 1 completions, got 1/ });
});
