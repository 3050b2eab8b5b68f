import test from 'ava';
import { waitUntilReady } from '../../lib/backends/readiness.js';
import type { ReadinessAttemptResult, ReadinessCheck } from '../../lib/backends/readiness.js';
import { ReadinessFailedError } from '../../lib/errors.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';

// The shared readiness loop (Docker and LXC use it), driven by fake attempts on the fake clock.

const command = ['/bin/sh', '-c', 'test -e /ready'];

/** Attempts that play `script` in order (the last entry repeats); 'hang' never settles and ignores its signal. */
function scripted(script: (ReadinessAttemptResult | 'hang' | Error)[]) {
  const signals: AbortSignal[] = [];
  const attempt = (signal: AbortSignal): Promise<ReadinessAttemptResult> => {
    const step = script[Math.min(signals.length, script.length - 1)];
    signals.push(signal);
    if (step === 'hang') return new Promise(() => undefined);
    if (step instanceof Error) return Promise.reject(step);
    return Promise.resolve(step as ReadinessAttemptResult);
  };
  return { attempt, signals };
}

const exited = (exitCode: number, stdout = '', stderr = ''): ReadinessAttemptResult => ({ exitCode, stdout, stderr });

function check(clock: FakeClock, overrides: Partial<ReadinessCheck> & Pick<ReadinessCheck, 'attempt'>): ReadinessCheck {
  return {
    containerName: 'ctr-1',
    command,
    timeoutMs: 1_000,
    intervalMs: 100,
    signal: new AbortController().signal,
    clock,
    ...overrides,
  };
}

/** Advances in steps, letting the loop start its next attempt between them (a single tick fires only timers set before it). */
async function tickInSteps(clock: FakeClock, totalMs: number, stepMs: number): Promise<void> {
  for (let done = 0; done < totalMs; done += stepMs) await clock.tick(Math.min(stepMs, totalMs - done));
}

/** Where a promise stands now, without waiting for it. */
async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await settle();
  return state;
}

test('resolves after the first attempt that exits 0, retrying every intervalMs', async (t) => {
  const clock = new FakeClock();
  const { attempt, signals } = scripted([exited(1), exited(1), exited(0)]);
  const ready = waitUntilReady(check(clock, { attempt }));
  await settle(); // the first attempt has run and the loop waits on the clock
  t.is(await stateOf(ready), 'pending');
  t.is(signals.length, 1);
  await clock.tick(99);
  t.is(signals.length, 1, 'no attempt before the interval is over');
  await clock.tick(1);
  t.is(signals.length, 2);
  await clock.tick(100);
  t.is(signals.length, 3);
  t.is(await stateOf(ready), 'resolved');
  await ready;
  t.is(clock.pendingTimers, 0, 'no timer outlives the wait');
});

test('a command that keeps failing ends in ReadinessFailedError at the deadline, with its last output', async (t) => {
  const clock = new FakeClock();
  const { attempt, signals } = scripted([exited(3, 'not yet\n', 'missing /ready\n')]);
  const ready = waitUntilReady(check(clock, { attempt, timeoutMs: 1_000 }));
  await settle(); // the first attempt has run and the loop waits on the clock
  await tickInSteps(clock, 999, 1);
  t.is(await stateOf(ready), 'pending');
  await clock.tick(1);
  const error = await t.throwsAsync(ready, { instanceOf: ReadinessFailedError });
  t.is(error?.code, 'ERR_WARMPOOL_READINESS_FAILED');
  t.is(error?.containerName, 'ctr-1');
  t.deepEqual(error?.command, command);
  t.true(error?.timedOut);
  t.is(error?.durationMs, 1_000);
  t.is(error?.lastExitCode, 3);
  t.is(error?.lastOutput, 'not yet\nmissing /ready');
  t.regex(error?.message ?? '', /did not succeed after 1000 ms \(last exit code 3\); last output: "not yet\\nmissing \/ready"/);
  t.is(signals.length, 10, 'an attempt at 0, 100, ... 900 ms');
  t.is(clock.pendingTimers, 0);
});

test('a hanging attempt is cut off at the deadline even if it ignores its signal', async (t) => {
  const clock = new FakeClock();
  const { attempt, signals } = scripted([exited(1, '', 'first try failed'), 'hang']);
  const ready = waitUntilReady(check(clock, { attempt, timeoutMs: 500 }));
  await settle(); // the first attempt has run and the loop waits on the clock
  await clock.tick(100);
  t.is(signals.length, 2, 'the second attempt hangs');
  t.false(signals[1]?.aborted);
  await tickInSteps(clock, 399, 1);
  t.is(await stateOf(ready), 'pending');
  await clock.tick(1);
  t.true(signals[1]?.aborted, "the hanging attempt's signal aborted at the deadline");
  const error = await t.throwsAsync(ready, { instanceOf: ReadinessFailedError });
  t.true(error?.timedOut);
  t.is(error?.durationMs, 500);
  t.is(error?.lastExitCode, 1, 'from the last attempt that finished');
  t.is(error?.lastOutput, 'first try failed');
  t.is(clock.pendingTimers, 0);
});

test('a first attempt that hangs times out with no exit code and no output', async (t) => {
  const clock = new FakeClock();
  const { attempt } = scripted(['hang']);
  const ready = waitUntilReady(check(clock, { attempt, timeoutMs: 1_500 }));
  await settle(); // the first attempt has run and the loop waits on the clock
  await clock.tick(1_500);
  const error = await t.throwsAsync(ready, { instanceOf: ReadinessFailedError });
  t.true(error?.timedOut);
  t.is(error?.lastExitCode, undefined);
  t.is(error?.lastOutput, '');
  t.regex(error?.message ?? '', /did not succeed after 1500 ms$/);
});

test("the creation's abort ends the wait with its reason, during an attempt or a pause", async (t) => {
  for (const during of ['attempt', 'pause'] as const) {
    const clock = new FakeClock();
    const controller = new AbortController();
    const { attempt, signals } = scripted(during === 'attempt' ? ['hang'] : [exited(1)]);
    const ready = waitUntilReady(check(clock, { attempt, signal: controller.signal, timeoutMs: Infinity }));
    await clock.tick(50);
    const reason = new Error(`cancelled during the ${during}`);
    controller.abort(reason);
    await t.throwsAsync(ready, { is: reason });
    t.true(signals[0]?.aborted, 'the attempt was told to stop');
    t.is(clock.pendingTimers, 0, `no timer left after an abort during the ${during}`);
  }
});

test('an already aborted signal runs no attempt', async (t) => {
  const clock = new FakeClock();
  const { attempt, signals } = scripted([exited(0)]);
  const reason = new Error('too late');
  await t.throwsAsync(waitUntilReady(check(clock, { attempt, signal: AbortSignal.abort(reason) })), { is: reason });
  t.is(signals.length, 0);
});

test('an attempt rejected because the container stopped ends in ReadinessFailedError with the reason as cause', async (t) => {
  const clock = new FakeClock();
  const stoppedReason = new Error('container ctr-1 is not running (exit code 3)');
  const { attempt } = scripted([exited(1, 'booting'), new Error('409: container is not running')]);
  let asked = 0;
  const stopped = (): Promise<Error | undefined> => {
    asked++;
    return Promise.resolve(stoppedReason);
  };
  const ready = waitUntilReady(check(clock, { attempt, stopped }));
  await settle(); // the first attempt has run and the loop waits on the clock
  await clock.tick(100);
  const error = await t.throwsAsync(ready, { instanceOf: ReadinessFailedError });
  t.false(error?.timedOut);
  t.is(error?.cause, stoppedReason);
  t.is(error?.lastExitCode, 1);
  t.is(error?.lastOutput, 'booting');
  t.is(error?.durationMs, 100);
  t.regex(error?.message ?? '', /failed after 100 ms .*: container ctr-1 is not running \(exit code 3\)$/);
  t.is(asked, 1, 'asked only after the rejection, not after the failed exit');
});

test('an attempt rejected while the container still runs is rethrown as it is', async (t) => {
  const clock = new FakeClock();
  const engineError = new Error('engine unreachable');
  const { attempt } = scripted([engineError]);
  const stopped = (): Promise<Error | undefined> => Promise.resolve(undefined);
  await t.throwsAsync(waitUntilReady(check(clock, { attempt, stopped })), { is: engineError });
  const bare = scripted([engineError]);
  await t.throwsAsync(waitUntilReady(check(clock, { attempt: bare.attempt })), { is: engineError });
  t.is(clock.pendingTimers, 0);
});

test('an attempt that throws synchronously is treated like one that rejects', async (t) => {
  const clock = new FakeClock();
  const thrown = new Error('sync');
  const attempt = (): Promise<ReadinessAttemptResult> => {
    throw thrown;
  };
  await t.throwsAsync(waitUntilReady(check(clock, { attempt })), { is: thrown });
});

test('the error keeps only the last 1000 characters of the output', async (t) => {
  const clock = new FakeClock();
  const { attempt } = scripted([exited(1, `${'a'.repeat(1_500)}END`)]);
  const ready = waitUntilReady(check(clock, { attempt, timeoutMs: 50, intervalMs: 100 }));
  await settle(); // the first attempt has run and the loop waits on the clock
  await clock.tick(50);
  const error = await t.throwsAsync(ready, { instanceOf: ReadinessFailedError });
  t.is(error?.lastOutput.length, 1_000);
  t.true(error?.lastOutput.endsWith('END'));
});

test('a late rejection from an attempt that ignored its abort is handled', async (t) => {
  const clock = new FakeClock();
  let rejectLate: (error: Error) => void = () => undefined;
  const attempt = (): Promise<ReadinessAttemptResult> => new Promise((_resolve, reject) => (rejectLate = reject));
  const ready = waitUntilReady(check(clock, { attempt, timeoutMs: 200 }));
  await settle(); // the first attempt has run and the loop waits on the clock
  await clock.tick(200);
  await t.throwsAsync(ready, { instanceOf: ReadinessFailedError });
  // Would fail the test run as an unhandled rejection if nobody listened.
  rejectLate(new Error('killed late'));
  await settle();
  t.pass();
});
