import test from 'ava';
import Dockerode from 'dockerode';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { DockerFactory, poolLabel, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import { isProcessAlive, randomSuffix } from '../../lib/backends/owner.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';

const engine = loadEngineConfig();
const docker = new Dockerode({ socketPath: engine.dockerSocket });
const poolId = `it-docker-reap-${randomSuffix()}`;
const foreignName = `foreign-${randomSuffix()}`;

test.before(() => assertEngine('docker'));

test.after.always(async () => {
  await reapDockerOrphans({ docker, poolId, force: true });
  await docker
    .getContainer(foreignName)
    .remove({ force: true })
    .catch(() => undefined);
});

/** A pid that existed and has exited: the creator of an orphan. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  if (!Number.isInteger(pid) || isProcessAlive(pid)) throw new Error(`could not get a dead pid (${child.stdout})`);
  return pid;
}

async function createLabelled(name: string, labels: Record<string, string>, running: boolean): Promise<string> {
  const container = await docker.createContainer({
    name,
    Image: engine.dockerImage,
    Cmd: ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'],
    Labels: labels,
    HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
  });
  if (running) await container.start();
  return name;
}

function ownedBy(pid: number, host = hostname()): Record<string, string> {
  return {
    [poolLabel]: poolId,
    'warmpool.pid': String(pid),
    'warmpool.host': host,
    'warmpool.created': new Date().toISOString(),
  };
}

test.serial('reaping removes containers of dead creators and leaves everything else alone', async (t) => {
  const dead = deadPid();
  const orphanRunning = await createLabelled(`warmpool-${poolId}-${dead}-${randomSuffix()}`, ownedBy(dead), true);
  const orphanStopped = await createLabelled(`warmpool-${poolId}-${dead}-${randomSuffix()}`, ownedBy(dead), false);
  const elsewhere = await createLabelled(`warmpool-${poolId}-${dead}-${randomSuffix()}`, ownedBy(dead, 'another-host'), false);
  // A live creator: this very process, through the real factory.
  const factory = new DockerFactory({ docker, poolId, image: engine.dockerImage });
  const live = await factory.createContainer({ signal: AbortSignal.timeout(30_000) });
  // Not ours at all: no warmpool labels (but a name that looks like ours), and another pool's container.
  await createLabelled(foreignName, { purpose: 'foreign' }, true);
  const otherPoolId = `${poolId}-other`;
  const otherPool = await createLabelled(`warmpool-${otherPoolId}-${dead}-${randomSuffix()}`, { ...ownedBy(dead), [poolLabel]: otherPoolId }, false);

  try {
    const result = await reapDockerOrphans({ docker, poolId });
    t.deepEqual([...result.removed].sort(), [orphanRunning, orphanStopped].sort());
    t.deepEqual([...result.kept].sort(), [elsewhere, live.name].sort());

    const names = (await docker.listContainers({ all: true })).map((info) => info.Names[0]?.slice(1));
    t.false(names.includes(orphanRunning));
    t.false(names.includes(orphanStopped));
    t.true(names.includes(elsewhere), 'a container made on another host is not judged by our pids');
    t.true(names.includes(live.name), 'a container whose creator runs is kept');
    t.true(names.includes(foreignName), 'a container without our labels is never touched');
    t.true(names.includes(otherPool), 'another pool is not reaped');

    const forced = await reapDockerOrphans({ docker, poolId, force: true });
    t.deepEqual([...forced.removed].sort(), [elsewhere, live.name].sort());
    t.deepEqual(forced.kept, []);
    const after = (await docker.listContainers({ all: true })).map((info) => info.Names[0]?.slice(1));
    t.true(after.includes(foreignName), 'force still spares containers without our labels');
    t.true(after.includes(otherPool));
    t.deepEqual(await reapDockerOrphans({ docker, poolId }), { removed: [], kept: [] });
  } finally {
    await reapDockerOrphans({ docker, poolId: otherPoolId, force: true });
  }
});
