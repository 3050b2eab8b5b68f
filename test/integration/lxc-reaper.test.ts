import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { assertEngine } from '../helpers/engines.js';
import { buildLxcName, destroyLxcContainer, reapLxcOrphans } from '../../lib/backends/lxc/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';

const { lxcPath, lxcBase } = loadEngineConfig();
const poolId = `it-reap-${randomSuffix()}`;
const otherPoolId = `${poolId}-other`;
const foreign = `foreign-${randomSuffix()}`;
const made: string[] = [];

async function allContainers(): Promise<string[]> {
  const { stdout } = await execa('lxc-ls', ['-P', lxcPath, '-1']);
  return stdout.split('\n').filter((name) => name !== '');
}

/** A snapshot clone of the base under any name, started, as a crashed process would have left it. */
async function cloneAndStart(name: string): Promise<void> {
  made.push(name);
  await execa('lxc-copy', ['-P', lxcPath, '-n', lxcBase, '-N', name, '-s', '-B', 'overlayfs']);
  await execa('lxc-start', ['-P', lxcPath, '-n', name, '-d']);
  await execa('lxc-wait', ['-P', lxcPath, '-n', name, '-s', 'RUNNING', '-t', '30']);
}

/** The pid of a process that has exited (pids are not reused this quickly). */
async function deadPid(): Promise<number> {
  const subprocess = execa('true');
  const { pid } = subprocess;
  await subprocess;
  if (pid === undefined) throw new Error('no pid for `true`');
  return pid;
}

test.before(() => assertEngine('lxc'));

test.after.always(async () => {
  await Promise.allSettled(made.map((name) => destroyLxcContainer(lxcPath, name)));
});

test.serial('reaping removes orphans of this pool only; the base, foreign and other pools survive', async (t) => {
  const pid = await deadPid();
  const orphan = buildLxcName(poolId, pid, randomSuffix());
  const live = buildLxcName(poolId, process.pid, randomSuffix());
  const otherPoolsOrphan = buildLxcName(otherPoolId, pid, randomSuffix());
  // A clone whose lxc-copy died before writing its config: LXC does not list it, the reaper still removes it.
  const partial = buildLxcName(poolId, pid, randomSuffix());
  made.push(partial);
  await mkdir(join(lxcPath, partial, 'overlay', 'delta'), { recursive: true });
  await writeFile(join(lxcPath, partial, 'overlay', 'delta', 'leftover'), 'x');
  for (const name of [orphan, live, otherPoolsOrphan, foreign]) await cloneAndStart(name);

  const result = await reapLxcOrphans({ lxcpath: lxcPath, poolId });
  t.deepEqual(result.removed.sort(), [orphan, partial].sort());
  t.deepEqual(result.kept, [live]);
  const left = await allContainers();
  t.false(left.includes(orphan));
  await t.throwsAsync(access(join(lxcPath, partial)), { code: 'ENOENT' });
  for (const survivor of [live, otherPoolsOrphan, foreign, lxcBase]) t.true(left.includes(survivor), survivor);

  const running = (await execa('lxc-ls', ['-P', lxcPath, '-1', '--running'])).stdout.split('\n');
  t.true(running.includes(foreign), 'the foreign container is still running');

  const forced = await reapLxcOrphans({ lxcpath: lxcPath, poolId, force: true });
  t.deepEqual(forced, { removed: [live], kept: [] });
  const afterForce = await allContainers();
  for (const survivor of [otherPoolsOrphan, foreign, lxcBase]) t.true(afterForce.includes(survivor), survivor);
  t.deepEqual(
    afterForce.filter((name) => name.startsWith(`warmpool-${poolId}-`) && !name.startsWith(`warmpool-${otherPoolId}-`)),
    [],
  );

  for (const name of [otherPoolsOrphan, foreign]) await destroyLxcContainer(lxcPath, name);
  t.deepEqual(await reapLxcOrphans({ lxcpath: lxcPath, poolId }), { removed: [], kept: [] });
});
