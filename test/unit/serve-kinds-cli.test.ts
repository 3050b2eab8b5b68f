import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instantFactory } from '../../fixtures/fake-factory.js';
import { eventually } from '../../fixtures/service/raw-client.js';
import { startKindsService } from '../../fixtures/service/kinds-service.js';
import { runMain } from '../helpers/cli.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-kinds-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('serve --print-schema prints the JSON Schema of the host config', async (t) => {
  const result = await runMain(['serve', '--print-schema']);
  t.is(result.code, 0);
  const schema = JSON.parse(result.stdout) as { properties?: Record<string, unknown> };
  t.truthy(schema.properties?.['kinds']);
  t.truthy(schema.properties?.['host']);
});

test('serve --config with a bad host config exits 2 before anything starts, naming the file, the key path and the value', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'lab.json');
  await writeFile(file, JSON.stringify({ kinds: { py: { backend: 'docker', min: 3, max: 2 }, Bad: { backend: 'lxc' } } }));
  const result = await runMain(['serve', '--config', file]);
  t.is(result.code, 2);
  t.regex(result.stderr, new RegExp(`${file}: kinds\\.Bad`));
  t.is(result.stdout, '');
});

test('serve --config lab.json takes no other option: everything is in the file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'lab.json');
  await writeFile(file, JSON.stringify({ kinds: { py: { backend: 'docker' } } }));
  const result = await runMain(['serve', '--config', file, '--size', '3']);
  t.is(result.code, 2);
  t.regex(result.stderr, /is a host config of kinds: everything is set in it, so --size cannot be given too/);
});

test('status lists every kind; get --kind takes from that kind; an unknown kind names the kinds there are', async (t) => {
  const dir = await tempDir(t);
  const socketPath = join(dir, 'pool.sock');
  const alpha = instantFactory();
  const beta = instantFactory();
  const { service } = await startKindsService({ alpha: { factory: alpha, min: 2, max: 5 }, beta: { factory: beta, min: 1, max: 3 } }, socketPath);
  t.teardown(() => service.shutdown().then(() => undefined));
  await eventually(() => service.status().ready === 3);

  const table = await runMain(['status', '--socket', socketPath]);
  t.is(table.code, 0);
  t.regex(table.stdout, /^kind\s+backend\s+ready\s+target\s+min-max\s+creating\s+waiting\s+paused\s+held\s+oldest$/m);
  t.regex(table.stdout, /^alpha\s+docker\s+2\s+2\s+2-5\s+0\s+0\s+0\s+0\s+\S+$/m);
  t.regex(table.stdout, /^beta\s+docker\s+1\s+1\s+1-3\s+0\s+0\s+0\s+0\s+\S+$/m);
  const json = JSON.parse((await runMain(['status', '--socket', socketPath, '--json'])).stdout) as { kinds: { name: string }[] };
  t.deepEqual(
    json.kinds.map((kind) => kind.name),
    ['alpha', 'beta'],
  );

  const fromBeta = await runMain(['get', '--socket', socketPath, '--kind', 'beta']);
  t.is(fromBeta.code, 0);
  const id = (JSON.parse(fromBeta.stdout) as { id: string }).id;
  t.true(beta.ledger.created.some((container) => container.id === id));

  const unknown = await runMain(['get', '--socket', socketPath, '--kind', 'gamma']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /Unknown kind "gamma"; the kinds are: "alpha", "beta"/);
});
