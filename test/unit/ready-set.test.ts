import test from 'ava';
import { ReadySet } from '../../lib/ready-set.js';

const item = (id: string) => ({ id });

test('push and shift keep first-in, first-out order', (t) => {
  const set = new ReadySet<{ id: string }>();
  for (const id of ['a', 'b', 'c']) set.push(item(id));
  t.is(set.length, 3);
  t.deepEqual([set.shift()?.id, set.shift()?.id, set.shift()?.id, set.shift()], ['a', 'b', 'c', undefined]);
  t.is(set.length, 0);
});

test('remove takes a container out by id, from anywhere, once', (t) => {
  const set = new ReadySet<{ id: string }>();
  for (const id of ['a', 'b', 'c', 'd']) set.push(item(id));
  t.is(set.remove('b')?.id, 'b');
  t.is(set.remove('b'), undefined, 'a second removal finds nothing');
  t.is(set.remove('d')?.id, 'd', 'the newest');
  t.is(set.remove('a')?.id, 'a', 'the oldest');
  t.deepEqual([...set].map((value) => value.id), ['c']);
  set.push(item('e'));
  t.deepEqual([...set].map((value) => value.id), ['c', 'e']);
  t.false(set.has('a'));
  t.true(set.has('e'));
});

test('a container already held is not added twice', (t) => {
  const set = new ReadySet<{ id: string }>();
  set.push(item('a'));
  set.push(item('b'));
  set.push(item('a'));
  t.deepEqual([...set].map((value) => value.id), ['a', 'b']);
  t.is(set.length, 2);
});

test('addedBefore lists only what was held when the stamp was taken', (t) => {
  const set = new ReadySet<{ id: string }>();
  set.push(item('a'));
  set.push(item('b'));
  const stamp = set.nextStamp;
  set.push(item('c'));
  set.remove('a');
  t.deepEqual(set.addedBefore(stamp).map((value) => value.id), ['b']);
  t.deepEqual(set.addedBefore(set.nextStamp).map((value) => value.id), ['b', 'c']);
});

test('clear empties the set and returns what it held, oldest first', (t) => {
  const set = new ReadySet<{ id: string }>();
  for (const id of ['a', 'b']) set.push(item(id));
  t.deepEqual(set.clear().map((value) => value.id), ['a', 'b']);
  t.is(set.length, 0);
  t.is(set.shift(), undefined);
  t.false(set.has('a'));
  set.push(item('a'));
  t.is(set.shift()?.id, 'a');
});

test('thousands of pushes, removals and shifts keep the set consistent', (t) => {
  const set = new ReadySet<{ id: string }>();
  const model: string[] = [];
  let next = 0;
  for (let round = 0; round < 5_000; round++) {
    const op = (round * 7919) % 3;
    if (op === 0 || model.length === 0) {
      const id = `c${next++}`;
      set.push(item(id));
      model.push(id);
    } else if (op === 1) {
      t.is(set.shift()?.id, model.shift());
    } else {
      const victim = model[(round * 31) % model.length] ?? '';
      model.splice(model.indexOf(victim), 1);
      t.is(set.remove(victim)?.id, victim);
    }
  }
  t.deepEqual([...set].map((value) => value.id), model);
  t.is(set.length, model.length);
});
