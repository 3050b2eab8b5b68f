import test from 'ava';
import { LinkedQueue } from '../../lib/linked-queue.js';

test('push and shift keep first-in, first-out order', (t) => {
  const queue = new LinkedQueue<number>();
  for (const n of [1, 2, 3]) queue.push(n);
  t.is(queue.length, 3);
  t.is(queue.peek(), 1);
  t.deepEqual([queue.shift(), queue.shift(), queue.shift(), queue.shift()], [1, 2, 3, undefined]);
  t.is(queue.length, 0);
});

test('remove takes an entry out of the middle, once', (t) => {
  const queue = new LinkedQueue<string>();
  queue.push('a');
  const b = queue.push('b');
  const c = queue.push('c');
  t.true(queue.remove(b));
  t.false(queue.remove(b), 'a second removal is a no-op');
  t.deepEqual([...queue], ['a', 'c']);
  t.true(queue.remove(c));
  queue.push('d');
  t.deepEqual([...queue], ['a', 'd']);
  t.is(queue.length, 2);
});

test('an entry shifted out can no longer be removed', (t) => {
  const queue = new LinkedQueue<string>();
  const a = queue.push('a');
  queue.push('b');
  t.is(queue.shift(), 'a');
  t.false(queue.remove(a));
  t.is(queue.length, 1);
});

test('clear returns everything, oldest first, and empties the queue', (t) => {
  const queue = new LinkedQueue<number>();
  for (const n of [5, 6, 7]) queue.push(n);
  t.deepEqual(queue.clear(), [5, 6, 7]);
  t.is(queue.length, 0);
  t.is(queue.shift(), undefined);
});
