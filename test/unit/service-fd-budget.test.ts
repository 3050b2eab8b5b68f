import test from 'ava';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { countOpenFds, readOpenFileLimit, takeFdBudget } from '../../harness/service/fd-budget.js';
import { RateLimitedLog } from '../../harness/service/rate-limited-log.js';

const limits = (soft: string): string => `Limit                     Soft Limit           Hard Limit           Units
Max processes             63704                63704                processes
Max open files            ${soft}                 4096                 files
Max locked memory         8388608              8388608              bytes
`;

test('the open-file limit is the soft one of /proc/self/limits', (t) => {
  t.is(readOpenFileLimit(limits('128')), 128);
  t.is(readOpenFileLimit(limits('unlimited')), Infinity);
  t.is(readOpenFileLimit('garbage'), undefined);
  const own = readOpenFileLimit();
  t.true(own === undefined || own > 0);
  const open = countOpenFds();
  t.true(open === undefined || open >= 3, 'stdin, stdout and stderr at least');
});

test('the budget leaves the reserve and what is open; a quarter of it (at most 64) is for refusing with an answer', (t) => {
  t.deepEqual(takeFdBudget(40, { limit: 128, inUse: 30 }), { limit: 128, inUse: 30, reserve: 40, sockets: 58, connections: 44 });
  t.deepEqual(takeFdBudget(40, { limit: 20_000, inUse: 30 }), { limit: 20_000, inUse: 30, reserve: 40, sockets: 19_930, connections: 19_866 });
  t.like(takeFdBudget(40, { limit: 64, inUse: 30 }), { sockets: 1, connections: 1 }, 'never below one connection');
  t.like(takeFdBudget(40, { limit: undefined, inUse: 30 }), { sockets: Infinity, connections: Infinity });
  t.like(takeFdBudget(40, { limit: Infinity, inUse: 30 }), { sockets: Infinity, connections: Infinity });
});

test('the rate-limited log says the first line at once and sums up the rest once per interval', (t) => {
  const lines: string[] = [];
  const logger = { debug: () => undefined, info: () => undefined, warn: (line: unknown) => lines.push(String(line)), error: () => undefined };
  const clock = new FakeClock();
  const log = new RateLimitedLog(logger, clock, 10_000);
  for (let n = 0; n < 1000; n++) log.warn('refused', `refused ${n}`);
  log.warn('other', 'another kind');
  t.deepEqual(lines, ['refused 0', 'another kind']);
  clock.advance(10_000);
  t.deepEqual(lines.slice(2), ['refused 0 (and 999 more like it within 10000 ms)']);
  log.warn('refused', 'refused again');
  t.is(lines.at(-1), 'refused again', 'a new interval starts with a line of its own');
  log.warn('refused', 'held back');
  log.flush();
  t.is(lines.at(-1), 'refused again (and 1 more like it since)');
  t.is(clock.pendingTimers, 0);
});
