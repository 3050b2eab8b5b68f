import test from 'ava';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { GetTurns, type GetTurn, type TurnStart } from '../../harness/service/get-turns.js';

/** What each turn's `started` settled with so far: its start, or the rejection's message. */
function track(turns: GetTurn[]): Map<GetTurn, TurnStart | string> {
  const outcomes = new Map<GetTurn, TurnStart | string>();
  for (const turn of turns) {
    turn.started.then(
      (start) => outcomes.set(turn, start),
      (error: unknown) => outcomes.set(turn, (error as Error).message),
    );
  }
  return outcomes;
}

function enter(turns: GetTurns, id: string, timeoutMs: number): GetTurn {
  const turn = turns.enter(id, timeoutMs);
  if (!turn) throw new Error(`${id} was refused`);
  return turn;
}

test('one get at a time: each starts when the one before it finishes, in the order they came', async (t) => {
  const clock = new FakeClock();
  const turns = new GetTurns(clock, 10);
  const [a, b, c] = ['a', 'b', 'c'].map((id) => enter(turns, id, Infinity)) as [GetTurn, GetTurn, GetTurn];
  const outcomes = track([a, b, c]);
  await settle();
  t.deepEqual(outcomes.get(a), { kind: 'turn', remainingMs: Infinity });
  t.false(outcomes.has(b));
  t.is(turns.count, 3);
  a.finish();
  await settle();
  t.deepEqual(outcomes.get(b), { kind: 'turn', remainingMs: Infinity });
  t.false(outcomes.has(c));
  b.finish();
  b.finish(); // idempotent: c starts once, a second finish of b changes nothing
  await settle();
  t.deepEqual(outcomes.get(c), { kind: 'turn', remainingMs: Infinity });
  c.finish();
  t.is(turns.count, 0);
});

test("a get's timeout counts from its arrival: it starts with what is left, or times out while queued", async (t) => {
  const clock = new FakeClock();
  const turns = new GetTurns(clock, 10);
  const first = enter(turns, 'first', Infinity);
  const patient = enter(turns, 'patient', 10_000);
  const hasty = enter(turns, 'hasty', 3000);
  const outcomes = track([first, patient, hasty]);
  await clock.tick(3000);
  t.deepEqual(outcomes.get(hasty), { kind: 'timeout' }, 'answered at its deadline though it never had its turn');
  t.false(outcomes.has(patient));
  t.is(turns.count, 2);
  await clock.tick(1000);
  first.finish();
  await settle();
  t.deepEqual(outcomes.get(patient), { kind: 'turn', remainingMs: 6000 });
  t.is(clock.pendingTimers, 0, 'a get that started has no queue timer left');
});

test('a get that may not wait (timeout 0) still gets its turn if the gets before it finish within the tick', async (t) => {
  const clock = new FakeClock();
  const turns = new GetTurns(clock, 10);
  const first = enter(turns, 'first', 0);
  const second = enter(turns, 'second', 0);
  const outcomes = track([first, second]);
  first.finish();
  await settle();
  t.deepEqual(outcomes.get(second), { kind: 'turn', remainingMs: 0 });
  second.finish();
  const third = enter(turns, 'third', Infinity);
  const fourth = enter(turns, 'fourth', 0);
  const later = track([third, fourth]);
  await clock.tick(0);
  t.deepEqual(later.get(fourth), { kind: 'timeout' }, 'behind a get that waits, it times out at once');
});

test('cancel: a queued get is withdrawn with the reason; the active one is aborted through its signal', async (t) => {
  const clock = new FakeClock();
  const turns = new GetTurns(clock, 10);
  const active = enter(turns, 'active', Infinity);
  const queued = enter(turns, 'queued', 5000);
  const next = enter(turns, 'next', Infinity);
  const outcomes = track([active, queued, next]);
  t.true(turns.cancel('queued', new Error('cancelled by the client')));
  await settle();
  t.is(outcomes.get(queued), 'cancelled by the client');
  t.is(clock.pendingTimers, 0, 'its timer is cleared');
  t.false(turns.cancel('queued', new Error('again')), 'a withdrawn get cannot be cancelled twice');
  t.false(turns.cancel('unknown', new Error('no such get')));

  t.true(turns.cancel('active', new Error('stop waiting')));
  t.true(active.signal.aborted);
  t.is((active.signal.reason as Error).message, 'stop waiting');
  t.false(outcomes.has(next), 'the next get starts only when the aborted one has finished');
  active.finish();
  await settle();
  t.deepEqual(outcomes.get(next), { kind: 'turn', remainingMs: Infinity });
});

test('the limit counts the active get and the queued ones; a refused get costs nothing', (t) => {
  const clock = new FakeClock();
  const turns = new GetTurns(clock, 2);
  const a = enter(turns, 'a', Infinity);
  enter(turns, 'b', Infinity);
  t.is(turns.enter('c', Infinity), undefined);
  t.is(turns.count, 2);
  a.finish();
  t.truthy(turns.enter('c', Infinity), 'room again once one is answered');
});

test('cancelAll with close: every get is withdrawn or aborted, and later ones are refused with the same reason', async (t) => {
  const clock = new FakeClock();
  const turns = new GetTurns(clock, 10);
  const active = enter(turns, 'active', Infinity);
  const queued = enter(turns, 'queued', Infinity);
  const outcomes = track([queued]);
  turns.cancelAll(new Error('the connection closed'), true);
  await settle();
  t.true(active.signal.aborted);
  t.is(outcomes.get(queued), 'the connection closed');
  const late = enter(turns, 'late', Infinity);
  const lateOutcome = track([late]);
  await settle();
  t.is(lateOutcome.get(late), 'the connection closed');
});
