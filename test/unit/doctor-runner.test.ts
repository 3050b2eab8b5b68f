import test from 'ava';
import Dockerode from 'dockerode';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../../harness/doctor/check.js';
import { doctorReport, formatCheck, formatSummary } from '../../harness/doctor/doctor-report.js';
import { runChecks, type RunChecksOptions } from '../../harness/doctor/run-checks.js';
import { resolveBackendSettings } from '../../harness/backend.js';

const context: DoctorContext = {
  settings: resolveBackendSettings({ backend: 'docker', poolId: 'unit' }),
  socketPath: '/tmp/wp-doctor-unit.sock',
  containerTimeoutMs: 1000,
  docker: new Dockerode({ socketPath: '/nonexistent.sock' }),
  uid: 0,
};

const options: RunChecksOptions = { defaultTimeoutMs: 1000, cleanupGraceMs: 1000 };

function check(id: string, run: DoctorCheck['run'], extra: Partial<DoctorCheck> = {}): DoctorCheck {
  return { id, run, ...extra };
}

const passing = (message = 'fine'): DoctorCheck['run'] => () => Promise.resolve<CheckOutcome>({ status: 'pass', message });

/** Resolves when `signal` aborts, after `work` (the check's cleanup) is done. */
function untilAborted(signal: AbortSignal, work: () => Promise<void> = () => Promise.resolve()): Promise<CheckOutcome> {
  return new Promise((resolve) => signal.addEventListener('abort', () => void work().then(() => resolve({ status: 'pass', message: 'late' })), { once: true }));
}

test('a check that throws is a fail naming the reason, and the others still run', async (t) => {
  const results = await runChecks(
    [check('boom', () => Promise.reject(new Error('EACCES: /proc/locks'))), check('after', passing())],
    context,
    options,
  );
  t.like(results[0], { id: 'boom', status: 'fail', message: 'could not check: EACCES: /proc/locks' });
  t.truthy(results[0]?.fix);
  t.like(results[1], { id: 'after', status: 'pass' });
});

test('a check past its deadline is a fail, and it finishes its cleanup before the next check starts', async (t) => {
  const order: string[] = [];
  const slow = check(
    'slow',
    (_context, signal) =>
      untilAborted(signal, async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('slow cleaned up');
      }),
    { timeoutMs: () => 30 },
  );
  const next = check('next', () => {
    order.push('next ran');
    return passing()(context, new AbortController().signal);
  });
  const results = await runChecks([slow, next], context, options);
  t.like(results[0], { id: 'slow', status: 'fail', message: 'no answer within 30 ms' });
  t.deepEqual(order, ['slow cleaned up', 'next ran']);
});

test('a check that ignores its signal is given up after the grace period', async (t) => {
  const stuck = check('stuck', () => new Promise<CheckOutcome>(() => undefined), { timeoutMs: () => 20 });
  const results = await runChecks([stuck, check('next', passing())], context, { ...options, cleanupGraceMs: 20 });
  t.like(results[0], { status: 'fail', message: 'no answer within 20 ms' });
  t.like(results[1], { status: 'pass' });
});

test('a check whose needs did not pass is skipped, naming them; a warning counts as passed', async (t) => {
  const results = await runChecks(
    [
      check('engine', () => Promise.resolve<CheckOutcome>({ status: 'fail', message: 'down', fix: 'start it' })),
      check('disk', () => Promise.resolve<CheckOutcome>({ status: 'warn', message: 'low' })),
      check('image', passing(), { needs: ['engine'] }),
      check('container', passing(), { needs: ['engine', 'image'] }),
      check('orphans', passing(), { needs: ['disk'] }),
    ],
    context,
    options,
  );
  t.deepEqual(
    results.map((result) => `${result.id} ${result.status}`),
    ['engine fail', 'disk warn', 'image skip', 'container skip', 'orphans pass'],
  );
  t.is(results[2]?.message, 'not checked: needs the engine check to pass');
  t.is(results[3]?.message, 'not checked: needs the engine and image checks to pass');
});

test('an interrupt ends the running check and skips the rest', async (t) => {
  const controller = new AbortController();
  const running = check('running', (_context, signal) => {
    setImmediate(() => controller.abort());
    return untilAborted(signal);
  });
  const results = await runChecks([running, check('never', passing())], context, { ...options, signal: controller.signal });
  t.like(results[0], { status: 'fail', message: 'interrupted before it finished' });
  t.like(results[1], { status: 'skip', message: 'not checked: the doctor was interrupted' });
});

test('the report is ok unless a check failed; text lines show the fix of what is not ok', (t) => {
  const ok = doctorReport([
    { id: 'engine', status: 'pass', message: 'Docker 24' },
    { id: 'lock', status: 'warn', message: 'stale lock', fix: 'rm it' },
    { id: 'container', status: 'skip', message: 'not checked' },
  ]);
  t.true(ok.ok);
  t.is(formatSummary(ok, 1500), 'all checks passed (1 warning) in 1.5 s\n');
  t.is(formatCheck({ id: 'lock', status: 'warn', message: 'stale lock', fix: 'rm it' }), 'WARN lock       stale lock\n                fix: rm it\n');
  t.is(formatCheck({ id: 'engine', status: 'pass', message: 'Docker 24' }), 'ok   engine     Docker 24\n');
  const failed = doctorReport([...ok.checks, { id: 'image', status: 'fail', message: 'missing', fix: 'docker pull' }]);
  t.false(failed.ok);
  t.is(formatSummary(failed, 200), '1 check failed, 1 warning in 0.2 s\n');
});
