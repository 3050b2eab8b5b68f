import test from 'ava';
import { Pool } from '../../lib/index.js';
import { HostBudget } from '../../lib/host-budget.js';
import { settle } from '../../fixtures/fake-clock.js';
import { instantFactory, manualFactory, type FakeContainer, type FakeFactory } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

/** Containers that exist on the fake engines: created and not destroyed (ready, held or being removed). */
const existing = (...factories: FakeFactory[]): number =>
  factories.reduce((sum, factory) => sum + factory.ledger.created.length - factory.ledger.destroyed.size, 0);

test('creations in flight across pools never exceed the host cap', async (t) => {
  const budget = new HostBudget({ maxCreations: 3, maxContainers: 100 });
  const a = manualFactory();
  const b = manualFactory();
  const poolA = new Pool(a, { size: 5, maxWorkers: 5, budget });
  const poolB = new Pool(b, { size: 5, maxWorkers: 5, budget });
  for (let round = 0; round < 20 && (a.pending.length > 0 || b.pending.length > 0); round++) {
    t.true(a.pending.length + b.pending.length <= 3, `round ${round}: ${a.pending.length} + ${b.pending.length} in flight`);
    (round % 2 === 0 ? (a.pending[0] ?? b.pending[0]) : (b.pending[0] ?? a.pending[0]))?.resolve();
    await settle();
  }
  t.is(poolA.size + poolB.size, 10, 'both filled in the end');
  t.is(budget.creations, 0);
  t.is(budget.containers, 10);
  await Promise.all([poolA.cleanup(), poolB.cleanup()]);
  t.is(budget.containers, 0, 'every removal gave its container back');
  assertNothingLost(t, a);
  assertNothingLost(t, b);
});

test('containers across pools, held ones included, never exceed the host cap; a returned one frees room', async (t) => {
  const budget = new HostBudget({ maxCreations: 5, maxContainers: 4 });
  const a = instantFactory();
  const b = instantFactory();
  const poolA = new Pool(a, { size: 3, budget });
  const poolB = new Pool(b, { size: 3, budget });
  await settle();
  t.is(existing(a, b), 4);
  const held: FakeContainer[] = [];
  for (let i = 0; i < 3; i++) {
    const container = await poolA.get();
    if (container) held.push(container);
    await settle();
    t.true(existing(a, b) <= 4, `after checkout ${i}: ${existing(a, b)} exist`);
  }
  t.is(budget.containers, 4);
  const [first] = held;
  if (!first) throw new Error('nothing held');
  await poolA.discard(first);
  await settle();
  t.is(existing(a, b), 4, 'the room it freed was refilled at once');
  await Promise.all([poolA.cleanup(), poolB.cleanup()]);
  assertNothingLost(t, a, held.slice(1));
  assertNothingLost(t, b);
});

test('a pool whose callers wait goes first, and an idle pool that filled the host gives up a ready container', async (t) => {
  const budget = new HostBudget({ maxCreations: 2, maxContainers: 3 });
  const quiet = instantFactory();
  const busy = instantFactory();
  const quietPool = new Pool(quiet, { size: 3, budget });
  await settle();
  t.is(quietPool.size, 3, 'the quiet pool filled the host');
  const busyPool = new Pool(busy, { size: 2, budget });
  await settle();
  t.is(busy.ledger.started, 0, 'no room, and no caller waits: the quiet pool keeps its containers');
  const got = await busyPool.get({ timeoutMs: 1_000 });
  t.truthy(got, 'the waiting caller was served');
  await settle();
  t.is(quiet.ledger.destroyed.size, 1, 'one idle container of the quiet pool made room');
  t.true(existing(quiet, busy) <= 3);
  await Promise.all([quietPool.cleanup(), busyPool.cleanup()]);
  assertNothingLost(t, quiet);
  assertNothingLost(t, busy, got ? [got] : []);
});

test('while a pool with waiting callers is held back at the creation cap, a refilling pool gets no room', async (t) => {
  const budget = new HostBudget({ maxCreations: 1, maxContainers: 100 });
  const refilling = manualFactory();
  const waitedOn = manualFactory();
  const refillingPool = new Pool(refilling, { size: 3, budget });
  const waitedOnPool = new Pool(waitedOn, { size: 0, budget });
  t.is(refilling.pending.length, 1);
  const got = waitedOnPool.get({ timeoutMs: Infinity });
  waitedOnPool.resize(1);
  t.is(waitedOn.pending.length, 0, 'the cap is taken');
  refilling.pending[0]?.resolve();
  await settle();
  t.is(waitedOn.pending.length, 1, 'the freed creation went to the pool with a waiting caller');
  t.is(refilling.pending.length, 0);
  waitedOn.pending[0]?.resolve();
  const container = await got;
  await settle();
  t.is(waitedOn.pending.length, 1, 'the waited-on pool refills its own size of 1 next: it asked first');
  t.is(refilling.pending.length, 0);
  waitedOn.pending[0]?.resolve();
  await settle();
  t.is(refilling.pending.length, 1, 'then the other refill goes on');
  await Promise.all([refillingPool.cleanup(), waitedOnPool.cleanup()]);
  t.is(budget.creations, 0);
  assertNothingLost(t, refilling);
  assertNothingLost(t, waitedOn, container ? [container] : []);
});

test('the budget rejects bad caps, naming them', (t) => {
  t.throws(() => new HostBudget({ maxCreations: 0, maxContainers: 1 }), { message: /maxCreations/ });
  t.throws(() => new HostBudget({ maxCreations: 1, maxContainers: 1.5 }), { message: /maxContainers/ });
  t.notThrows(() => new HostBudget({ maxCreations: 1, maxContainers: Infinity }));
});
