import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSingleFileTar, readFirstTarEntry } from '../../lib/backends/docker/single-file-tar.js';

test('a written tar reads back the same file', (t) => {
  for (const size of [0, 1, 511, 512, 513, 100_000]) {
    const data = Buffer.alloc(size, 0);
    for (let index = 0; index < size; index++) data[index] = (index * 31 + 7) % 256;
    const archive = createSingleFileTar('data.bin', data, { mode: 0o600 });
    t.is(archive.length % 512, 0);
    const entry = readFirstTarEntry(archive);
    t.is(entry?.name, 'data.bin');
    t.is(entry?.type, '0');
    t.is(entry?.mode, 0o600);
    t.true(entry?.data.equals(data), `size ${size}`);
  }
});

test('the system tar extracts what we write', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warmpool-tar-'));
  try {
    const text = 'héllo, tar\n'.repeat(100);
    writeFileSync(join(dir, 'in.tar'), createSingleFileTar('héllo.txt', Buffer.from(text)));
    execFileSync('tar', ['-x', '-f', join(dir, 'in.tar'), '-C', dir]);
    t.is(readFileSync(join(dir, 'héllo.txt'), 'utf8'), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('we read what the system tar writes, including pax long names and symlinks', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warmpool-tar-'));
  try {
    const longName = `${'n'.repeat(150)}.txt`;
    writeFileSync(join(dir, longName), 'long');
    execFileSync('tar', ['--format=pax', '-c', '-f', join(dir, 'long.tar'), '-C', dir, longName]);
    const long = readFirstTarEntry(readFileSync(join(dir, 'long.tar')));
    t.is(long?.name, longName);
    t.is(long?.data.toString(), 'long');

    symlinkSync('/etc/hostname', join(dir, 'link'));
    execFileSync('tar', ['-c', '-f', join(dir, 'link.tar'), '-C', dir, 'link']);
    const link = readFirstTarEntry(readFileSync(join(dir, 'link.tar')));
    t.is(link?.type, '2');
    t.is(link?.linkName, '/etc/hostname');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty archive has no entry; a corrupt one throws', (t) => {
  t.is(readFirstTarEntry(Buffer.alloc(1024)), undefined);
  const archive = createSingleFileTar('f', Buffer.from('x'));
  archive[0] = 'g'.charCodeAt(0);
  t.throws(() => readFirstTarEntry(archive), { message: /checksum/ });
  t.throws(() => readFirstTarEntry(createSingleFileTar('f', Buffer.alloc(2000)).subarray(0, 1024)), { message: /Truncated/ });
});

test('entry names must be a single path part of at most 100 bytes', (t) => {
  t.throws(() => createSingleFileTar('a/b', Buffer.alloc(0)), { instanceOf: RangeError });
  t.throws(() => createSingleFileTar('', Buffer.alloc(0)), { instanceOf: RangeError });
  t.throws(() => createSingleFileTar('x'.repeat(101), Buffer.alloc(0)), { instanceOf: RangeError });
  t.notThrows(() => createSingleFileTar('x'.repeat(100), Buffer.alloc(0)));
});
