import test from 'ava';
import Dockerode from 'dockerode';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import {
  DockerFactory,
  openDockerContainer,
  poolLabel,
  reapDockerOrphans,
} from '../../lib/backends/docker/index.js';
import type { DockerContainer } from '../../lib/backends/docker/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { BackendError, timedOutExitCode } from '../../lib/index.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';

// One container, many commands and files: what a test job does with a container it took from the pool.
const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const poolId = `it-docker-ctr-${randomSuffix()}`;
let shared: DockerContainer | undefined;

function container(): DockerContainer {
  if (shared === undefined) throw new Error('the shared container was not created');
  return shared;
}

test.before(async () => {
  await assertEngine('docker');
  const factory = new DockerFactory({ docker, poolId, image: engine.dockerImage });
  shared = await factory.createContainer({ signal: AbortSignal.timeout(30_000) });
});

test.after.always(async () => {
  await shared?.destroy();
  await reapDockerOrphans({ docker, poolId, force: true });
});

async function processes(): Promise<string> {
  return (await container().exec(['ps', '-o', 'pid,args'])).stdout;
}

test.serial('exec returns stdout, stderr and the exit code, also a non-zero one', async (t) => {
  t.deepEqual(await container().exec(['echo', 'hello']), { exitCode: 0, stdout: 'hello\n', stderr: '', timedOut: false });
  t.deepEqual(await container().exec(['/bin/sh', '-c', 'echo out; echo err >&2; exit 7']), {
    exitCode: 7,
    stdout: 'out\n',
    stderr: 'err\n',
    timedOut: false,
  });
  // With a signal the command runs under the pid-reporting wrapper: the output must be the same.
  t.deepEqual(
    await container().exec(['/bin/sh', '-c', 'echo out; echo err >&2; exit 7'], { signal: new AbortController().signal }),
    { exitCode: 7, stdout: 'out\n', stderr: 'err\n', timedOut: false },
  );
  const missing = await container().exec(['/no/such/binary'], { timeoutMs: 10_000 });
  t.is(missing.exitCode, 127);
});

test.serial('exec passes env and cwd, and keeps large output intact', async (t) => {
  const result = await container().exec(['/bin/sh', '-c', 'echo "$A $B"; pwd'], { env: { A: 'one', B: 'two words' }, cwd: '/tmp' });
  t.is(result.stdout, 'one two words\n/tmp\n');
  const big = await container().exec(['/bin/sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x'], { timeoutMs: 10_000 });
  t.is(big.stdout.length, 300_000);
  t.regex(big.stdout, /^x+$/);
});

test.serial('exec with a timeout kills the command and its children and reports timedOut', async (t) => {
  const started = Date.now();
  const result = await container().exec(['/bin/sh', '-c', 'echo started; sleep 41 & sleep 42'], { timeoutMs: 300 });
  const elapsedMs = Date.now() - started;
  t.true(result.timedOut);
  t.is(result.exitCode, timedOutExitCode);
  t.is(result.stdout, 'started\n');
  t.is(result.stderr, '', 'the wrapper pid line is not part of stderr');
  t.true(elapsedMs >= 300 && elapsedMs < 20_000, `took ${elapsedMs} ms: killed at its timeout, not after the 41 s sleep`);
  t.notRegex(await processes(), /sleep 4[12]/, 'the command and its background child are gone');
});

test.serial('an aborted exec rejects with the reason after killing the command', async (t) => {
  const controller = new AbortController();
  const reason = new Error('enough');
  setTimeout(() => controller.abort(reason), 200);
  await t.throwsAsync(container().exec(['sleep', '43'], { signal: controller.signal }), { is: reason });
  t.notRegex(await processes(), /sleep 43/);
  await t.throwsAsync(container().exec(['true'], { signal: AbortSignal.abort(reason) }), { is: reason });
});

test.serial('exec and createContainer leave no listener on the caller\'s signal', async (t) => {
  const controller = new AbortController();
  await container().exec(['true'], { signal: controller.signal, timeoutMs: 5_000 });
  await container().exec(['sleep', '5'], { signal: controller.signal, timeoutMs: 100 });
  const factory = new DockerFactory({ docker, poolId, image: engine.dockerImage, readinessCommand: ['/bin/true'] });
  const made = await factory.createContainer({ signal: controller.signal });
  await made.destroy();
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
});

test.serial('writeFile then readFile round-trips text and binary data, creating directories', async (t) => {
  await container().writeFile('/tmp/hello.txt', 'héllo\n');
  t.is((await container().readFile('/tmp/hello.txt')).toString('utf8'), 'héllo\n');
  t.is((await container().exec(['cat', '/tmp/hello.txt'])).stdout, 'héllo\n', 'the file is really in the container');

  const binary = randomBytes(200_000);
  await container().writeFile('/var/lab/deep/er/data.bin', binary);
  t.true((await container().readFile('/var/lab/deep/er/data.bin')).equals(binary));

  await container().writeFile('/tmp/hello.txt', 'replaced');
  t.is((await container().readFile('/tmp/hello.txt')).toString(), 'replaced');

  await container().exec(['ln', '-s', '/tmp/hello.txt', '/tmp/link']);
  t.is((await container().readFile('/tmp/link')).toString(), 'replaced', 'readFile follows symlinks');
});

test.serial('readFile of a missing file or a directory fails with a BackendError', async (t) => {
  const missing = await t.throwsAsync(container().readFile('/tmp/absent'), { instanceOf: BackendError });
  t.regex(missing?.message ?? '', /no such file: \/tmp\/absent/);
  await t.throwsAsync(container().readFile('/tmp'), { instanceOf: BackendError, message: /not a regular file/ });
});

test.serial('openDockerContainer reattaches from a descriptor', async (t) => {
  const again = openDockerContainer(container().describe(), { docker: engine.dockerSocket });
  t.is(again.name, container().name);
  t.is((await again.exec(['cat', '/tmp/hello.txt'])).stdout, 'replaced');
});

test.serial('destroy removes the container and is idempotent; exec afterwards fails', async (t) => {
  const factory = new DockerFactory({ docker, poolId, image: engine.dockerImage });
  const doomed = await factory.createContainer({ signal: AbortSignal.timeout(30_000) });
  await Promise.all([doomed.destroy(), doomed.destroy()]);
  await doomed.destroy();
  await openDockerContainer(doomed.describe(), { docker }).destroy();
  const left = await docker.listContainers({ all: true, filters: { label: [`${poolLabel}=${poolId}`], id: [doomed.id] } });
  t.deepEqual(left, []);
  await t.throwsAsync(doomed.exec(['true']), { instanceOf: BackendError });
});
