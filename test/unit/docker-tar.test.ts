import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { CorruptTarError, packSingleFile, readFirstTarEntry } from '../../lib/backends/docker/docker-tar.js';

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'warmpool-tar-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function patterned(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let index = 0; index < size; index++) data[index] = (index * 31 + 7) % 256;
  return data;
}

test('a packed file reads back the same, from a buffer and from a stream in small chunks', async (t) => {
  for (const size of [0, 1, 511, 512, 513, 100_000]) {
    const data = patterned(size);
    const archive = await packSingleFile('data.bin', data, { mode: 0o600 });
    t.is(archive.length % 512, 0);
    const entry = await readFirstTarEntry(archive);
    t.is(entry?.name, 'data.bin');
    t.is(entry?.type, 'file');
    t.is(entry?.mode, 0o600);
    t.true(entry?.data.equals(data), `size ${size}`);

    const chunks = [];
    for (let offset = 0; offset < archive.length; offset += 97) chunks.push(archive.subarray(offset, offset + 97));
    const streamed = await readFirstTarEntry(Readable.from(chunks));
    t.true(streamed?.data.equals(data), `size ${size}, streamed`);
  }
});

test('the system tar extracts what we pack, long and non-ASCII names included', async (t) => {
  const text = 'héllo, tar\n'.repeat(100);
  const longName = `${'é'.repeat(100)}.txt`; // 204 bytes: past ustar's 100, so in a pax header
  const short = await packSingleFile('héllo.txt', Buffer.from(text));
  const long = await packSingleFile(longName, Buffer.from('long'));
  withTempDir((dir) => {
    writeFileSync(join(dir, 'short.tar'), short);
    writeFileSync(join(dir, 'long.tar'), long);
    execFileSync('tar', ['-x', '-f', join(dir, 'short.tar'), '-C', dir]);
    execFileSync('tar', ['-x', '-f', join(dir, 'long.tar'), '-C', dir]);
    t.is(readFileSync(join(dir, 'héllo.txt'), 'utf8'), text);
    t.is(readFileSync(join(dir, longName), 'utf8'), 'long');
  });
});

test('we read what the system tar writes: pax and GNU long names, symlinks, a directory first', async (t) => {
  const longName = `${'n'.repeat(150)}.txt`;
  const longTarget = `/${'t'.repeat(150)}`;
  const archives = withTempDir((dir) => {
    writeFileSync(join(dir, longName), 'long');
    symlinkSync('/etc/hostname', join(dir, 'link'));
    symlinkSync(longTarget, join(dir, 'long-link'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'inside'), 'inside');
    const create = (format: string, ...names: string[]): Buffer =>
      execFileSync('tar', [`--format=${format}`, '-c', '-f', '-', '-C', dir, ...names]);
    return {
      pax: create('pax', longName),
      gnu: create('gnu', longName),
      link: create('ustar', 'link'),
      longLink: create('pax', 'long-link'),
      directory: create('gnu', 'sub'),
    };
  });

  for (const archive of [archives.pax, archives.gnu]) {
    const entry = await readFirstTarEntry(archive);
    t.is(entry?.name, longName);
    t.is(entry?.type, 'file');
    t.is(entry?.data.toString(), 'long');
  }
  const link = await readFirstTarEntry(archives.link);
  t.is(link?.type, 'symlink');
  t.is(link?.linkName, '/etc/hostname');
  t.is((await readFirstTarEntry(archives.longLink))?.linkName, longTarget);
  const directory = await readFirstTarEntry(archives.directory);
  t.is(directory?.type, 'directory');
  t.is(directory?.name, 'sub/');
  t.is(directory?.linkName, '');
});

test('reading stops after the first entry and destroys the stream', async (t) => {
  const first = await packSingleFile('first', Buffer.from('one'));
  const source = new PassThrough();
  // Only the first entry, without the end-of-archive blocks: the rest of the archive never comes.
  source.write(first.subarray(0, 1024));
  const entry = await readFirstTarEntry(source);
  t.is(entry?.data.toString(), 'one');
  t.true(source.destroyed);
});

test('an empty archive has no entry', async (t) => {
  t.is(await readFirstTarEntry(Buffer.alloc(1024)), undefined);
  t.is(await readFirstTarEntry(Buffer.alloc(0)), undefined);
});

test('a corrupt or truncated archive rejects with CorruptTarError', async (t) => {
  const archive = await packSingleFile('f', Buffer.from('x'));
  archive[0] = 'g'.charCodeAt(0);
  await t.throwsAsync(readFirstTarEntry(archive), { instanceOf: CorruptTarError, message: /Invalid tar header/ });
  const truncated = (await packSingleFile('f', Buffer.alloc(2000))).subarray(0, 1024);
  await t.throwsAsync(readFirstTarEntry(truncated), { instanceOf: CorruptTarError, message: /Unexpected end/ });
});

test('a failing stream rejects with its own error', async (t) => {
  const failure = new Error('connection reset');
  const source = new PassThrough();
  source.write(Buffer.alloc(100));
  setImmediate(() => source.destroy(failure));
  const error = await t.throwsAsync(readFirstTarEntry(source));
  t.is(error, failure);
});

test('entry names must be a single path part of at most 255 bytes', async (t) => {
  for (const bad of ['a/b', '', 'x'.repeat(256), 'nul\0']) {
    await t.throwsAsync(packSingleFile(bad, Buffer.alloc(0)), { instanceOf: RangeError }, JSON.stringify(bad));
  }
  const entry = await readFirstTarEntry(await packSingleFile('x'.repeat(255), Buffer.alloc(0)));
  t.is(entry?.name, 'x'.repeat(255));
});
