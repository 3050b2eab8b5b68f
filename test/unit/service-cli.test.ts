import test from 'ava';
import { existsSync } from 'node:fs';
import { failingFactory, instantFactory, manualFactory } from '../../fixtures/fake-factory.js';
import { eventually } from '../../fixtures/service/raw-client.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { runMain } from '../helpers/cli.js';

test.after.always(disposeInProcessServices);

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(args: string[]): Promise<Captured> {
  return runMain(args);
}

const nowhere = '/tmp/wp-no-service-here.sock';

test('status prints a table, or JSON with --json', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 2 });
  await eventually(() => running.pool.size === 2);
  const table = await cli(['status', '--socket', running.socketPath]);
  t.is(table.code, 0);
  t.regex(table.stdout, /^pool\s+unit \(docker\)$/m);
  t.regex(table.stdout, /^ready\s+2 of 2$/m);
  const json = await cli(['status', '--socket', running.socketPath, '--json']);
  t.is(json.code, 0);
  t.like(JSON.parse(json.stdout), { poolId: 'unit', ready: 2, capacity: 2 });
  await running.dispose();
});

test('get prints the descriptor; without --keep the container goes when the command ends', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 2 });
  await eventually(() => running.pool.size === 2);
  const plain = await cli(['get', '--socket', running.socketPath]);
  t.is(plain.code, 0);
  const descriptor = JSON.parse(plain.stdout) as { backend: string; id: string; name: string };
  t.is(descriptor.backend, 'docker');
  await eventually(() => running.factory.ledger.destroyed.has(descriptor.id));

  const kept = await cli(['get', '--socket', running.socketPath, '--keep']);
  t.is(kept.code, 0);
  const keptId = (JSON.parse(kept.stdout) as { id: string }).id;
  await eventually(() => running.service.status().connections === 0);
  t.false(running.factory.ledger.destroyed.has(keptId));
  t.like(running.service.status(), { held: 1, kept: 1 });
  await running.dispose();
});

test('get exits 1 when no container is ready in time', async (t) => {
  const running = await startInProcessService(manualFactory(), { size: 1, maxWorkers: 1 });
  const result = await cli(['get', '--socket', running.socketPath, '--timeout-ms', '20']);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /no container was ready within 20 ms/);
  await running.dispose();
});

test('errors exits 0 when there are none and 1 when it drained some', async (t) => {
  const quiet = await startInProcessService(instantFactory(), { size: 1 });
  const none = await cli(['errors', '--socket', quiet.socketPath]);
  t.is(none.code, 0);
  t.is(none.stdout, 'no errors\n');
  await quiet.dispose();

  const failing = await startInProcessService(failingFactory(new Error('boom')), { size: 1, maxWorkers: 1, maxErrorsPerHour: 2 });
  await eventually(() => failing.service.status().throttled);
  const some = await cli(['errors', '--socket', failing.socketPath, '--json']);
  t.is(some.code, 1);
  const entries = JSON.parse(some.stdout) as { code: string; message: string }[];
  t.is(entries.length, 2);
  t.regex(entries[0]?.message ?? '', /boom/);
  const again = await cli(['errors', '--socket', failing.socketPath]);
  t.is(again.code, 0);
  await failing.dispose();
});

test('stop shuts the service down and waits for the socket to go', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 1 });
  const result = await cli(['stop', '--socket', running.socketPath]);
  t.is(result.code, 0);
  t.regex(result.stdout, /^stopped/);
  t.false(existsSync(running.socketPath));
  t.like(await running.service.closed, { clean: true });
  await running.dispose();
});

for (const command of ['status', 'get', 'errors', 'stop']) {
  test(`${command} exits 3 when no service answers`, async (t) => {
    const result = await cli([command, '--socket', nowhere]);
    t.is(result.code, 3);
    t.regex(result.stderr, /Cannot reach the warmpool service/);
  });
}

test('bad flags exit 2 with the usage', async (t) => {
  for (const args of [
    ['status', '--bogus'],
    ['get', '--timeout-ms', 'soon'],
    ['get', '--socket', 'relative.sock'],
    ['stop', '--pool-id', 'Not Valid'],
    ['reap'],
    ['reap', '--pool-id', 'x', '--backend', 'podman'],
    ['serve', '--size', '0'],
  ]) {
    const result = await cli(args);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, /Usage: warmpool/, args.join(' '));
  }
});

test('--help works for each command', async (t) => {
  for (const command of ['serve', 'status', 'get', 'errors', 'reap', 'stop']) {
    const result = await cli([command, '--help']);
    t.is(result.code, 0);
    t.regex(result.stdout, new RegExp(`^Usage: warmpool ${command}`));
    t.regex(result.stdout, /Exit codes/);
  }
});
