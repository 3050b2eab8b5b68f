import test from 'ava';
import { checkoutTimesKept, DemandSizer, type DemandSizingOptions } from '../../lib/demand-sizing.js';
import { InvalidOptionError } from '../../lib/errors.js';
import { FakeClock } from '../../fixtures/fake-clock.js';

function sizer(options: Partial<DemandSizingOptions> = {}): { sizer: DemandSizer; clock: FakeClock } {
  const clock = new FakeClock();
  return { sizer: new DemandSizer({ min: 1, max: 10, idleTtlMs: 30_000, clock, ...options }), clock };
}

/** `count` ready checkouts at `perSecond`, evenly spaced from now; the clock ends one spacing after the last. */
function steadyCheckouts(target: DemandSizer, clock: FakeClock, perSecond: number, count: number): void {
  const spacingMs = 1_000 / perSecond;
  for (let i = 0; i < count; i++) {
    target.checkout('ready');
    clock.advance(spacingMs);
  }
}

test('starts at min, with nothing to review', (t) => {
  const { sizer: s } = sizer({ min: 2, max: 7 });
  t.is(s.target, 2);
  t.is(s.min, 2);
  t.is(s.max, 7);
  t.is(s.nextReviewAt(), undefined);
});

test('each miss grows the target by one at once, up to max', (t) => {
  const { sizer: s } = sizer({ min: 1, max: 4 });
  t.true(s.checkout('waited'));
  t.is(s.target, 2);
  t.true(s.checkout('empty'));
  t.is(s.target, 3);
  t.true(s.checkout('waited'));
  t.is(s.target, 4);
  t.false(s.checkout('empty'), 'already at max');
  t.is(s.target, 4);
});

test('ready checkouts alone do not grow the target before any creation time is known', (t) => {
  const { sizer: s, clock } = sizer({ min: 0, max: 50 });
  steadyCheckouts(s, clock, 10, 600);
  t.is(s.target, 0);
});

test('rate × creation time drives the target: 10 checkouts/s with 400 ms creations need ceil(4 + 2·2) = 8', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 20 });
  s.created(400);
  steadyCheckouts(s, clock, 10, 600);
  t.is(s.target, 8);
});

test('a low rate needs little: 1 checkout/s with 400 ms creations needs ceil(0.4 + 2·sqrt(0.4)) = 2', (t) => {
  const { sizer: s, clock } = sizer({ min: 0, max: 20 });
  s.created(400);
  steadyCheckouts(s, clock, 1, 60);
  t.is(s.target, 2);
});

test('the rate-driven target is clamped by max', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 5 });
  s.created(400);
  steadyCheckouts(s, clock, 10, 600);
  t.is(s.target, 5);
});

test('the creation time is an EWMA with alpha 0.2: 400 then 900 ms is 500 ms, so 10/s needs ceil(5 + 2·sqrt(5)) = 10', (t) => {
  // The last value alone (900 ms) would give 15; the plain mean (650 ms) 12; the first alone 8.
  const { sizer: s, clock } = sizer({ min: 1, max: 50 });
  s.created(400);
  s.created(900);
  steadyCheckouts(s, clock, 10, 600);
  t.is(s.target, 10);
});

test('a miss raises to the rate-driven need when that is more than one step', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 20 });
  steadyCheckouts(s, clock, 10, 600); // no creation time yet: stays at min
  t.is(s.target, 1);
  s.created(400);
  t.true(s.checkout('waited'));
  t.is(s.target, 8, '600 checkouts in the window × 400 ms / 60 s = 4, so 8; not just 2');
});

test('a ready checkout never lowers the target', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 10 });
  s.created(400);
  // Misses 10 s apart: a rate far too low to need more than one, so only the misses raise it.
  for (let i = 0; i < 4; i++) {
    s.checkout('waited');
    clock.advance(10_000);
  }
  t.is(s.target, 5);
  t.false(s.checkout('ready'));
  t.is(s.target, 5);
});

test('no shrink before idleTtlMs; after it, with no demand left, straight to min', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 10, idleTtlMs: 30_000 });
  for (let i = 0; i < 3; i++) s.checkout('waited');
  t.is(s.target, 4);
  clock.advance(29_999);
  t.false(s.review());
  t.is(s.target, 4);
  clock.advance(1);
  t.true(s.review());
  t.is(s.target, 1);
  t.is(s.nextReviewAt(), undefined, 'at min, nothing more to review');
  t.false(s.review());
});

test('a miss restarts the idle wait', (t) => {
  const { sizer: s, clock } = sizer({ idleTtlMs: 30_000 });
  s.checkout('waited');
  clock.advance(20_000);
  s.checkout('waited');
  clock.advance(20_000);
  t.false(s.review(), 'only 20 s since the last miss');
  t.is(s.target, 3);
  clock.advance(10_000);
  t.true(s.review());
  t.is(s.target, 1);
});

test('the target steps down one TTL at a time as the rate decays', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 8, idleTtlMs: 20_000 });
  s.created(400);
  const start = clock.now();
  steadyCheckouts(s, clock, 10, 599); // ready checkouts at start + 0, 100, ..., 59,800
  s.checkout('waited'); // the 600th, at start + 59,900: at max already, but it restarts the idle wait
  t.is(s.target, 8);
  t.is(s.nextReviewAt(), start + 79_900);

  clock.advance(s.nextReviewAt()! - clock.now());
  t.true(s.review());
  t.is(s.target, 6, '400 checkouts left in the window: load 2.67, need ceil(2.67 + 3.27) = 6');
  t.is(s.nextReviewAt(), start + 99_900);

  clock.advance(s.nextReviewAt()! - clock.now());
  t.true(s.review());
  t.is(s.target, 4, '200 checkouts left in the window: load 1.33, need ceil(1.33 + 2.31) = 4');

  clock.advance(s.nextReviewAt()! - clock.now());
  t.true(s.review());
  t.is(s.target, 1, 'no checkout left in the window: min');
  t.is(s.nextReviewAt(), undefined);
});

test('nextReviewAt is the last raise plus idleTtlMs; a ready checkout that raises nothing leaves it', (t) => {
  const { sizer: s, clock } = sizer({ idleTtlMs: 30_000 });
  const start = clock.now();
  t.is(s.nextReviewAt(), undefined, 'at min');
  s.checkout('waited');
  t.is(s.nextReviewAt(), start + 30_000);
  clock.advance(5_000);
  t.false(s.checkout('ready'));
  t.is(s.nextReviewAt(), start + 30_000);
  clock.advance(5_000);
  s.checkout('empty');
  t.is(s.nextReviewAt(), start + 40_000);
});

test('a ready checkout that raises the target restarts the idle wait', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 20, idleTtlMs: 30_000 });
  s.created(400);
  s.checkout('waited');
  const firstDue = s.nextReviewAt();
  clock.advance(1_000);
  steadyCheckouts(s, clock, 10, 100); // the rate climbs, and with it the target, at every few checkouts
  const lastRaise = s.nextReviewAt()! - 30_000;
  t.true(lastRaise > firstDue! - 30_000);
  t.true(s.target > 2);
  clock.advance(firstDue! - clock.now());
  t.false(s.review(), 'the first miss is 30 s old, but the last raise is not');
});

test('a review before it is due changes nothing, not even the next review time', (t) => {
  const { sizer: s, clock } = sizer({ idleTtlMs: 30_000 });
  const start = clock.now();
  s.checkout('waited');
  clock.advance(10_000);
  t.false(s.review());
  t.is(s.target, 2);
  t.is(s.nextReviewAt(), start + 30_000);
});

test('a due review that cannot lower pushes the next review a TTL later (an owner never spins)', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 10, idleTtlMs: 30_000 });
  t.true(s.waiting(4));
  clock.advance(30_000);
  t.false(s.review(), 'four callers still wait');
  t.is(s.target, 4);
  t.is(s.nextReviewAt(), clock.now() + 30_000);
});

test('idleTtlMs Infinity never shrinks and has no review time', (t) => {
  const { sizer: s, clock } = sizer({ idleTtlMs: Infinity });
  for (let i = 0; i < 3; i++) s.checkout('waited');
  t.is(s.target, 4);
  t.is(s.nextReviewAt(), undefined);
  clock.advance(365 * 24 * 3_600_000);
  t.false(s.review());
  t.is(s.target, 4);
});

test('waiting(n) keeps at least n (up to max), now and through later shrinks, until fewer wait', (t) => {
  const { sizer: s, clock } = sizer({ min: 0, max: 10, idleTtlMs: 30_000 });
  t.true(s.waiting(5));
  t.is(s.target, 5);
  t.true(s.waiting(20));
  t.is(s.target, 10, 'clamped to max');
  t.false(s.waiting(3), 'fewer waiting never lowers the target by itself');
  t.is(s.target, 10);
  clock.advance(30_000);
  t.true(s.review());
  t.is(s.target, 3, 'the shrink stops at the three still waiting');
  t.false(s.waiting(0));
  clock.advance(30_000);
  t.true(s.review());
  t.is(s.target, 0);
});

test('reconfigure clamps the target into the new range and reports a change', (t) => {
  const { sizer: s, clock } = sizer({ min: 0, max: 10, idleTtlMs: 30_000 });
  for (let i = 0; i < 5; i++) s.checkout('waited');
  t.is(s.target, 5);
  t.true(s.reconfigure({ min: 0, max: 3, idleTtlMs: 30_000 }));
  t.is(s.target, 3);
  t.is(s.max, 3);
  t.true(s.reconfigure({ min: 4, max: 6, idleTtlMs: 30_000 }));
  t.is(s.target, 4);
  t.is(s.min, 4);
  t.is(s.nextReviewAt(), undefined, 'at the new min');
  t.false(s.reconfigure({ min: 2, max: 6, idleTtlMs: 10_000 }), 'still within range');
  t.is(s.target, 4);
  t.is(s.nextReviewAt(), clock.now() + 10_000, 'the new TTL applies');
});

test('an invalid reconfigure throws and changes nothing', (t) => {
  const { sizer: s } = sizer({ min: 1, max: 10, idleTtlMs: 30_000 });
  s.checkout('waited');
  const error = t.throws(() => s.reconfigure({ min: 6, max: 5, idleTtlMs: 30_000 }), { instanceOf: InvalidOptionError });
  t.is(error?.option, 'max');
  t.is(s.min, 1);
  t.is(s.max, 10);
  t.is(s.target, 2);
});

test('a full ring of checkout times measures the rate over the span it covers', (t) => {
  // 1 checkout per ms for twice the ring's size, 1 ms creations: load 1, need ceil(1 + 2) = 3. Counting only
  // the kept times over the whole minute would say load 0.17 and need 1.
  const { sizer: s, clock } = sizer({ min: 0, max: 100_000, rateWindowMs: 60_000 });
  s.created(1);
  for (let i = 0; i < 2 * checkoutTimesKept; i++) {
    s.checkout('ready');
    clock.advance(1);
  }
  t.is(s.target, 3);
});

test('a ramp raises the target within five checkouts, long before the minute window sees it', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 20 });
  s.created(400);
  steadyCheckouts(s, clock, 0.1, 6); // a quiet minute: one checkout every 10 s
  t.is(s.target, 1);
  // 10 checkouts/s from 10 s after the last quiet one: the burst's first four and that one span 10.3 s
  // (load 0.12, need 1).
  steadyCheckouts(s, clock, 10, 4);
  t.is(s.target, 1);
  // The fifth: the newest five span 400 ms, 3 / 0.4 s = 7.5/s, load 3, need ceil(3 + 2·sqrt(3)) = 7. The
  // minute window alone reads 11 checkouts / 60 s: load 0.07, need 1.
  t.true(s.checkout('ready'));
  t.is(s.target, 7);
});

test('a stray checkout in a quiet period does not raise the target', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 20 });
  s.created(400);
  steadyCheckouts(s, clock, 0.1, 6);
  t.false(s.checkout('ready'));
  clock.advance(1);
  // 1 ms after the last one: that gap alone would say 1,000/s (need 400+); the newest five span 30 s.
  t.false(s.checkout('ready'));
  t.is(s.target, 1);
});

test('checkouts that come at once raise the target to a bounded stock, not to max', (t) => {
  const { sizer: s } = sizer({ min: 1, max: 50 });
  s.created(400);
  // Ten in the same millisecond: the span counts as one creation time, 3 per 400 ms, load 3, need 7.
  for (let i = 0; i < 10; i++) s.checkout('ready');
  t.is(s.target, 7);
});

test('after a burst the target still shrinks one TTL at a time: the recent rate does not hold it up', (t) => {
  const { sizer: s, clock } = sizer({ min: 1, max: 20, idleTtlMs: 30_000 });
  s.created(400);
  const start = clock.now();
  steadyCheckouts(s, clock, 10, 50); // start + 0 to 4,900 ms; the fifth (400 ms) raises to 7, no later one raises
  t.is(s.target, 7);
  t.is(s.nextReviewAt(), start + 30_400);
  clock.advance(s.nextReviewAt()! - clock.now());
  t.true(s.review());
  t.is(s.target, 2, 'the recent rate has decayed (3 / 25.9 s); the minute still holds 50: load 0.33, need 2');
  clock.advance(s.nextReviewAt()! - clock.now());
  t.false(s.review(), 'the minute still holds 45: load 0.3, need 2');
  clock.advance(s.nextReviewAt()! - clock.now());
  t.true(s.review());
  t.is(s.target, 1, 'nothing left in the window: min');
});

test('the recent rate reads the newest times of a ring that has wrapped around', (t) => {
  // 1 checkout per 5 ms for twice the ring's size, 1 ms creations: load 0.2, need 2. Then five in one
  // millisecond: the newest five span one creation time, load 3, need 7.
  const { sizer: s, clock } = sizer({ min: 0, max: 100 });
  s.created(1);
  steadyCheckouts(s, clock, 200, 2 * checkoutTimesKept);
  t.is(s.target, 2);
  for (let i = 0; i < 5; i++) s.checkout('ready');
  t.is(s.target, 7);
});

const rejects = test.macro({
  exec(t, act: () => unknown, option: string, shown: string) {
    const error = t.throws(act, { instanceOf: InvalidOptionError });
    t.is(error?.code, 'ERR_WARMPOOL_INVALID_OPTION');
    t.is(error?.option, option);
    t.true(error?.message.includes(`\`${option}\``), `the message names the option: ${error?.message}`);
    t.true(error?.message.includes(shown), `the message shows the value: ${error?.message}`);
  },
  title: (provided, _act, option: string, shown: string) => `rejects ${option} = ${shown}${provided ? ` (${provided})` : ''}`,
});

const clock = new FakeClock();
const build = (options: Record<string, unknown>) => () => new DemandSizer({ min: 1, max: 10, idleTtlMs: 30_000, clock, ...options });
test('negative min', rejects, build({ min: -1 }), 'min', '`-1` (number)');
test('non-integer min', rejects, build({ min: 1.5 }), 'min', '`1.5` (number)');
test('NaN min', rejects, build({ min: Number.NaN }), 'min', '`NaN` (number)');
test('min above max', rejects, build({ min: 5, max: 3 }), 'max', '`3` (number)');
test('min above max, the message says why', rejects, build({ min: 5, max: 3 }), 'max', 'at least min, 5');
test('max 0', rejects, build({ min: 0, max: 0 }), 'max', '`0` (number)');
test('non-integer max', rejects, build({ max: 2.5 }), 'max', '`2.5` (number)');
test('NaN max', rejects, build({ max: Number.NaN }), 'max', '`NaN` (number)');
test('zero idleTtlMs', rejects, build({ idleTtlMs: 0 }), 'idleTtlMs', '`0` (number)');
test('negative idleTtlMs', rejects, build({ idleTtlMs: -1 }), 'idleTtlMs', '`-1` (number)');
test('NaN idleTtlMs', rejects, build({ idleTtlMs: Number.NaN }), 'idleTtlMs', '`NaN` (number)');
test('infinite rateWindowMs', rejects, build({ rateWindowMs: Infinity }), 'rateWindowMs', '`Infinity` (number)');
test('zero rateWindowMs', rejects, build({ rateWindowMs: 0 }), 'rateWindowMs', '`0` (number)');
test('no clock', rejects, build({ clock: undefined }), 'clock', '`undefined` (undefined)');
test('negative creation time', rejects, () => sizer().sizer.created(-1), 'durationMs', '`-1` (number)');
test('NaN creation time', rejects, () => sizer().sizer.created(Number.NaN), 'durationMs', '`NaN` (number)');
test('negative waiting count', rejects, () => sizer().sizer.waiting(-1), 'count', '`-1` (number)');
test('non-integer waiting count', rejects, () => sizer().sizer.waiting(1.5), 'count', '`1.5` (number)');
test('unknown checkout outcome', rejects, () => sizer().sizer.checkout('late' as 'ready'), 'outcome', '`"late"` (string)');
