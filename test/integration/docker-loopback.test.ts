import test from 'ava';
import Dockerode from 'dockerode';
import { readlink } from 'node:fs/promises';
import { DockerFactory, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import type { DockerContainer, DockerFactoryOptions } from '../../lib/backends/docker/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';

// Network mode none, the loopback-only way (docker-loopback.ts): what such a container has, and when the factory
// makes its containers the engine's way instead.
const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const poolId = `it-loopback-${randomSuffix()}`;
const madeImages: string[] = [];
let imagesNamed = 0;
const signal = new AbortController().signal;

test.before(() => assertEngine('docker'));

test.after.always(async () => {
  await reapDockerOrphans({ docker, poolId, force: true });
  for (const image of madeImages) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
});

function factory(overrides: Partial<DockerFactoryOptions> = {}): DockerFactory {
  return new DockerFactory({ docker, poolId, image: engine.dockerImage, ...overrides });
}

/** An image made from the test image by committing a container of it with `changes` (such as `USER 1000`). */
async function derivedImage(changes: string[]): Promise<string> {
  // Named before any await: the tests of this file run at once.
  const [repo, tag] = [`warmpool-it/${poolId}`, String(imagesNamed++)];
  const container = await docker.createContainer({ Image: engine.dockerImage, HostConfig: { NetworkMode: 'none' } });
  try {
    await container.commit({ repo, tag, changes });
    madeImages.push(`${repo}:${tag}`);
    return `${repo}:${tag}`;
  } finally {
    await container.remove({ force: true });
  }
}

/** The engine's inspect, with `Config.NetworkDisabled`, which @types/dockerode leaves out. */
async function inspect(container: DockerContainer): Promise<Dockerode.ContainerInspectInfo & { Config: { NetworkDisabled?: boolean } }> {
  return docker.getContainer(container.id).inspect();
}

async function shell(container: DockerContainer, script: string): Promise<string> {
  const result = await container.exec(['/bin/sh', '-c', script]);
  if (result.exitCode !== 0) throw new Error(`${script} exited ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

const noneModeHosts =
  '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

test('a container of network mode none with the agent has a network namespace of its own with only loopback, up, and the hosts file of mode none', async (t) => {
  const made = factory();
  const [first, second] = await Promise.all([made.createContainer({ signal }), made.createContainer({ signal })]);
  try {
    const info = await inspect(first);
    t.true(info.Config.NetworkDisabled, 'made without the engine network sandbox');
    t.is(info.HostConfig.NetworkMode, 'none');
    t.is(info.NetworkSettings.SandboxKey, '', 'no sandbox, so no libnetwork-setkey hook');

    t.deepEqual(
      (await shell(first, 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "')).trim().split('\n'),
      ['lo'],
      'loopback is the only interface',
    );
    t.regex(await shell(first, 'ip addr show lo'), /inet 127\.0\.0\.1\/8/);
    t.regex(await shell(first, 'ip link show lo'), /<LOOPBACK,UP/);
    // Something listening on loopback answers: the interface works, not only shows up. The client tries again
    // until the listener is up (5 s at most), as a busy machine may start it late.
    const listenAndAsk =
      'nc -l -p 4242 -e echo pong & for i in $(seq 100); do a=$(nc 127.0.0.1 4242 </dev/null 2>/dev/null); [ -n "$a" ] && { echo "$a"; exit 0; }; sleep 0.05; done; exit 1';
    t.is(await shell(first, listenAndAsk), 'pong\n');
    t.is(await shell(first, 'cat /etc/hosts'), noneModeHosts, 'the agent wrote the hosts file network mode none mounts');

    const namespaces = [await shell(first, 'readlink /proc/1/ns/net'), await shell(second, 'readlink /proc/1/ns/net')].map((ns) => ns.trim());
    t.not(namespaces[0], namespaces[1], 'each container has its own');
    t.false(namespaces.includes(await readlink('/proc/self/ns/net')), "neither is the host's");

    const result = await first.execFinal?.(['/bin/sh', '-c', 'echo "$0 ran"', 'agent']);
    t.deepEqual(result, { exitCode: 0, stdout: 'agent ran\n', stderr: '', timedOut: false }, 'the agent takes its command after the ready line');
  } finally {
    await Promise.all([first.destroy(), second.destroy()]);
  }
});

test("an image that runs as another user, or a command of the caller's, gets network mode none the engine's way", async (t) => {
  const image = await derivedImage(['USER 1000']);
  const asUser = await factory({ image }).createContainer({ signal });
  const ownCommand = await factory({ command: ['/bin/sh', '-c', 'while :; do sleep 3600; done'] }).createContainer({ signal });
  try {
    for (const container of [asUser, ownCommand]) {
      const info = await inspect(container);
      t.falsy(info.Config.NetworkDisabled);
      t.is(info.HostConfig.NetworkMode, 'none');
      t.not(info.NetworkSettings.SandboxKey, '', 'the engine made its sandbox');
      t.regex(await shell(container, 'cat /etc/hosts'), /^127\.0\.0\.1\tlocalhost$/m, "the engine's hosts file");
    }
    t.is((await asUser.execFinal?.(['id', '-u']))?.stdout, '1000\n', 'the agent runs as the image says');
  } finally {
    await Promise.all([asUser.destroy(), ownCommand.destroy()]);
  }
});
