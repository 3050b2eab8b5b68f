import test from 'ava';
import { PassThrough } from 'node:stream';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import { StubbornFactory, type StubbornContainer } from '../../fixtures/service/stubborn-factory.js';
import { reportShutdown } from '../../harness/cli/commands/serve.js';
import { PendingRemovals, type RemovalAttempt } from '../../harness/service/pending-removals.js';
import type { ServiceResponse } from '../../harness/service/protocol.js';
import { RateLimitedLog } from '../../harness/service/rate-limited-log.js';
import { ContainerDestroyError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';

test.after.always(disposeInProcessServices);

const logger = createLogger({ level: 'silent' });
/** Retries within milliseconds, so the tests on the system clock are quick. */
const quickBackoff = { baseMs: 10, maxMs: 40 };

function removalsOn(clock: FakeClock): { removals: PendingRemovals; attempts: RemovalAttempt[]; firstFailures: ContainerDestroyError[] } {
  const attempts: RemovalAttempt[] = [];
  const firstFailures: ContainerDestroyError[] = [];
  const removals = new PendingRemovals({
    clock,
    logger,
    log: new RateLimitedLog(logger, clock),
    concurrency: 4,
    // Equal jitter drawn at 0: delays of exactly half the ceiling (1 s, 2 s, 4 s, ... up to 15 s).
    random: () => 0,
    onFirstFailure: (error) => firstFailures.push(error),
    onAttempt: (attempt) => attempts.push(attempt),
  });
  return { removals, attempts, firstFailures };
}

async function stubborn(failures: number): Promise<StubbornContainer> {
  return new StubbornFactory(failures).createContainer();
}

test('a removal that fails is retried with backoff until the container is gone, not forgotten after two tries', async (t) => {
  const clock = new FakeClock();
  const { removals, attempts, firstFailures } = removalsOn(clock);
  const container = await stubborn(4);
  const first = await removals.remove(container, 'released');
  t.false(first.ok);
  t.true(!first.ok && first.error instanceof ContainerDestroyError);
  t.is(firstFailures.length, 1, 'the first failure is reported (queued for `errors`) once');
  t.is(removals.size, 1);
  t.deepEqual(removals.names(), ['stubborn-0']);
  for (const delay of [1000, 2000, 4000]) {
    await clock.tick(delay - 1);
    t.false(container.removed);
    await clock.tick(1);
  }
  t.false(container.removed, 'the fourth attempt failed too');
  await clock.tick(8000);
  t.true(container.removed);
  t.is(container.destroyCalls, 5);
  t.is(removals.size, 0);
  t.deepEqual(
    attempts.map(({ ok, attempt }) => `${attempt}:${ok}`),
    ['0:false', '1:false', '2:false', '3:false', '4:true'],
  );
  t.is(firstFailures.length, 1);
});

test('a removal that succeeds at once is reported so, and nothing is left pending', async (t) => {
  const clock = new FakeClock();
  const { removals, attempts } = removalsOn(clock);
  const container = await stubborn(0);
  t.deepEqual(await removals.remove(container, 'disconnected'), { ok: true });
  t.true(container.removed);
  t.is(removals.size, 0);
  t.deepEqual(
    attempts.map(({ container: removed, ...attempt }) => ({ name: removed.name, ...attempt })),
    [{ name: container.name, reason: 'disconnected', ok: true, attempt: 0 }],
  );
  t.is(clock.pendingTimers, 0);
});

test('drain retries at once, keeps retrying until its timeout, then names what it could not remove', async (t) => {
  const clock = new FakeClock();
  const { removals } = removalsOn(clock);
  const never = await stubborn(Infinity);
  const late = await stubborn(2);
  await removals.remove(never, 'shutdown');
  await removals.remove(late, 'shutdown');
  t.is(removals.size, 2);
  // Both wait out a backoff now; drain wakes them at once instead of waiting it out.
  const drained = removals.drain(10_000);
  await settle();
  t.is(never.destroyCalls, 2);
  t.is(late.destroyCalls, 2);
  for (let elapsed = 0; elapsed < 10_000; elapsed += 500) await clock.tick(500);
  t.deepEqual(await drained, ['stubborn-0']);
  t.true(late.removed, 'a container that let go during the drain is removed');
  t.true(never.destroyCalls > 3);
  const calls = never.destroyCalls;
  await clock.tick(60_000);
  t.is(never.destroyCalls, calls, 'no retry after the drain gave up');
});

function codeOf(response: ServiceResponse): string | undefined {
  return response.ok ? undefined : response.error.code;
}

test('service: a release whose removal fails is answered so, and the service retries until the container is gone', async (t) => {
  const factory = new StubbornFactory(3);
  const running = await startInProcessService(factory, { size: 1 }, { removalBackoff: quickBackoff });
  await eventually(() => running.pool.size === 1);
  const a = await RawClient.connect(running.socketPath);
  a.send({ id: 1, type: 'get' });
  const got = await a.response(1);
  const name = (got as { container?: { name: string } }).container?.name ?? '';
  const container = factory.created.find((made) => made.name === name);
  a.send({ id: 2, type: 'release', container: name });
  const answer = await a.response(2);
  t.is(codeOf(answer), 'ERR_WARMPOOL_DESTROY_FAILED');
  t.regex(answer.ok ? '' : answer.error.message, /keeps retrying/);
  t.like(running.service.status(), { held: 0 });
  await eventually(() => container?.removed === true, 10_000, 'the retries to remove it');
  t.is(container?.destroyCalls, 4);
  t.is(running.service.status().pendingRemovals, 0);
  a.send({ id: 3, type: 'errors' });
  const errors = (await a.response(3)) as { errors?: { code: string; message: string }[] };
  t.is(errors.errors?.filter((entry) => entry.code === 'ERR_WARMPOOL_DESTROY_FAILED' && entry.message.includes(name)).length, 1, 'one error, not one per retry');
  a.destroy();
  factory.letGo();
  await running.dispose();
});

test('service: containers of a client that went away are retried until gone; status counts them meanwhile', async (t) => {
  const factory = new StubbornFactory(Infinity);
  const running = await startInProcessService(factory, { size: 2 }, { removalBackoff: quickBackoff });
  await eventually(() => running.pool.size === 2);
  const a = await RawClient.connect(running.socketPath);
  a.send({ id: 1, type: 'get' });
  const name = ((await a.response(1)) as { container?: { name: string } }).container?.name ?? '';
  const container = factory.created.find((made) => made.name === name);
  a.destroy();
  await eventually(() => (container?.destroyCalls ?? 0) >= 5, 10_000, 'several retries');
  t.like(running.service.status(), { held: 0, pendingRemovals: 1 });
  factory.letGo();
  await eventually(() => container?.removed === true, 10_000);
  await eventually(() => running.service.status().pendingRemovals === 0);
  await running.dispose();
});

test('service: at shutdown it waits for pending removals up to its timeout, then names what it could not remove', async (t) => {
  const factory = new StubbornFactory(Infinity);
  const running = await startInProcessService(factory, { size: 1 }, { removalBackoff: quickBackoff, shutdownTimeoutMs: 500 });
  await eventually(() => running.pool.size === 1);
  const a = await RawClient.connect(running.socketPath);
  a.send({ id: 1, type: 'get' });
  const name = ((await a.response(1)) as { container?: { name: string } }).container?.name ?? '';
  const container = factory.created.find((made) => made.name === name);
  const report = await running.service.shutdown();
  t.false(report.clean);
  t.true(report.notRemoved.includes(name), JSON.stringify(report));
  t.is(report.destroyed, 0);
  t.true((container?.destroyCalls ?? 0) > 2, 'tried more than twice before giving up');
  await a.closed;
  factory.letGo();
  await running.dispose();
});

test('serve exits 1 and names the containers it could not remove; 0 when all is clean', (t) => {
  const io = { stdout: new PassThrough(), stderr: new PassThrough() };
  const config = { reapHint: '`warmpool reap --backend docker --pool-id lab`' };
  t.is(reportShutdown({ destroyed: 2, kept: 0, notRemoved: [], clean: true }, config, io), 0);
  t.is(io.stderr.read(), null);
  t.is(reportShutdown({ destroyed: 1, kept: 0, notRemoved: ['wp-lab-a', 'wp-lab-b'], clean: false }, config, io), 1);
  t.regex(String(io.stderr.read()), /could not remove 2 container\(s\): wp-lab-a, wp-lab-b; `warmpool reap --backend docker --pool-id lab`/);
});
