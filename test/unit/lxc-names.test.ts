import test from 'ava';
import { buildLxcName, isLxcNameOfPool, parseLxcName, validateLxcName } from '../../lib/backends/lxc/lxc-names.js';
import { InvalidOptionError } from '../../lib/errors.js';

const roundTrips: ReadonlyArray<[poolId: string, pid: number, suffix: string]> = [
  ['lab', 1234, '0badf00d'],
  ['a-1-deadbeef', 123, '0badf00d'],
  ['pool-12-0a0a0a0a-7', 4_194_304, 'ffffffff'],
  ['x', 1, '00000000'],
  ['with.dots_and-dashes', 99, '12345678'],
  ['a'.repeat(32), 4_194_304, 'abcdef01'],
];

for (const [poolId, pid, suffix] of roundTrips) {
  test(`name of pool ${poolId} with pid ${pid} parses back to its parts`, (t) => {
    const name = buildLxcName(poolId, pid, suffix);
    t.is(name, `warmpool-${poolId}-${pid}-${suffix}`);
    t.is(validateLxcName(name), name);
    t.deepEqual(parseLxcName(name), { poolId, pid, suffix });
    t.true(isLxcNameOfPool(name, poolId));
  });
}

test('a pool id that is a prefix of another pool id does not claim its containers', (t) => {
  const name = buildLxcName('lab-2', 77, 'aaaaaaaa');
  t.false(isLxcNameOfPool(name, 'lab'));
  t.false(isLxcNameOfPool(name, '2'));
  t.true(isLxcNameOfPool(name, 'lab-2'));
});

for (const foreign of [
  'base-busybox',
  'foreign-1234',
  'warmpool-lab',
  'warmpool-lab-123',
  'warmpool-lab-123-xyz12345',
  'warmpool-lab-0123-0badf00d',
  'warmpool-lab-123-0BADF00D',
  'warmpool--123-0badf00d',
  'warmpool-Lab-123-0badf00d',
  'warmpool-lab-123-0badf00d-extra',
  'xwarmpool-lab-123-0badf00d',
  'base-busybox-probe-4242',
]) {
  test(`"${foreign}" is not parsed as a warmpool container`, (t) => {
    t.is(parseLxcName(foreign), undefined);
    t.false(isLxcNameOfPool(foreign, 'lab'));
  });
}

for (const bad of ['; rm -rf /', '../x', 'a b', '', '-n', '.hidden', 'a/b', 'x'.repeat(65), 'tab\tname', 'nl\n']) {
  test(`validateLxcName refuses ${JSON.stringify(bad)}`, (t) => {
    const error = t.throws(() => validateLxcName(bad, 'base'), { instanceOf: InvalidOptionError });
    t.is(error?.option, 'base');
    t.is(error?.code, 'ERR_WARMPOOL_INVALID_OPTION');
  });
}

test('validateLxcName refuses non-strings', (t) => {
  t.throws(() => validateLxcName(42), { instanceOf: InvalidOptionError });
  t.throws(() => validateLxcName(undefined), { instanceOf: InvalidOptionError });
});

test('a pool id too long for a 64-character name is refused, naming poolId', (t) => {
  const error = t.throws(() => buildLxcName('a'.repeat(40), 4_194_304, '00000000'), { instanceOf: InvalidOptionError });
  t.is(error?.option, 'poolId');
});

test('buildLxcName refuses a bad pid or suffix', (t) => {
  t.is(t.throws(() => buildLxcName('lab', 0, '00000000'))?.constructor, InvalidOptionError);
  t.is(t.throws(() => buildLxcName('lab', 1.5, '00000000'))?.constructor, InvalidOptionError);
  t.is(t.throws(() => buildLxcName('lab', 12, 'XYZ'))?.constructor, InvalidOptionError);
  t.is(t.throws(() => buildLxcName('Lab', 12, '00000000'))?.constructor, InvalidOptionError);
});
