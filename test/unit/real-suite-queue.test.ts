import test from 'ava';
import type { CommandRun } from '../../harness/bench/real-suite-command.js';
import { runQueued } from '../../harness/bench/real-suite-queue.js';

function ran(exitCode: number | null, timedOut = false): CommandRun {
  return { exitCode, stdout: `exit ${exitCode}\n`, stderr: '', timedOut, runMs: 5, totalMs: 7 };
}

/** Resolves each module's run when told to, and counts how many ran at once. */
function controlledRunner(outcomes: Record<string, () => CommandRun>) {
  const pending = new Map<string, () => void>();
  let running = 0;
  let maxRunning = 0;
  const runOne = async (module: string): Promise<CommandRun> => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise<void>((resolve) => pending.set(module, resolve));
    running--;
    const outcome = outcomes[module];
    if (outcome === undefined) throw new Error(`no outcome for ${module}`);
    return outcome();
  };
  return { runOne, pending, maxRunning: () => maxRunning };
}

async function settleAll(pending: Map<string, () => void>, order: readonly string[]): Promise<void> {
  for (const module of order) {
    while (!pending.has(module)) await new Promise((resolve) => setImmediate(resolve));
    pending.get(module)?.();
  }
}

test('runs at most `concurrency` at once and keeps every job, failures and errors included, in list order', async (t) => {
  const modules = ['a', 'b', 'c', 'd', 'e'];
  const runner = controlledRunner({
    a: () => ran(0),
    b: () => ran(2),
    c: () => {
      throw new Error('engine said no');
    },
    d: () => ran(null, true),
    e: () => ran(0),
  });
  const result = runQueued('perJob', modules, 2, runner.runOne, new AbortController().signal);
  await settleAll(runner.pending, ['b', 'a', 'c', 'd', 'e']);
  const run = await result;
  t.is(runner.maxRunning(), 2);
  t.is(run.mode, 'perJob');
  t.is(run.concurrency, 2);
  t.deepEqual(
    run.jobs.map((job) => [job.module, job.status]),
    [
      ['a', 'passed'],
      ['b', 'failed'],
      ['c', 'error'],
      ['d', 'timeout'],
      ['e', 'passed'],
    ],
  );
  t.regex(run.jobs[1]?.reason ?? '', /^exit code 2: exit 2$/);
  t.is(run.jobs[2]?.reason, 'engine said no');
  t.deepEqual([run.jobs[0]?.runMs, run.jobs[0]?.totalMs], [5, 7]);
});

test('an abort rejects with its reason, and jobs not yet started never run', async (t) => {
  const controller = new AbortController();
  const started: string[] = [];
  const result = runQueued(
    'noContainer',
    ['a', 'b', 'c'],
    1,
    (module, signal) => {
      started.push(module);
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    },
    controller.signal,
  );
  while (started.length === 0) await new Promise((resolve) => setImmediate(resolve));
  controller.abort(new Error('interrupted'));
  await t.throwsAsync(result, { message: 'interrupted' });
  t.deepEqual(started, ['a']);
});
