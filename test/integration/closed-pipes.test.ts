import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../fixtures/engines/engine-config.js';
import { RawClient } from '../../fixtures/service/raw-client.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { reapBackendOrphans, resolveBackendSettings } from '../../harness/backend.js';
import { PoolClient } from '../../harness/client/pool-client.js';
import { serviceErrorCodes } from '../../harness/service/service-errors.js';
import type { ResultsDocument } from '../../harness/scheduler/results-writer.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';
import { suitePath } from '../helpers/scheduler-engine-tests.js';

// A closed stdout or stderr pipe (a log shipper restarted, `| head` exited) must not kill `warmpool serve` or
// `warmpool run`: they keep serving or running, end with their normal exit code and leave no container behind.
// Each test closes our end of a pipe while the process runs; the process writes to it afterwards (a warning, the
// shutdown lines, progress, the summary), which is when an unhandled EPIPE used to end it with exit code 1.

const runId = randomSuffix().slice(0, 6);
const poolIds: string[] = [];
const children = new Set<ChildProcess>();

const newPoolId = (what: string): string => {
  const poolId = `pipes-${what}-${runId}`;
  poolIds.push(poolId);
  return poolId;
};

test.before(async () => {
  await assertEngine('docker');
});

test.after.always(async () => {
  // Only acts when a test failed half-way: the tests assert that nothing is left.
  for (const child of children) if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await Promise.allSettled(poolIds.map((poolId) => reapBackendOrphans(resolveBackendSettings({ backend: 'docker', poolId }), true)));
});

interface Cli {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything read from stdout / stderr while our end was open. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds a line matching `pattern`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** `node --import tsx harness/cli/warmpool.ts ...args`, as a user runs it, with both outputs piped to us. */
function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/cli/warmpool.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitForStdout(pattern, timeoutMs = 60_000) {
      const found = (): string | undefined => stdout.split('\n').find((text) => pattern.test(text));
      const stream = child.stdout;
      if (found() === undefined && stream) {
        let onData = (): void => undefined;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => {
            onData = () => found() !== undefined && resolve();
            stream.on('data', onData);
          }),
          exited,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]).finally(() => {
          stream.off('data', onData);
          clearTimeout(timer);
        });
      }
      const line = found();
      if (line === undefined) throw new Error(`stdout never matched ${pattern} (exit code ${child.exitCode}); stdout: ${stdout}; stderr: ${stderr}`);
      return line;
    },
  };
}

/** Closes our read end of the pipe: the process's next write to it fails with EPIPE. */
function closeReadEnd(stream: NodeJS.ReadableStream | null): void {
  (stream as unknown as { destroy(): void } | null)?.destroy();
}

test('serve with its stderr closed keeps answering, logs an oversized line without dying, and exits 0 on SIGTERM', async (t) => {
  const poolId = newPoolId('serve');
  const socketPath = join(await mkdtemp(join(tmpdir(), 'warmpool-pipes-')), 'pool.sock');
  const serve = startCli(['serve', '--backend', 'docker', '--pool-id', poolId, '--socket', socketPath, '--size', '1', '--workers', '1', '--log-level', 'debug']);
  await serve.waitForStdout(/"socket"/);
  closeReadEnd(serve.child.stderr);

  // An oversized line: the service answers with an error, logs a warning to the closed stderr, closes that connection.
  const raw = await RawClient.connect(socketPath);
  raw.send(`${'x'.repeat(256 * 1024)}\n`);
  const refusal = await raw.response(null, 60_000);
  t.is(refusal.ok ? undefined : refusal.error.code, serviceErrorCodes.lineTooLong, 'the oversized line was refused');
  await raw.closed;

  // The service still serves: a get through the client is answered with a container.
  const client = await PoolClient.connect({ socketPath });
  try {
    const container = await client.get({ timeoutMs: 60_000 });
    t.truthy(container, 'a container after the pipe was closed');
    t.is((await container?.exec(['/bin/sh', '-c', 'echo alive']))?.stdout, 'alive\n');
    await container?.destroy();
  } finally {
    await client.close();
  }
  t.is(serve.child.exitCode, null, 'still running');

  serve.child.kill('SIGTERM');
  t.is(await serve.exited, 0, `clean shutdown; stderr before the close: ${serve.stderr()}`);
  t.deepEqual(await containersOfPool('docker', poolId), [], 'no container of the pool left');
});

async function runWithClosedPipe(t: ExecutionContext, which: 'stdout' | 'stderr'): Promise<void> {
  const poolId = newPoolId(`run-${which}`);
  const out = join(await mkdtemp(join(tmpdir(), 'warmpool-pipes-')), 'out');
  // Debug logs put the pool's own lines on stderr (its cleanup at the end among them), after the close.
  const run = startCli(['run', suitePath('all-pass.json'), '--pool-id', poolId, '--out', out, '--concurrency', '2'], { WARMPOOL_LOG_LEVEL: 'debug' });
  // Closed once the run has started; progress lines, the summary and the pool's logs come after.
  await run.waitForStdout(/^Suite all-pass/m);
  closeReadEnd(which === 'stdout' ? run.child.stdout : run.child.stderr);
  t.is(await run.exited, 0, `every job passed; stdout: ${run.stdout()}; stderr: ${run.stderr()}`);
  const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ResultsDocument;
  t.deepEqual(
    results.jobs.map((job) => [job.name, job.status]),
    [
      ['one', 'passed'],
      ['two', 'passed'],
    ],
  );
  t.true((await readFile(join(out, 'junit.xml'), 'utf8')).includes('<testsuite'), 'junit.xml written');
  t.deepEqual(await containersOfPool('docker', poolId), [], 'no container of the run left');
}

test('run with its stdout closed runs every job, writes its results and exits 0', async (t) => {
  await runWithClosedPipe(t, 'stdout');
});

test('run with its stderr closed runs every job, writes its results and exits 0', async (t) => {
  await runWithClosedPipe(t, 'stderr');
});
