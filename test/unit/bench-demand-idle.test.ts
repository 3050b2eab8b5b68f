import test from 'ava';
import { idleContainerSeconds, ReadyTimeline, type ReadySample } from '../../harness/bench/demand-idle.js';

test('a constant ready count integrates to count × seconds', (t) => {
  t.is(idleContainerSeconds([{ atMs: 0, ready: 4 }], 0, 10_000), 40);
});

test('each sample holds until the next: steps up and down', (t) => {
  const samples: ReadySample[] = [
    { atMs: 0, ready: 1 },
    { atMs: 2_000, ready: 3 },
    { atMs: 5_000, ready: 0 },
    { atMs: 6_000, ready: 2 },
  ];
  // 1×2 + 3×3 + 0×1 + 2×4
  t.is(idleContainerSeconds(samples, 0, 10_000), 19);
});

test('only the window counts: a sample before it holds into it, samples after it are ignored', (t) => {
  const samples: ReadySample[] = [
    { atMs: 0, ready: 5 },
    { atMs: 1_000, ready: 2 },
    { atMs: 3_000, ready: 7 },
    { atMs: 9_000, ready: 100 },
  ];
  // From 1.5 s: 2×1.5 (to 3 s) + 7×2 (to 5 s)
  t.is(idleContainerSeconds(samples, 1_500, 5_000), 17);
});

test('samples at the same time: the last one wins', (t) => {
  const samples: ReadySample[] = [
    { atMs: 0, ready: 1 },
    { atMs: 1_000, ready: 9 },
    { atMs: 1_000, ready: 3 },
  ];
  t.is(idleContainerSeconds(samples, 0, 2_000), 1 + 3);
});

test('an empty window is 0; a window with no sample at its start, samples out of order or bad counts are refused', (t) => {
  t.is(idleContainerSeconds([{ atMs: 0, ready: 4 }], 500, 500), 0);
  t.throws(() => idleContainerSeconds([], 0, 1_000), { instanceOf: RangeError, message: /sample at or before/ });
  t.throws(() => idleContainerSeconds([{ atMs: 10, ready: 1 }], 0, 1_000), { instanceOf: RangeError, message: /sample at or before/ });
  t.throws(
    () =>
      idleContainerSeconds(
        [
          { atMs: 0, ready: 1 },
          { atMs: 500, ready: 1 },
          { atMs: 100, ready: 1 },
        ],
        0,
        1_000,
      ),
    { instanceOf: RangeError, message: /time order/ },
  );
  t.throws(() => idleContainerSeconds([{ atMs: 0, ready: -1 }], 0, 1_000), { instanceOf: RangeError, message: /from 0 up/ });
  t.throws(() => idleContainerSeconds([{ atMs: 0, ready: 1 }], 1_000, 0), { instanceOf: RangeError, message: /toMs >= fromMs/ });
});

test('the timeline records what read() says at the time now() says, on demand and on start', (t) => {
  let now = 100;
  let ready = 2;
  const timeline = new ReadyTimeline(
    () => now,
    () => ready,
  );
  timeline.start(60_000);
  now = 250;
  ready = 5;
  timeline.sample();
  timeline.stop();
  t.deepEqual(timeline.samples, [
    { atMs: 100, ready: 2 },
    { atMs: 250, ready: 5 },
  ]);
  t.is(idleContainerSeconds(timeline.samples, 100, 1_100), (2 * 150 + 5 * 850) / 1000);
});

test('the timeline also samples every interval until stopped', async (t) => {
  let reads = 0;
  const timeline = new ReadyTimeline(
    () => reads,
    () => ++reads,
  );
  timeline.start(5);
  await new Promise((resolve) => setTimeout(resolve, 60));
  timeline.stop();
  const count = timeline.samples.length;
  t.true(count >= 3, `${count} samples`);
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(timeline.samples.length, count, 'no sample after stop()');
});
