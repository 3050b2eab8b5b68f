import test from 'ava';
import type { CommandRun } from '../../harness/bench/lab-instant-factory.js';
import { drainSpanMs, idealJobsPerSecond, slotTurnaroundsMs } from '../../harness/bench/lab-timeline.js';

const run = (startMs: number, endMs: number, job = 'd0'): CommandRun => ({ job, startMs, endMs });

test('the ideal is slots over the job length: 20 workers x 4 at 50 ms are 1,600 jobs/s', (t) => {
  t.is(idealJobsPerSecond(80, 50), 1_600);
  t.is(idealJobsPerSecond(4, 50), 80);
  t.throws(() => idealJobsPerSecond(0, 50), { instanceOf: RangeError });
  t.throws(() => idealJobsPerSecond(4, 0), { instanceOf: RangeError });
});

test('a drain spans from the earliest start to the latest end, in any order', (t) => {
  t.is(drainSpanMs([run(30, 80), run(10, 60), run(70, 125), run(20, 70)]), 115);
  t.throws(() => drainSpanMs([]), { instanceOf: RangeError });
});

test('the first jobs count from the suite reaching Redis; each later one from the end that freed its slot', (t) => {
  // Two slots, ready at 100: both start late (3 and 5 ms), then each next job starts 2 and 4 ms after an end.
  const runs = [run(103, 153), run(105, 155), run(155, 205), run(159, 209)];
  t.deepEqual(slotTurnaroundsMs(runs, 2, 100), [3, 5, 2, 4]);
});

test('a start takes the slot freed earliest, whichever job ran in it', (t) => {
  // Two slots free at 50 and 60 (listed out of order); the starts at 70 and 71 take them in that order.
  const runs = [run(0, 60), run(0, 50), run(70, 120), run(71, 121)];
  t.deepEqual(slotTurnaroundsMs(runs, 2, 0), [0, 0, 20, 11]);
});

test('ends no start follows count nothing: an idle slot with no job waiting is not dispatch overhead', (t) => {
  const runs = [run(1, 51), run(2, 52), run(53, 103)];
  // The second slot frees at 52 and nothing more comes: three starts, three turnarounds.
  t.deepEqual(slotTurnaroundsMs(runs, 2, 0), [1, 2, 2]);
});

test('an end and a start at the same moment: the end frees the slot first', (t) => {
  t.deepEqual(slotTurnaroundsMs([run(0, 50), run(50, 100)], 1, 0), [0, 0]);
});

test('a host running more jobs at once than its slots is refused, not measured', (t) => {
  t.throws(() => slotTurnaroundsMs([run(0, 50), run(10, 60)], 1, 0), { instanceOf: RangeError, message: /more than its 1 slot/ });
  t.throws(() => slotTurnaroundsMs([], 0, 0), { instanceOf: RangeError, message: /slots from 1 up/ });
});

test('a start before the suite reached Redis (clock jitter) counts as no idle time', (t) => {
  t.deepEqual(slotTurnaroundsMs([run(99, 149)], 1, 100), [0]);
});
