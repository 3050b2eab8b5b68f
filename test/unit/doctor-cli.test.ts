import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from '../helpers/cli.js';
import type { DoctorReport } from '../../harness/doctor/doctor-report.js';

// `warmpool doctor` on a host whose engine is down: no engine is needed to see that, so this is a unit test.
// The real engines' cases are in test/integration/doctor.test.ts.

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(args);
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-doctor-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('engine down: exit 1, the engine check fails with the fix, what needs the engine is skipped, the rest still checked', async (t) => {
  const dir = await tempDir(t);
  const engine = join(dir, 'docker.sock');
  const { code, stdout } = await cli(['doctor', '--docker-socket', engine, '--pool-id', 'unit-doctor', '--socket', join(dir, 'run', 'p.sock'), '--json']);
  t.is(code, 1);
  const report = JSON.parse(stdout) as DoctorReport;
  t.false(report.ok);
  const byId = new Map(report.checks.map((check) => [check.id, check]));
  t.deepEqual([...byId.keys()], ['engine', 'image', 'container', 'socket-dir', 'socket', 'lock', 'orphans', 'disk']);
  t.like(byId.get('engine'), { status: 'fail', message: `no Docker engine answers at ${engine}: connect ENOENT ${engine}` });
  t.regex(byId.get('engine')?.fix ?? '', new RegExp(`^no socket at ${engine}: start the engine`));
  for (const id of ['image', 'container', 'orphans', 'disk']) t.is(byId.get(id)?.status, 'skip', id);
  for (const id of ['socket-dir', 'socket', 'lock']) t.is(byId.get(id)?.status, 'pass', id);
});

test('text output: a line per check, the fix under a failure, a summary; LXC with no lxcpath fails the engine check', async (t) => {
  const dir = await tempDir(t);
  const lxcPath = join(dir, 'no-lxcpath');
  const { code, stdout } = await cli(['doctor', '--backend', 'lxc', '--lxc-path', lxcPath, '--pool-id', 'unit-doctor', '--socket', join(dir, 'p.sock')]);
  t.is(code, 1);
  const lines = stdout.split('\n');
  t.is(lines[0], `warmpool doctor: lxc backend, pool unit-doctor, socket ${join(dir, 'p.sock')}`);
  t.regex(lines[1] ?? '', /^FAIL engine {5}/);
  t.regex(lines[2] ?? '', /^ {16}fix: /);
  t.true(lines.some((line) => /^skip container {2}not checked: needs the engine and image checks to pass$/.test(line)));
  t.regex(stdout, /\n\d+ checks? failed(, \d+ warnings?)? in \d+\.\d s\n$/);
});

test('bad options are a usage error (exit 2)', async (t) => {
  const timeout = await cli(['doctor', '--timeout-ms', 'soon']);
  t.is(timeout.code, 2);
  t.regex(timeout.stderr, /--timeout-ms/);
  t.is((await cli(['doctor', '--backend', 'podman'])).code, 2);
  t.is((await cli(['doctor', '--no-such-flag'])).code, 2);
});
