import test from 'ava';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { dockerContainerName, ownerLabels, poolLabelFilter } from '../../lib/backends/docker/docker-labels.js';
import { isProcessAlive, randomSuffix, validatePoolId } from '../../lib/backends/owner.js';
import { InvalidOptionError } from '../../lib/errors.js';

test('container names are warmpool-<poolId>-<pid>-<8 hex>', (t) => {
  const name = dockerContainerName('lab-a');
  t.regex(name, new RegExp(`^warmpool-lab-a-${process.pid}-[0-9a-f]{8}$`));
  t.not(dockerContainerName('lab-a'), name);
  t.is(dockerContainerName('p', 12, 'deadbeef'), 'warmpool-p-12-deadbeef');
  // Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*: every valid pool id keeps the name valid.
  t.regex(dockerContainerName(validatePoolId('0_a.b-c')), /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
});

test('owner labels name the pool, creator pid, host and creation time', (t) => {
  const created = new Date('2024-01-02T03:04:05.000Z');
  t.deepEqual(ownerLabels({ poolId: 'p', pid: 42, host: 'h', created }), {
    'warmpool.pool': 'p',
    'warmpool.created': '2024-01-02T03:04:05.000Z',
    'warmpool.pid': '42',
    'warmpool.host': 'h',
  });
  const defaults = ownerLabels({ poolId: 'p' });
  t.is(defaults['warmpool.pid'], String(process.pid));
  t.is(defaults['warmpool.host'], hostname());
  t.deepEqual(poolLabelFilter('p'), { label: ['warmpool.pool=p'] });
});

test('randomSuffix is 8 lowercase hex characters', (t) => {
  const seen = new Set<string>();
  for (let index = 0; index < 100; index++) {
    const suffix = randomSuffix();
    t.regex(suffix, /^[0-9a-f]{8}$/);
    seen.add(suffix);
  }
  t.true(seen.size > 95);
});

test('isProcessAlive tells a running pid from a finished one', (t) => {
  t.true(isProcessAlive(process.pid));
  t.true(isProcessAlive(1), 'pid 1 always exists (EPERM would count as alive too)');
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  t.false(isProcessAlive(Number(child.stdout)));
  t.false(isProcessAlive(0));
  t.false(isProcessAlive(-1));
  t.false(isProcessAlive(Number.NaN));
});

test('validatePoolId accepts ids fit for names and labels and rejects the rest', (t) => {
  for (const id of ['a', '0', 'lab-a', 'a_b.c-d', 'a'.repeat(32)]) t.is(validatePoolId(id), id);
  for (const id of ['', 'A', '_a', '.a', '-a', 'a b', 'a/b', 'a'.repeat(33), 3, null, undefined]) {
    const error = t.throws(() => validatePoolId(id), { instanceOf: InvalidOptionError });
    t.is(error?.option, 'poolId');
  }
});
