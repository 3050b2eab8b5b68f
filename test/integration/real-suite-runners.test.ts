import test from 'ava';
import Dockerode from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { poolLabel, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { dockerRunRm } from '../../harness/bench/real-suite-docker-run.js';
import { hostRun } from '../../harness/bench/real-suite-host-run.js';
import { SuiteImageError, checkSuiteImage, checkSuiteLxcBase } from '../../harness/bench/real-suite-image.js';
import { assertEngine } from '../helpers/engines.js';

// The two baselines of the bench's real-suite part, on the busybox test image and the host's own sh: the
// runners must report what the command did and leave nothing behind, even when stopped half-way.
const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const poolId = `it-rs-runners-${randomSuffix()}`;
const exitThree = ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'];
let workDir = '';

test.before(async () => {
  await assertEngine('docker');
  workDir = await mkdtemp(join(tmpdir(), 'warmpool-rs-runners-'));
});

test.after.always(async () => {
  await reapDockerOrphans({ docker, poolId, force: true });
  if (workDir !== '') await rm(workDir, { recursive: true, force: true });
});

/** Every container of this test's pool the engine still has, stopped ones included. */
async function containersLeft(): Promise<string[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${poolLabel}=${poolId}`] } });
  return listed.map((info) => `${info.Names[0] ?? info.Id} (${info.State})`);
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The process is gone or a zombie waiting to be reaped: it no longer runs. */
function notRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

test.serial('a container per job: exit code, stdout and stderr apart, and the container is removed', async (t) => {
  const run = await dockerRunRm({ docker, image: engine.dockerImage, poolId, command: exitThree, env: { GREETING: 'hi' } });
  t.like(run, { exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  t.true(run.totalMs >= run.runMs);
  t.deepEqual(await containersLeft(), []);

  const env = await dockerRunRm({ docker, image: engine.dockerImage, poolId, command: ['/bin/sh', '-c', 'echo "$GREETING"'], env: { GREETING: 'hi' } });
  t.like(env, { exitCode: 0, stdout: 'hi\n', stderr: '' });
});

test.serial('a container per job runs with no network, only loopback', async (t) => {
  const run = await dockerRunRm({ docker, image: engine.dockerImage, poolId, command: ['/bin/sh', '-c', 'ls /sys/class/net'] });
  t.is(run.stdout.trim(), 'lo');
});

test.serial('a loopback-only container per job: no engine network, only loopback, none mode\'s hosts file, and the same results', async (t) => {
  const since = Math.floor(Date.now() / 1000);
  const probe = ['/bin/sh', '-c', 'ls /sys/class/net; grep -c localhost /etc/hosts; echo "$GREETING"; echo err >&2; exit 3'];
  const run = await dockerRunRm({ docker, image: engine.dockerImage, poolId, command: probe, env: { GREETING: 'hi' }, loopbackOnly: true, labels: { 'it.way': 'loopback' } });
  t.like(run, { exitCode: 3, stdout: 'lo\n2\nhi\n', stderr: 'err\n', timedOut: false });
  await dockerRunRm({ docker, image: engine.dockerImage, poolId, command: ['true'], labels: { 'it.way': 'engine' } });
  t.deepEqual(await containersLeft(), []);

  // The engine's network library connects a container it makes a sandbox for to the `none` network; it never
  // sees a loopback-only one. The engine's way, run just after, is the check that the events say so.
  const events = await engineEvents(since);
  const idOf = (way: string): string | undefined => events.find((event) => event.Type === 'container' && event.Action === 'create' && event.Actor.Attributes['it.way'] === way)?.Actor.ID;
  const connected = (id: string | undefined): boolean => events.some((event) => event.Type === 'network' && event.Action === 'connect' && event.Actor.Attributes['container'] === id);
  t.truthy(idOf('loopback'));
  t.false(connected(idOf('loopback')), 'no sandbox for the loopback-only container');
  t.true(connected(idOf('engine')), "the engine's way is connected to the none network");
});

interface EngineEvent {
  readonly Type: string;
  readonly Action: string;
  readonly Actor: { readonly ID: string; readonly Attributes: Record<string, string> };
}

/** The engine's events from `since` (seconds) to now. */
async function engineEvents(since: number): Promise<EngineEvent[]> {
  const stream = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1 });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as EngineEvent);
}

test.serial('a container per job past its timeout is killed, reported timed out, and removed', async (t) => {
  const run = await dockerRunRm({
    docker,
    image: engine.dockerImage,
    poolId,
    command: ['/bin/sh', '-c', 'echo started; sleep 60'],
    timeoutMs: 1_000,
  });
  t.like(run, { exitCode: null, timedOut: true, stdout: 'started\n' });
  t.deepEqual(await containersLeft(), []);
});

test.serial('aborting a container per job removes its container and rejects with the reason', async (t) => {
  const controller = new AbortController();
  const running = dockerRunRm({ docker, image: engine.dockerImage, poolId, command: ['sleep', '60'], signal: controller.signal });
  await waitFor('the container to run', async () => (await containersLeft()).some((line) => line.endsWith('(running)')));
  controller.abort(new Error('stop the job'));
  await t.throwsAsync(running, { message: 'stop the job' });
  t.deepEqual(await containersLeft(), []);
});

test.serial('a container per job whose image is missing fails and leaves nothing', async (t) => {
  await t.throwsAsync(dockerRunRm({ docker, image: `warmpool/missing-${randomSuffix()}:none`, poolId, command: ['true'] }), { message: /docker create/ });
  t.deepEqual(await containersLeft(), []);
});

test('on the host: exit code, stdout and stderr apart, and only the environment given', async (t) => {
  const run = await hostRun({ command: exitThree, env: { PATH: '/usr/bin:/bin' }, cwd: workDir });
  t.like(run, { exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });

  const env = await hostRun({ command: ['/usr/bin/env'], env: { PATH: '/usr/bin:/bin', ONLY: 'this' }, cwd: workDir });
  t.deepEqual(env.stdout.trim().split('\n').sort(), ['ONLY=this', 'PATH=/usr/bin:/bin']);
  const cwd = await hostRun({ command: ['/bin/pwd'], env: {}, cwd: workDir });
  t.is(cwd.stdout.trim(), workDir);
});

test('on the host past its timeout: reported timed out, and what it started is killed too', async (t) => {
  const pidFile = join(workDir, 'timeout.pid');
  const run = await hostRun({ command: ['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; echo started; wait`], env: { PATH: '/usr/bin:/bin' }, cwd: workDir, timeoutMs: 1_000 });
  t.like(run, { exitCode: null, timedOut: true });
  const pid = Number(await readFile(pidFile, 'utf8'));
  await waitFor(`the background sleep ${pid} to end`, () => notRunning(pid));
  t.true(notRunning(pid));
});

test('aborting a job on the host kills it and what it started, and rejects with the reason', async (t) => {
  const pidFile = join(workDir, 'abort.pid');
  const controller = new AbortController();
  const running = hostRun({ command: ['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], env: { PATH: '/usr/bin:/bin' }, cwd: workDir, signal: controller.signal });
  await waitFor('the pid file', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.false(notRunning(pid));
  controller.abort(new Error('stop the host job'));
  await t.throwsAsync(running, { message: 'stop the host job' });
  await waitFor(`the background sleep ${pid} to end`, () => notRunning(pid));
  t.true(notRunning(pid));
});

test('the real-suite part without its image or LXC base fails saying which script builds it', async (t) => {
  const missingImage = `warmpool/missing-${randomSuffix()}:none`;
  const image = await t.throwsAsync(checkSuiteImage(docker, missingImage), { instanceOf: SuiteImageError });
  t.is(image.message, `The real-suite image ${missingImage} is missing: run \`bash fixtures/images/build-python-suite-image.sh\``);
  // The busybox image exists but was not built by the script: it says which packages it holds.
  await t.throwsAsync(checkSuiteImage(docker, engine.dockerImage), { instanceOf: SuiteImageError, message: /not built by the script.*build-python-suite-image\.sh/ });
  const base = await t.throwsAsync(checkSuiteLxcBase(workDir, 'no-such-base'), { instanceOf: SuiteImageError });
  t.regex(base.message, /LXC base no-such-base is missing .*build-python-suite-lxc-base\.sh/);
});
