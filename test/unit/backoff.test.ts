import test from 'ava';
import { backoffDelayMs, watchReconnectBackoff } from '../../lib/backoff.js';

const policy = { baseMs: 100, maxMs: 1_000 };

test('equal jitter: each delay lies between half the ceiling and the ceiling, which doubles up to the cap', (t) => {
  const ceilings = [100, 200, 400, 800, 1_000, 1_000];
  ceilings.forEach((ceiling, attempt) => {
    t.is(backoffDelayMs(policy, attempt, () => 0), ceiling / 2, `attempt ${attempt}, lowest draw`);
    t.is(backoffDelayMs(policy, attempt, () => 0.999_999), ceiling, `attempt ${attempt}, highest draw`);
  });
});

test('full jitter: each delay lies between 0 and the ceiling', (t) => {
  const full = { ...policy, jitter: 'full' as const };
  t.is(backoffDelayMs(full, 3, () => 0), 0);
  t.is(backoffDelayMs(full, 3, () => 0.5), 400);
  t.is(backoffDelayMs(full, 30, () => 0.999_999), 1_000);
});

test('a huge attempt number stays at the cap instead of overflowing', (t) => {
  t.is(backoffDelayMs(policy, 5_000, () => 0.999_999), 1_000);
  t.is(backoffDelayMs(policy, Number.MAX_SAFE_INTEGER, () => 0), 500);
});

test('a random source outside [0, 1) is clamped, a negative attempt counts as the first', (t) => {
  t.is(backoffDelayMs(policy, 0, () => 7), 100);
  t.is(backoffDelayMs(policy, 0, () => -1), 50);
  t.is(backoffDelayMs(policy, -3, () => 0), 50);
});

test('Math.random is the default source and stays within bounds', (t) => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const delay = backoffDelayMs(watchReconnectBackoff, attempt);
    const ceiling = Math.min(30_000, 250 * 2 ** attempt);
    t.true(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay}`);
  }
});
