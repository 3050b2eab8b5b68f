import test from 'ava';
import Dockerode from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerFactory, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import type { DockerContainer } from '../../lib/backends/docker/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { BackendError, ContainerDiedError, timedOutExitCode } from '../../lib/index.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';
import { registerFinalExecContract } from '../helpers/final-exec-contract.js';

// execFinal runs a job's command through the container's agent (its main process) instead of a new engine exec.
// Each test uses a container of its own: the container stops once its final command ends.
const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const poolId = `it-docker-final-${randomSuffix()}`;
const factory = new DockerFactory({ docker, poolId, image: engine.dockerImage });

async function fresh(): Promise<DockerContainer> {
  return factory.createContainer({ signal: AbortSignal.timeout(30_000) });
}

function final(container: DockerContainer): NonNullable<DockerContainer['execFinal']> {
  if (container.execFinal === undefined) throw new Error(`${container.name} has no agent`);
  return container.execFinal;
}

async function running(container: DockerContainer): Promise<boolean> {
  return (await docker.getContainer(container.id).inspect()).State.Running;
}

test.before(async () => {
  await assertEngine('docker');
});

test.after.always(async () => {
  await reapDockerOrphans({ docker, poolId, force: true });
});

registerFinalExecContract(test, 'docker', fresh);

test('the command runs with separate stdout and stderr and its exit code, and the container then stops', async (t) => {
  const container = await fresh();
  try {
    t.true(container.describe().agent, 'the descriptor says the agent is there, for a client in another process');
    const result = await final(container)(['sh', '-c', 'echo out; echo err >&2; printf tail; exit 3']);
    t.deepEqual(result, { exitCode: 3, stdout: 'out\ntail', stderr: 'err\n', timedOut: false });
    // The agent exits after the command: the container stops by itself.
    const stopped = (await docker.getContainer(container.id).wait({ condition: 'not-running' })) as { StatusCode: number };
    t.is(stopped.StatusCode, 0);
  } finally {
    await container.destroy();
  }
});

test('arguments, env and cwd arrive exactly, quotes and newlines included; output bytes are kept', async (t) => {
  const container = await fresh();
  try {
    const value = `it's "quoted"\nsecond line $HOME \\ end`;
    const result = await final(container)(['sh', '-c', 'printf "%s|" "$1" "$V" "$(pwd)"; printf "\\377\\000x" >&2', 'sh', `a'b\nc`], {
      env: { V: value, 'ODD-NAME': 'kept' },
      cwd: '/tmp',
    });
    t.is(result.exitCode, 0);
    t.is(result.stdout, `a'b\nc|${value}|/tmp|`);
    t.deepEqual(Buffer.from(result.stderr, 'utf8').subarray(-2), Buffer.from('\0x'));
  } finally {
    await container.destroy();
  }
});

test('a name the shell cannot export still reaches the command, as exec would pass it', async (t) => {
  const container = await fresh();
  try {
    const result = await final(container)(['env'], { env: { 'ODD-NAME': 'kept' } });
    t.is(result.exitCode, 0);
    t.true(result.stdout.split('\n').includes('ODD-NAME=kept'), result.stdout);
  } finally {
    await container.destroy();
  }
});

test('a timeout kills everything in the container and resolves with 124 and the output so far', async (t) => {
  const container = await fresh();
  try {
    const result = await final(container)(['sh', '-c', 'echo before; sleep 30 & sleep 30; echo never'], { timeoutMs: 300 });
    t.is(result.exitCode, timedOutExitCode);
    t.true(result.timedOut);
    t.is(result.stdout, 'before\n');
    t.false(await running(container), 'the kill reached every process: the container is stopped');
  } finally {
    await container.destroy();
  }
});

test('an abort kills the command and rejects with the reason', async (t) => {
  const container = await fresh();
  try {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const ran = final(container)(['sleep', '30'], { signal: controller.signal });
    await sleep(200);
    controller.abort(reason);
    const error = await t.throwsAsync(ran);
    t.is(error, reason);
    t.false(await running(container));
  } finally {
    await container.destroy();
  }
});

test('a container killed under the command rejects with ContainerDiedError, not an exit code', async (t) => {
  const container = await fresh();
  try {
    const ran = final(container)(['sh', '-c', 'echo started; sleep 30']);
    await sleep(300);
    await docker.getContainer(container.id).kill();
    const error = await t.throwsAsync(ran, { instanceOf: ContainerDiedError });
    t.is(error?.exitCode, 137);
  } finally {
    await container.destroy();
  }
});

test('a container that is no longer running is a BackendError: the command never started', async (t) => {
  const container = await fresh();
  try {
    await docker.getContainer(container.id).kill();
    await docker.getContainer(container.id).wait({ condition: 'not-running' });
    await t.throwsAsync(final(container)(['echo', 'x']), { instanceOf: BackendError, message: /not running/ });
  } finally {
    await container.destroy();
  }
});

test('exec still works before the final command, and files can be read after it', async (t) => {
  const container = await fresh();
  try {
    t.is((await container.exec(['sh', '-c', 'echo early > /tmp/a'])).exitCode, 0);
    const result = await final(container)(['sh', '-c', 'cat /tmp/a; echo late >> /tmp/a']);
    t.is(result.stdout, 'early\n');
    await docker.getContainer(container.id).wait({ condition: 'not-running' });
    t.is((await container.readFile('/tmp/a')).toString('utf8'), 'early\nlate\n');
  } finally {
    await container.destroy();
  }
});

/** The actions of the engine's events for each of the containers `ids`, from `sinceS` (Unix seconds) until now. */
async function eventsOf(ids: readonly string[], sinceS: number): Promise<Map<string, string[]>> {
  // The stream ends at `until`, a whole second: the next one, so that the newest events are in.
  const untilS = Math.floor(Date.now() / 1000) + 1;
  const stream = await docker.getEvents({ since: sinceS, until: untilS, filters: { container: [...ids] } });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  const actions = new Map(ids.map((id) => [id, [] as string[]]));
  for (const line of text.split('\n').filter((line) => line.trim() !== '')) {
    const event = JSON.parse(line) as { id?: string; Action?: string };
    actions.get(String(event.id))?.push(String(event.Action));
  }
  return actions;
}

test('destroy() right after the final command lets the container stop by itself: the engine kills nothing', async (t) => {
  // Several at once: with the engine busy, a stop trails the agent's last line by more, and a remove that did not
  // wait for it would have the engine kill the container (it did in 1 of 4 runs with one container alone).
  const containers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => fresh()));
  const sinceS = Math.floor(Date.now() / 1000) - 1;
  await Promise.all(
    containers.map(async (container) => {
      t.is((await final(container)(['true'])).exitCode, 0);
      await container.destroy();
    }),
  );
  const events = await eventsOf(containers.map((container) => container.id), sinceS);
  for (const container of containers) {
    const actions = events.get(container.id) ?? [];
    t.true(actions.includes('destroy'), `removed (events: ${actions.join(', ')})`);
    t.true(actions.includes('die'), `stopped (events: ${actions.join(', ')})`);
    t.false(actions.includes('kill'), `no kill (events: ${actions.join(', ')})`);
  }
});

test('a container with a main process of its own has no execFinal', async (t) => {
  const ownCommand = new DockerFactory({ docker, poolId, image: engine.dockerImage, command: ['sleep', '3600'] });
  const container = await ownCommand.createContainer({ signal: AbortSignal.timeout(30_000) });
  try {
    t.is(container.execFinal, undefined);
    t.is(container.describe().agent, undefined);
  } finally {
    await container.destroy();
  }
});
