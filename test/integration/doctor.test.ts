import test from 'ava';
import Dockerode from 'dockerode';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadEngineConfig, repoRoot } from '../../fixtures/engines/engine-config.js';
import { dockerContainerName, ownerLabels } from '../../lib/backends/docker/docker-labels.js';
import { buildLxcName, destroyLxcContainer } from '../../lib/backends/lxc/index.js';
import { isProcessAlive, randomSuffix } from '../../lib/backends/owner.js';
import { runMain } from '../helpers/cli.js';
import type { BackendName } from '../../harness/backend.js';
import { doctorPoolId } from '../../harness/doctor/checks/container-start.js';
import type { DoctorReport } from '../../harness/doctor/doctor-report.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';

// `warmpool doctor` on the real engines: healthy setups pass, and a missing image, a stale socket and an orphan
// of the pool are each reported with a fix, the orphan left where it is. Serial: each run makes a trial
// container in the doctor's pool, and the test checks that none of this process's is left after it.

const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const backends: readonly BackendName[] = ['docker', 'lxc'];

test.before(async () => {
  await assertEngine('docker');
  await assertEngine('lxc');
});

function uniquePoolId(what: string): string {
  return `it-dr-${what}-${randomSuffix()}`;
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-doctor-it-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `warmpool doctor … --json` in this process; its report and exit code. */
async function doctor(args: string[]): Promise<{ code: number; report: DoctorReport; stderr: string }> {
  const { code, stdout, stderr } = await runMain(['doctor', ...args, '--json']);
  return { code, report: JSON.parse(stdout) as DoctorReport, stderr };
}

function check(report: DoctorReport, id: string): DoctorReport['checks'][number] {
  const found = report.checks.find((entry) => entry.id === id);
  if (!found) throw new Error(`no ${id} check in ${JSON.stringify(report)}`);
  return found;
}

/** The doctor's trial containers this process made and did not remove (there must be none). */
async function trialsLeft(backend: BackendName): Promise<string[]> {
  return (await containersOfPool(backend, doctorPoolId)).filter((name) => name.includes(`-${doctorPoolId}-${process.pid}-`));
}

/** A pid that existed and has exited: the creator of an orphan. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  if (!Number.isInteger(pid) || isProcessAlive(pid)) throw new Error(`could not get a dead pid (${child.stdout})`);
  return pid;
}

for (const backend of backends) {
  test.serial(`${backend}: a healthy setup passes every check (exit 0), a trial container starts, and none is left`, async (t) => {
    const dir = await tempDir(t);
    const poolId = uniquePoolId('ok');
    const { code, report, stderr } = await doctor(['--backend', backend, '--pool-id', poolId, '--socket', join(dir, 'p.sock')]);
    t.is(code, 0, `${JSON.stringify(report, null, 1)}\n${stderr}`);
    t.true(report.ok);
    t.deepEqual(
      report.checks.filter((entry) => entry.status === 'fail' || entry.status === 'skip'),
      [],
    );
    t.regex(check(report, 'engine').message, backend === 'docker' ? /^Docker \S+ \(API [\d.]+/ : /^LXC \d+\.\d+/);
    t.regex(check(report, 'container').message, new RegExp(`^container warmpool-${doctorPoolId}-${process.pid}-[0-9a-f]{8} started and ran a command in it`));
    t.is(check(report, 'orphans').message, `no orphans of pool ${poolId} ${backend === 'docker' ? 'on the engine' : `in ${engine.lxcPath}`}`);
    t.deepEqual(await trialsLeft(backend), []);
    t.deepEqual(await containersOfPool(backend, poolId), []);
  });
}

test.serial('docker: an image that is not there fails the image check with a fix, skips the container check, exit 1 (as a process, from the environment)', async (t) => {
  const dir = await tempDir(t);
  const image = `warmpool/nope-${randomSuffix()}:latest`;
  const result = await execa(process.execPath, ['--import', 'tsx', 'harness/cli/warmpool.ts', 'doctor', '--pool-id', uniquePoolId('img'), '--socket', join(dir, 'p.sock'), '--json'], {
    cwd: repoRoot,
    env: { WARMPOOL_DOCKER_IMAGE: image },
    reject: false,
  });
  t.is(result.exitCode, 1, result.stderr);
  const report = JSON.parse(result.stdout) as DoctorReport;
  t.false(report.ok);
  t.like(check(report, 'engine'), { status: 'pass' });
  t.like(check(report, 'image'), { status: 'fail', message: `image ${image} is not on the engine (serve would try to pull it at its first creation)` });
  t.regex(check(report, 'image').fix ?? '', new RegExp(`^docker pull ${image}`));
  t.like(check(report, 'container'), { status: 'skip' });
  // Only the image is wrong: the rest of the host is fine.
  t.deepEqual(report.checks.filter((entry) => entry.status === 'fail').map((entry) => entry.id), ['image']);
});

test.serial('docker: a stale socket (its service was SIGKILLed) is reported with the fix, exit 1', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'p.sock');
  const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
  await once(spawn(process.execPath, ['-e', script], { stdio: 'ignore' }), 'exit');
  const { code, report } = await doctor(['--pool-id', uniquePoolId('sock'), '--socket', socketPath]);
  t.is(code, 1);
  t.like(check(report, 'socket'), { status: 'fail' });
  t.regex(check(report, 'socket').message, new RegExp(`^${socketPath} is a stale socket: nobody listens on it`));
  t.regex(check(report, 'socket').fix ?? '', new RegExp(`rm ${socketPath}\\)$`));
  t.deepEqual(await trialsLeft('docker'), []);
});

test.serial('docker: an orphan of the pool (labelled, its creator dead) is reported and not removed, exit 1', async (t) => {
  const dir = await tempDir(t);
  const poolId = uniquePoolId('orph');
  const name = dockerContainerName(poolId, deadPid());
  const labels = ownerLabels({ poolId, pid: Number(name.split('-').at(-2)) });
  await docker.createContainer({ name, Image: engine.dockerImage, Cmd: ['/bin/sh', '-c', 'sleep 3600'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
  t.teardown(() => docker.getContainer(name).remove({ force: true }).catch(() => undefined));
  const { code, report } = await doctor(['--pool-id', poolId, '--socket', join(dir, 'p.sock')]);
  t.is(code, 1);
  t.like(check(report, 'orphans'), {
    status: 'fail',
    message: `1 orphan of pool ${poolId} on the engine (their creating process is gone): ${name}`,
    fix: `warmpool reap --backend docker --pool-id ${poolId} removes them (warmpool serve of this pool also does at its start)`,
  });
  t.deepEqual(await containersOfPool('docker', poolId), [`/${name}`], 'the doctor removes nothing');
});

test.serial('lxc: an orphan of the pool (a clone named for a dead creator) is reported and not removed, exit 1', async (t) => {
  const dir = await tempDir(t);
  const poolId = uniquePoolId('orph');
  const name = buildLxcName(poolId, deadPid(), randomSuffix());
  await execa('lxc-copy', ['-P', engine.lxcPath, '-n', engine.lxcBase, '-N', name, '-s', '-B', 'overlayfs']);
  t.teardown(() => destroyLxcContainer(engine.lxcPath, name));
  const { code, report } = await doctor(['--backend', 'lxc', '--pool-id', poolId, '--socket', join(dir, 'p.sock')]);
  t.is(code, 1);
  t.like(check(report, 'orphans'), {
    status: 'fail',
    message: `1 orphan of pool ${poolId} in ${engine.lxcPath} (their creating process is gone): ${name}`,
  });
  t.deepEqual(await containersOfPool('lxc', poolId), [name], 'the doctor removes nothing');
  t.deepEqual(await trialsLeft('lxc'), []);
});

test.serial("docker: the trial container runs serve's readiness command from --config; one that never succeeds fails the check, and nothing is left", async (t) => {
  const dir = await tempDir(t);
  const config = async (command: string[]): Promise<string> => {
    const path = join(dir, `config-${randomSuffix()}.json`);
    await writeFile(path, JSON.stringify({ readinessCommand: command }));
    return path;
  };
  const args = ['--pool-id', uniquePoolId('ready'), '--socket', join(dir, 'p.sock')];
  // The readiness deadline's default (30 s): a loaded engine may be slow to run even a passing command.
  const ready = await doctor([...args, '--config', await config(['/bin/sh', '-c', 'test -d /tmp'])]);
  t.is(ready.code, 0, JSON.stringify(ready.report));
  t.regex(check(ready.report, 'container').message, /started and passed its readiness command \["\/bin\/sh","-c","test -d \/tmp"\] in \d+ ms$/);

  // Short: it can only fail, however fast the engine is.
  const never = await doctor([...args, '--readiness-timeout-ms', '1500', '--config', await config(['/bin/sh', '-c', 'test -e /never-there'])]);
  t.is(never.code, 1);
  t.like(check(never.report, 'container'), { status: 'fail' });
  t.regex(check(never.report, 'container').message, /^no docker container started: .*test -e \/never-there/);
  t.regex(check(never.report, 'container').fix ?? '', /succeeds in it/);
  t.deepEqual(await trialsLeft('docker'), []);
});
