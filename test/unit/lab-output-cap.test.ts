import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capOutput, truncationMarker } from '../../harness/lab/output-cap.js';
import { writeLabLogs } from '../../harness/lab/lab-suite-result.js';
import type { LabJobResult } from '../../harness/lab/lab-job.js';

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
