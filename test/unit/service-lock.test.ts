import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instantFactory } from '../../fixtures/fake-factory.js';
import { killSpawned, spawnTsx } from '../../fixtures/service/child-processes.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { PoolService } from '../../harness/service/pool-service.js';
import { ServiceRunningError } from '../../harness/service/service-errors.js';
import { ServiceLock, lockPathOf } from '../../harness/service/service-lock.js';
import { createLogger } from '../../lib/logger.js';
import { Pool } from '../../lib/pool.js';
import type { FakeContainer } from '../../fixtures/fake-factory.js';

const holder = 'fixtures/service/lock-holder.ts';
const dirs: string[] = [];

async function socketPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-lock-'));
  dirs.push(dir);
  return join(dir, 'pool.sock');
}

/** A pid that was just in use and is now free: a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

test.after.always(async () => {
  await killSpawned();
  await disposeInProcessServices();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('two takers at once in one process: exactly one gets the lock, the other is told who has it', async (t) => {
  const path = await socketPath();
  const results = await Promise.allSettled([ServiceLock.acquire(path), ServiceLock.acquire(path)]);
  const held = results.filter((result) => result.status === 'fulfilled');
  const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  t.is(held.length, 1);
  t.is(refused.length, 1);
  t.true(refused[0]?.reason instanceof ServiceRunningError);
  t.regex((refused[0]?.reason as Error).message, new RegExp(`pid ${process.pid}`));
  t.is((await readFile(lockPathOf(path), 'utf8')).trim(), String(process.pid));
  const lock = (held[0] as PromiseFulfilledResult<ServiceLock>).value;
  lock.release();
  lock.release();
  t.false(existsSync(lockPathOf(path)), 'released: the lock file is removed');
  (await ServiceLock.acquire(path)).release();
});

test('a stale lock file (its pid dead, no lock held) is taken over by exactly one of two starters', async (t) => {
  const path = await socketPath();
  const stalePid = deadPid();
  await writeFile(lockPathOf(path), `${stalePid}\n`);
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled([ServiceLock.acquire(path), ServiceLock.acquire(path), ServiceLock.acquire(path)]);
    const held = results.filter((result): result is PromiseFulfilledResult<ServiceLock> => result.status === 'fulfilled');
    t.is(held.length, 1, `round ${round}: exactly one holder`);
    t.is((await readFile(lockPathOf(path), 'utf8')).trim(), String(process.pid));
    for (const { value } of held) value.release();
    await writeFile(lockPathOf(path), `${stalePid}\n`);
  }
});

test('two processes started together: exactly one holds the lock, the other is refused naming it', async (t) => {
  const path = await socketPath();
  for (let round = 0; round < 3; round++) {
    const children = [spawnTsx(holder, ['--socket', path, '--on-go']), spawnTsx(holder, ['--socket', path, '--on-go'])];
    await Promise.all(children.map((child) => child.waitFor((event) => event['event'] === 'ready')));
    for (const child of children) child.process.stdin?.write('go\n');
    const outcomes = await Promise.all(children.map((child) => child.waitFor((event) => event['event'] === 'locked' || event['event'] === 'refused')));
    const winners = outcomes.filter((event) => event['event'] === 'locked');
    t.is(winners.length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
    const loser = outcomes.find((event) => event['event'] === 'refused');
    t.is(loser?.['holder'], winners[0]?.['pid']);
    const refusedChild = children[outcomes.indexOf(loser ?? {})];
    t.is((await refusedChild?.exited)?.code, 1);
    const winner = children[outcomes.indexOf(winners[0] ?? {})];
    if (round < 2) {
      winner?.process.stdin?.end();
      t.is((await winner?.exited)?.code, 0);
    } else {
      // A holder killed with SIGKILL leaves its file, but not its lock: the next taker gets it at once.
      winner?.kill('SIGKILL');
      await winner?.exited;
      t.true(existsSync(lockPathOf(path)));
      const lock = await ServiceLock.acquire(path);
      t.is((await readFile(lockPathOf(path), 'utf8')).trim(), String(process.pid));
      lock.release();
    }
  }
});

test('two services listening on one socket at once: one serves, the other is refused', async (t) => {
  const first = await startInProcessService(instantFactory(), { size: 1 });
  await first.service.shutdown();
  const logger = createLogger({ level: 'silent' });
  const services = [1, 2].map(
    () =>
      new PoolService<FakeContainer>({
        pool: new Pool(instantFactory(), { size: 1, logger }),
        backend: 'docker',
        poolId: 'unit',
        socketPath: first.socketPath,
        describe: (container) => ({ backend: 'docker', id: container.id, name: container.name }),
        logger,
      }),
  );
  const results = await Promise.allSettled(services.map((service) => service.listen()));
  t.is(results.filter((result) => result.status === 'fulfilled').length, 1);
  const refused = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  t.true(refused?.reason instanceof ServiceRunningError);
  for (const service of services) await service.shutdown();
  t.false(existsSync(lockPathOf(first.socketPath)), 'the serving one removed its lock file at shutdown');
  await first.dispose();
});
