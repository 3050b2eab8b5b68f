import test from 'ava';
import Dockerode from 'dockerode';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBackendSettings } from '../../harness/backend.js';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../../harness/doctor/check.js';
import { criticalDiskBytes, freeSpaceVerdict, lowDiskBytes } from '../../harness/doctor/checks/disk-space.js';
import { cgroupOutcome } from '../../harness/doctor/checks/kernel-cgroup.js';
import { overlayOutcome } from '../../harness/doctor/checks/kernel-overlay.js';
import { userNamespacesOutcome } from '../../harness/doctor/checks/kernel-userns.js';
import { lxcOrphansCheck } from '../../harness/doctor/checks/lxc-orphans.js';
import { socketDirectoryCheck } from '../../harness/doctor/checks/socket-directory.js';
import { staleLockCheck } from '../../harness/doctor/checks/stale-lock.js';
import { staleSocketCheck } from '../../harness/doctor/checks/stale-socket.js';
import { ServiceLock } from '../../harness/service/service-lock.js';

const uid = process.getuid?.() ?? 0;

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-doctor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function contextFor(socketPath: string, overrides: Partial<DoctorContext> = {}, lxcPath = '/nonexistent'): DoctorContext {
  return {
    settings: resolveBackendSettings({ backend: 'lxc', poolId: 'unit-pool', lxcPath }),
    socketPath,
    containerTimeoutMs: 1000,
    docker: new Dockerode({ socketPath: '/nonexistent.sock' }),
    uid,
    ...overrides,
  };
}

function run(check: DoctorCheck, context: DoctorContext): Promise<CheckOutcome> {
  return check.run(context, new AbortController().signal);
}

/** A pid that was a process a moment ago and is no more. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await once(child, 'exit');
  return child.pid ?? 999_999;
}

/** A unix socket nobody listens on: bound by a process that was then SIGKILLed, as a crashed service leaves it. */
async function staleSocket(path: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  await once(child, 'exit');
}

test('socket-dir: missing is fine (serve makes it 0700); ours and 0700 passes', async (t) => {
  const dir = await tempDir(t);
  t.like(await run(socketDirectoryCheck, contextFor(join(dir, 'missing', 'p.sock'))), { status: 'pass', message: `${join(dir, 'missing')} does not exist yet; serve creates it with mode 0700` });
  await chmod(dir, 0o700);
  t.like(await run(socketDirectoryCheck, contextFor(join(dir, 'p.sock'))), { status: 'pass', message: `${dir} is this user's (uid ${uid}) with mode 700` });
});

test('socket-dir: another owner fails; a wider mode warns for a chosen directory; both say how to fix it', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'p.sock');
  const someoneElse = await run(socketDirectoryCheck, contextFor(socketPath, { uid: uid + 1 }));
  t.is(someoneElse.status, 'fail');
  t.regex(someoneElse.message, new RegExp(`belongs to uid ${uid}, not to this user \\(uid ${uid + 1}\\)`));
  t.is(someoneElse.fix, `chown ${uid + 1} ${dir}, or use --socket in a directory of your own`);
  await chmod(dir, 0o755);
  t.like(await run(socketDirectoryCheck, contextFor(socketPath)), { status: 'warn', message: `${dir} has mode 755: others can look into it`, fix: `chmod 700 ${dir}` });
  await writeFile(join(dir, 'file'), '');
  t.like(await run(socketDirectoryCheck, contextFor(join(dir, 'file', 'p.sock'))), { status: 'fail', message: `${join(dir, 'file')} is not a directory` });
});

test('socket: none passes; a stale one (its service was killed) fails with the fix; a live one passes', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'p.sock');
  t.like(await run(staleSocketCheck, contextFor(socketPath)), { status: 'pass' });
  await staleSocket(socketPath);
  const stale = await run(staleSocketCheck, contextFor(socketPath));
  t.is(stale.status, 'fail');
  t.regex(stale.message, /is a stale socket: nobody listens on it/);
  t.regex(stale.fix ?? '', new RegExp(`warmpool serve --backend lxc --pool-id unit-pool --socket ${socketPath}.*rm ${socketPath}`));
  const server = (await import('node:net')).createServer();
  await rm(socketPath);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.like(await run(staleSocketCheck, contextFor(socketPath)), { status: 'pass', message: `a service listens on ${socketPath}` });
  await writeFile(join(dir, 'plain'), '');
  t.like(await run(staleSocketCheck, contextFor(join(dir, 'plain'))), { status: 'fail' });
});

test('lock: none passes; held by a live service passes; a dead holder\'s file is a stale warning', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'p.sock');
  t.like(await run(staleLockCheck, contextFor(socketPath)), { status: 'pass', message: `no lock file ${socketPath}.lock: no service holds this socket` });

  const lock = await ServiceLock.acquire(socketPath);
  t.like(await run(staleLockCheck, contextFor(socketPath)), { status: 'pass', message: `${socketPath}.lock is held by a running service (pid ${process.pid})` });
  lock.release();

  const pid = await deadPid();
  await writeFile(`${socketPath}.lock`, `${pid}\n`);
  const stale = await run(staleLockCheck, contextFor(socketPath));
  t.is(stale.status, 'warn');
  t.is(stale.message, `${socketPath}.lock is a stale lock file: nobody holds it (pid ${pid}, gone); its service ended without cleaning up`);
  t.regex(stale.fix ?? '', /the next serve takes it over/);
});

test('lock: a file whose recorded pid lives but which nobody holds is stale too (/proc/locks decides)', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'p.sock');
  await writeFile(`${socketPath}.lock`, `${process.pid}\n`);
  t.like(await run(staleLockCheck, contextFor(socketPath)), { status: 'warn' });
});

test('orphans (LXC): dead creators are reported and left in place; live ones, other pools and the base are not orphans', async (t) => {
  const lxcPath = await tempDir(t);
  const dead = await deadPid();
  const orphan = `warmpool-unit-pool-${dead}-0123abcd`;
  const live = `warmpool-unit-pool-${process.pid}-89abcdef`;
  const otherPool = `warmpool-unit-pool-2-${dead}-0123abcd`;
  for (const name of [orphan, live, otherPool, 'base-busybox']) await mkdir(join(lxcPath, name));
  const outcome = await run(lxcOrphansCheck, contextFor(join(lxcPath, 'p.sock'), {}, lxcPath));
  t.is(outcome.status, 'fail');
  t.is(outcome.message, `1 orphan of pool unit-pool in ${lxcPath} (their creating process is gone): ${orphan}; 1 belongs to live processes`);
  t.is(outcome.fix, 'warmpool reap --backend lxc --pool-id unit-pool removes them (warmpool serve of this pool also does at its start)');
  t.deepEqual((await readdir(lxcPath)).sort(), [orphan, live, otherPool, 'base-busybox'].sort(), 'the doctor removes nothing');
});

test('disk: pass above 1 GiB, warn below, fail below 200 MiB, naming the thresholds', (t) => {
  t.like(freeSpaceVerdict(5 * lowDiskBytes, '/var', 'the lxcpath', 'x'), { status: 'pass', message: '5.0 GiB free under the lxcpath /var' });
  const low = freeSpaceVerdict(lowDiskBytes - 1, '/var', 'the lxcpath', 'remove old ones');
  t.like(low, { status: 'warn', fix: 'free space on the file system of /var: remove old ones' });
  t.regex(low.message, /\(warn under 1\.0 GiB, fail under 200\.0 MiB\)$/);
  t.like(freeSpaceVerdict(criticalDiskBytes - 1, '/var', 'the lxcpath', 'x'), { status: 'fail' });
  t.like(freeSpaceVerdict(criticalDiskBytes, '/var', 'the lxcpath', 'x'), { status: 'warn' });
});

test('kernel: cgroup mounts, overlay, and user namespaces only when not root', (t) => {
  t.like(cgroupOutcome('cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n'), { status: 'pass', message: 'cgroup2 at /sys/fs/cgroup' });
  t.like(cgroupOutcome('cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\ncgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n'), {
    status: 'pass',
    message: 'cgroup v1 with memory, pids',
  });
  t.like(cgroupOutcome('proc /proc proc rw 0 0\n'), { status: 'fail' });

  t.like(overlayOutcome('nodev\tproc\nnodev\toverlay\n', false), { status: 'pass' });
  t.like(overlayOutcome('nodev\tproc\n', true), { status: 'warn' });
  t.like(overlayOutcome('nodev\tproc\n', false), { status: 'fail', fix: "modprobe overlay (install the kernel's modules package if it is missing)" });

  t.like(userNamespacesOutcome(0, { maxUserNamespaces: 0, unprivilegedClone: '0' }), { status: 'pass' });
  t.like(userNamespacesOutcome(1000, { maxUserNamespaces: 15_000, unprivilegedClone: undefined }), { status: 'pass' });
  t.like(userNamespacesOutcome(1000, { maxUserNamespaces: 15_000, unprivilegedClone: '0' }), { status: 'fail' });
  t.like(userNamespacesOutcome(1000, { maxUserNamespaces: 0, unprivilegedClone: '1' }), { status: 'fail' });
});
