import test from 'ava';
import { InvalidOptionError, type ContainerDeath } from '../../lib/index.js';
import { RecentDeaths } from '../../lib/recent-deaths.js';
import { FakeClock } from '../../fixtures/fake-clock.js';

const death = (id: string, exitCode?: number): ContainerDeath => ({ id, reason: 'died', oomKilled: false, ...(exitCode === undefined ? {} : { exitCode }) });

test('a remembered death is returned once by take(), then forgotten', (t) => {
  const memory = new RecentDeaths(new FakeClock(), { capacity: 4, maxAgeMs: 1_000 });
  memory.remember(death('a', 137));
  t.is(memory.take('b'), undefined);
  t.deepEqual(memory.take('a'), death('a', 137));
  t.is(memory.take('a'), undefined);
  t.is(memory.size, 0);
});

test('a death older than maxAgeMs is forgotten', async (t) => {
  const clock = new FakeClock();
  const memory = new RecentDeaths(clock, { capacity: 4, maxAgeMs: 1_000 });
  memory.remember(death('old'));
  await clock.tick(500);
  memory.remember(death('young'));
  await clock.tick(500);
  t.deepEqual(memory.take('old'), death('old'), 'exactly maxAgeMs old is still kept');
  memory.remember(death('old'));
  await clock.tick(1);
  t.deepEqual(memory.take('young'), death('young'));
  await clock.tick(1_000);
  t.is(memory.take('old'), undefined);
  t.is(memory.size, 0);
});

test('beyond capacity the oldest death is forgotten first', (t) => {
  const memory = new RecentDeaths(new FakeClock(), { capacity: 3, maxAgeMs: 60_000 });
  for (const id of ['a', 'b', 'c', 'd', 'e']) memory.remember(death(id));
  t.is(memory.size, 3);
  t.is(memory.take('a'), undefined);
  t.is(memory.take('b'), undefined);
  t.deepEqual(['c', 'd', 'e'].map((id) => memory.take(id)?.id), ['c', 'd', 'e']);
});

test('a death remembered again replaces the older entry, which does not forget it when it is dropped', async (t) => {
  const clock = new FakeClock();
  const memory = new RecentDeaths(clock, { capacity: 2, maxAgeMs: 1_000 });
  memory.remember(death('a', 1));
  await clock.tick(600);
  memory.remember(death('a', 2));
  t.is(memory.size, 1);
  // The first entry's slot ages out now; the newer one stays.
  await clock.tick(600);
  t.deepEqual(memory.take('a'), death('a', 2));
  // Stale slots still count against the capacity until they are dropped, and dropping them is harmless.
  memory.remember(death('b'));
  memory.remember(death('c'));
  t.is(memory.take('b')?.id, 'b');
  t.is(memory.take('c')?.id, 'c');
});

test('clear() forgets everything, and the memory works on afterwards', (t) => {
  const memory = new RecentDeaths(new FakeClock(), { capacity: 2, maxAgeMs: 1_000 });
  memory.remember(death('a'));
  memory.remember(death('b'));
  memory.clear();
  t.is(memory.size, 0);
  t.is(memory.take('a'), undefined);
  memory.remember(death('c'));
  t.is(memory.take('c')?.id, 'c');
});

test('the capacity must be a positive integer', (t) => {
  t.throws(() => new RecentDeaths(new FakeClock(), { capacity: 0, maxAgeMs: 1 }), { instanceOf: InvalidOptionError, message: /capacity.*0/ });
});
