import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capOutput, fitsCap, keepCutLogs, truncationMarker } from '../../harness/lab/output-cap.js';
import { writeLabLogs } from '../../harness/lab/lab-suite-result.js';
import type { LabJobResult } from '../../harness/lab/lab-job.js';
import type { LogFiles, LogSink } from '../../harness/scheduler/log-files.js';

test('output within the cap travels whole', (t) => {
  t.deepEqual(capOutput('hello\n', 64), { text: 'hello\n', droppedBytes: 0 });
  t.deepEqual(capOutput('', 0), { text: '', droppedBytes: 0 });
});

test('longer output keeps its end, at most the cap in UTF-8 bytes, and says how much was cut', (t) => {
  const text = `${'x'.repeat(100)}THE END`;
  const capped = capOutput(text, 10);
  t.is(capped.text, 'xxxTHE END');
  t.is(capped.droppedBytes, 97);
  t.is(Buffer.byteLength(capped.text) + capped.droppedBytes, Buffer.byteLength(text));
});

test('a cut never splits a character: it moves to the next whole one', (t) => {
  // 'é' is 2 bytes, '€' 3: a 4-byte cap over "a€é" would start inside the '€'.
  const capped = capOutput('a€é', 4);
  t.is(capped.text, 'é');
  t.is(capped.droppedBytes, 4);
  t.false(capped.text.includes('\ufffd'));
});

test('output near the cap is measured in bytes, not characters', (t) => {
  // 10 ASCII characters: 30 bytes at most by length alone, 10 in fact: it fits a 10-byte cap whole.
  t.deepEqual(capOutput('0123456789', 10), { text: '0123456789', droppedBytes: 0 });
  // 4 characters of 3 bytes (12 bytes) do not fit 11: one whole character goes.
  const capped = capOutput('€€€€', 11);
  t.is(capped.text, '€€€');
  t.is(capped.droppedBytes, 3);
  // A long multi-byte text keeps its end within the cap.
  const long = capOutput(`${'é'.repeat(50_000)}tail`, 1001);
  t.true(long.text.endsWith('tail'));
  t.true(Buffer.byteLength(long.text) <= 1001);
  t.false(long.text.includes('\ufffd'));
  t.is(Buffer.byteLength(long.text) + long.droppedBytes, 100_004);
});

test('logs written from a result are where results.json says, a cut one marked with where the whole log is', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const attempt = (n: number) => ({
    attempt: n,
    status: n === 1 ? ('failed' as const) : ('passed' as const),
    exitCode: n === 1 ? 1 : 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
    waitMs: 0,
    runMs: 1000,
    stdout: `jobs/j/attempt-${n}/stdout.log`,
    stderr: `jobs/j/attempt-${n}/stderr.log`,
    artifacts: [],
    warnings: [],
  });
  const result: LabJobResult = {
    name: 'j',
    kind: 'alpha',
    status: 'passed',
    exitCode: 0,
    attempts: 2,
    waitMs: 0,
    runMs: 2000,
    stdout: 'jobs/j/attempt-2/stdout.log',
    stderr: 'jobs/j/attempt-2/stderr.log',
    artifacts: [],
    history: [attempt(1), attempt(2)],
    host: 'h1',
    workerOut: '/srv/lab/s1',
    infraRetries: 0,
    deliveries: [{ host: 'h1', startedAt: '2026-01-01T00:00:00.000Z', outcome: 'ran' }],
    outputs: [
      { attempt: 1, stdout: 'first\n', stderr: '', stdoutDroppedBytes: 0, stderrDroppedBytes: 0 },
      { attempt: 2, stdout: 'end of a long log\n', stderr: 'err\n', stdoutDroppedBytes: 5000, stderrDroppedBytes: 0 },
    ],
  };
  const [written] = await writeLabLogs(dir, [result]);
  t.is(await readFile(join(dir, 'jobs/j/attempt-1/stdout.log'), 'utf8'), 'first\n');
  t.is(
    await readFile(join(dir, 'jobs/j/attempt-2/stdout.log'), 'utf8'),
    truncationMarker(5000, 'h1:/srv/lab/s1/jobs/j/attempt-2/stdout.log') + 'end of a long log\n',
  );
  t.is(await readFile(join(dir, 'jobs/j/attempt-2/stderr.log'), 'utf8'), 'err\n');
  t.deepEqual(written?.output, { stdout: 'end of a long log\n', stderr: 'err\n' }, 'the last attempt is the output junit.xml shows');
  t.false('outputs' in (written ?? {}), 'results.json does not carry the logs twice');
});

test('fitsCap: exactly the cap fits, one byte more does not, counted in UTF-8 bytes', (t) => {
  t.true(fitsCap('', 0));
  t.false(fitsCap('x', 0));
  // Past the fast path (length x 3 > cap), so the bytes are counted.
  t.true(fitsCap('x'.repeat(100), 100));
  t.false(fitsCap('x'.repeat(101), 100));
  // '€' is 3 bytes and 1 UTF-16 unit, '😀' 4 bytes and 2 units.
  t.true(fitsCap('€€€€', 12));
  t.false(fitsCap('€€€€', 11));
  t.true(fitsCap('😀😀', 8));
  t.false(fitsCap('😀😀', 7));
  t.true(fitsCap('a€é', 6));
  t.false(fitsCap('a€é', 5));
});

test('fitsCap says whether capOutput keeps the text whole', (t) => {
  for (const text of ['', 'hello', 'x'.repeat(64), 'x'.repeat(65), '€'.repeat(21), '€'.repeat(22), 'é'.repeat(33)]) {
    t.is(fitsCap(text, 64), capOutput(text, 64).droppedBytes === 0, JSON.stringify(text));
  }
});

/** A sink that records what it is given. */
function recordingSink(): LogSink & { readonly written: LogFiles[] } {
  const written: LogFiles[] = [];
  return { written, write: (logs) => written.push(logs) };
}

test('keepCutLogs: an attempt whose logs both fit writes nothing, not even its directory', (t) => {
  const sink = recordingSink();
  keepCutLogs(sink, 10).write({ dir: '/out/s/jobs/j/attempt-1', files: [['stdout.log', '0123456789'], ['stderr.log', '']] });
  t.deepEqual(sink.written, []);
});

test('keepCutLogs: only the log the cap cut is written, whole, in its attempt directory', (t) => {
  const sink = recordingSink();
  const long = `${'x'.repeat(10)}€`;
  keepCutLogs(sink, 10).write({ dir: '/out/s/jobs/j/attempt-2', files: [['stdout.log', 'short\n'], ['stderr.log', long]] });
  t.deepEqual(sink.written, [{ dir: '/out/s/jobs/j/attempt-2', files: [['stderr.log', long]] }]);
});

test('keepCutLogs: both logs are written when the cap cut both', (t) => {
  const sink = recordingSink();
  const stdout = 'o'.repeat(11);
  const stderr = 'é'.repeat(6);
  keepCutLogs(sink, 10).write({ dir: '/out/s/jobs/j/attempt-1', files: [['stdout.log', stdout], ['stderr.log', stderr]] });
  t.deepEqual(sink.written, [{ dir: '/out/s/jobs/j/attempt-1', files: [['stdout.log', stdout], ['stderr.log', stderr]] }]);
});
