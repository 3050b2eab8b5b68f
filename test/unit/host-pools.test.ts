import test from 'ava';
import { HostPools, UnknownKindError } from '../../lib/index.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { FakeFactory, instantFactory, slowFactory, type FakeContainer } from '../../fixtures/fake-factory.js';
import { assertNothingLost } from '../helpers/ledger.js';

const existing = (...factories: FakeFactory[]): number =>
  factories.reduce((sum, factory) => sum + factory.ledger.created.length - factory.ledger.destroyed.size, 0);

test('each kind fills to its min; a checkout names its kind, or gets the first kind', async (t) => {
  const a = instantFactory();
  const b = instantFactory();
  const host = new HostPools<FakeContainer>({ alpha: { factory: a, min: 2 }, beta: { factory: b, min: 1 } });
  await settle();
  t.deepEqual(host.kinds, ['alpha', 'beta']);
  t.is(host.defaultKind, 'alpha');
  t.deepEqual(
    host.status().map(({ name, ready, target, min, max }) => ({ name, ready, target, min, max })),
    [
      { name: 'alpha', ready: 2, target: 2, min: 2, max: 4 },
      { name: 'beta', ready: 1, target: 1, min: 1, max: 4 },
    ],
  );
  const fromBeta = await host.get('beta');
  t.true(b.ledger.created.some((container) => container.id === fromBeta?.id));
  const fromDefault = await host.get(undefined);
  t.true(a.ledger.created.some((container) => container.id === fromDefault?.id));
  t.is(host.status()[1]?.held, 1);
  await host.cleanup();
  assertNothingLost(t, a, fromDefault ? [fromDefault] : []);
  assertNothingLost(t, b, fromBeta ? [fromBeta] : []);
});

test('an unknown kind is an error naming the kinds there are; the host goes on', async (t) => {
  const host = new HostPools({ alpha: { factory: instantFactory() }, beta: { factory: instantFactory() } });
  const error = await t.throwsAsync(host.get('gamma'), { instanceOf: UnknownKindError });
  t.is(error?.code, 'ERR_WARMPOOL_UNKNOWN_KIND');
  t.is(error?.message, 'Unknown kind "gamma"; the kinds are: "alpha", "beta"');
  await settle();
  t.truthy(await host.get('alpha'));
  await host.cleanup();
});

test('bad kind names and specs are refused, naming them', (t) => {
  t.throws(() => new HostPools({ 'Big Kind': { factory: instantFactory() } }), { message: /kind name.*Big Kind/ });
  t.throws(() => new HostPools({ ok: { factory: {} as never } }), { message: /kinds\.ok\.factory/ });
  t.throws(() => new HostPools({}), { message: /at least one kind/ });
});

test('demand: waiting checkouts grow a kind up to max; after the idle TTL it shrinks back to min, off the checkout path', async (t) => {
  const clock = new FakeClock();
  const factory = slowFactory(clock, 500);
  const host = new HostPools<FakeContainer>({ burst: { factory, min: 1, max: 6, idleTtlMs: 60_000 } }, { clock, maxCreations: 10 });
  await clock.tick(500);
  const held: FakeContainer[] = [];
  const gets = Array.from({ length: 8 }, () => host.get('burst', { timeoutMs: Infinity }).then((container) => container && held.push(container)));
  await settle();
  t.is(host.status()[0]?.target, 6, 'each miss raised the target, up to max');
  await clock.tick(500);
  await clock.tick(500);
  await Promise.all(gets);
  t.is(held.length, 8);
  for (const container of held) host.release(container);
  await clock.tick(500);
  t.is(host.status()[0]?.ready, 6, 'the kind is full at its raised target');
  await clock.tick(57_000);
  t.is(host.status()[0]?.ready, 6, 'no shrink before the TTL (the last miss was 59.5 s ago)');
  await clock.tick(2_000);
  t.is(host.status()[0]?.target, 1);
  t.is(host.status()[0]?.ready, 1, 'surplus removed after the TTL');
  await host.cleanup();
  assertNothingLost(t, factory);
});

test('host caps hold across kinds, held containers included, counted on the fake engines', async (t) => {
  const a = instantFactory();
  const b = instantFactory();
  const host = new HostPools<FakeContainer>({ a: { factory: a, min: 3, max: 5 }, b: { factory: b, min: 3, max: 5 } }, { maxContainers: 5, maxCreations: 2 });
  let most = 0;
  const held: FakeContainer[] = [];
  for (let round = 0; round < 20; round++) {
    await settle();
    most = Math.max(most, existing(a, b));
    const container = await host.get(round % 2 === 0 ? 'a' : 'b', { timeoutMs: 50 });
    if (container) held.push(container);
    if (held.length > 2) host.release(held.shift() as FakeContainer);
    most = Math.max(most, existing(a, b));
  }
  t.true(most <= 5, `at most ${most} containers existed at once`);
  t.true(held.length <= 2);
  for (const container of held) host.release(container);
  await host.cleanup();
  await settle();
  assertNothingLost(t, a);
  assertNothingLost(t, b);
});

test('reconfigure: adds, removes and resizes kinds, rolls over a changed one, and never touches a held container', async (t) => {
  const clock = new FakeClock();
  const keep = slowFactory(clock, 100);
  const oldImage = slowFactory(clock, 100);
  const newImage = slowFactory(clock, 100);
  const gone = slowFactory(clock, 100);
  const added = slowFactory(clock, 100);
  const host = new HostPools<FakeContainer>(
    { keep: { factory: keep, min: 1 }, roll: { factory: oldImage, min: 3, version: 'v1' }, gone: { factory: gone, min: 1 } },
    { clock, maxCreations: 10 },
  );
  await clock.tick(100);
  const heldOld = await host.get('roll');
  const heldGone = await host.get('gone');
  await clock.tick(0);
  await clock.tick(100);
  t.is(host.status()[1]?.ready, 3, 'the kind to roll over is full again');
  let lowest = Infinity;
  const report = await host.reconfigure({
    added: { factory: added, min: 1 },
    keep: { factory: keep, min: 2 },
    roll: { factory: newImage, min: 3, version: 'v2' },
  });
  t.deepEqual(report, { added: ['added'], removed: ['gone'], rolledOver: ['roll'], resized: ['keep'] });
  t.deepEqual(host.kinds, ['added', 'keep', 'roll']);
  for (let step = 0; step < 10; step++) {
    lowest = Math.min(lowest, host.status()[2]?.ready ?? 0);
    await clock.tick(50);
  }
  t.is(lowest, 3, 'the rolling kind never had fewer than its 3 ready');
  t.is(host.status()[2]?.rollingOver, false, 'the old generation is gone');
  t.is(oldImage.ledger.created.length - oldImage.ledger.destroyed.size, 1, 'of the old image only the held container is left');
  t.false(oldImage.ledger.destroyed.has(heldOld?.id ?? ''));
  t.false(gone.ledger.destroyed.has(heldGone?.id ?? ''), 'a removed kind never touches what a caller holds');
  t.is(host.status()[1]?.ready, 2, 'resized');
  t.is(host.status()[0]?.ready, 1, 'added');
  t.true(host.release(heldOld as FakeContainer));
  t.true(host.release(heldGone as FakeContainer), 'a removed kind still takes back its held containers');
  await clock.tick(0);
  await host.cleanup();
  for (const factory of [keep, oldImage, newImage, gone, added]) assertNothingLost(t, factory);
});

test('release refuses a container the host did not hand out', async (t) => {
  const factory = instantFactory();
  const host = new HostPools<FakeContainer>({ only: { factory } });
  await settle();
  const container = await host.get('only');
  t.true(host.release(container as FakeContainer));
  t.false(host.release(container as FakeContainer), 'not twice');
  t.false(host.release(instantFactory().ledger.created[0] ?? ({ id: 'stranger' } as FakeContainer)));
  await host.cleanup();
  assertNothingLost(t, factory);
});

test('the host forwards every pool event with its kind, from kinds and generations made later too, and drains errors by kind', async (t) => {
  const factory = instantFactory();
  const host = new HostPools<FakeContainer>({ first: { factory, min: 1 } });
  const seen: string[] = [];
  host.on('creation', (event, kind) => seen.push(`${kind} ${event.outcome}`));
  await settle();
  await host.reconfigure({ first: { factory, min: 1, version: 'v2' }, second: { factory: failingFactoryOnce(), min: 1 } });
  await settle();
  t.true(seen.includes('first created'));
  t.true(seen.includes('second failed'), 'a kind added later is followed too');
  t.is(seen.filter((entry) => entry === 'first created').length, 2, 'both generations of the rolled-over kind');
  const errors = host.drainErrors();
  t.deepEqual(
    errors.map(({ kind, error }) => `${kind} ${error.name}`),
    ['second ContainerCreationError'],
  );
  t.is(host.pools().length, 2, 'the old generation is gone once its container was replaced');
  await host.cleanup();
});

test('forget: a container its caller removed stops counting against the host budget', async (t) => {
  const factory = instantFactory();
  const host = new HostPools<FakeContainer>({ only: { factory, min: 1, max: 1 } }, { maxContainers: 1 });
  await settle();
  const container = await host.get('only');
  await settle();
  t.is(host.budget.containers, 1, 'held, so counted: no refill');
  await container?.destroy();
  t.true(host.forget(container as FakeContainer));
  await settle();
  t.is(host.status()[0]?.ready, 1, 'room freed, refilled');
  await host.cleanup();
  assertNothingLost(t, factory);
});

function failingFactoryOnce(): FakeFactory {
  return new FakeFactory({ plan: (n) => (n === 0 ? { kind: 'fail' } : { kind: 'instant' }) });
}
