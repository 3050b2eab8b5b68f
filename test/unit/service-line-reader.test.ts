import test from 'ava';
import { LineReader, type LineEvent } from '../../harness/service/line-reader.js';

const lines = (events: LineEvent[]): string[] =>
  events.flatMap((event) => (event.kind === 'line' ? [event.line.toString('utf8')] : [`<overflow ${event.bytes}>`]));

test('splits a chunk holding several lines', (t) => {
  const reader = new LineReader(100);
  t.deepEqual(lines(reader.push(Buffer.from('a\nbb\n\nccc\n'))), ['a', 'bb', '', 'ccc']);
  t.is(reader.pendingBytes, 0);
  t.is(reader.end(), undefined);
});

test('joins a line split across chunks, even inside a multi-byte character', (t) => {
  const reader = new LineReader(100);
  const bytes = Buffer.from('{"id":"é€"}\n', 'utf8');
  const events: LineEvent[] = [];
  for (const byte of bytes) events.push(...reader.push(Uint8Array.of(byte)));
  t.deepEqual(lines(events), ['{"id":"é€"}']);
});

test('strips a carriage return before the newline', (t) => {
  const reader = new LineReader(100);
  t.deepEqual(lines(reader.push(Buffer.from('one\r\ntwo\n'))), ['one', 'two']);
});

test('a line of exactly the limit passes; one byte more overflows and the reader ignores the rest', (t) => {
  const reader = new LineReader(8);
  t.deepEqual(lines(reader.push(Buffer.from('12345678\n'))), ['12345678']);
  t.deepEqual(lines(reader.push(Buffer.from('123456789\nok\n'))), ['<overflow 9>']);
  t.true(reader.failed);
  t.deepEqual(reader.push(Buffer.from('later\n')), []);
  t.is(reader.end(), undefined);
});

test('an unfinished line over the limit overflows before its newline arrives, holding no more than the limit', (t) => {
  const reader = new LineReader(1024);
  t.deepEqual(lines(reader.push(Buffer.alloc(1000, 0x61))), []);
  t.is(reader.pendingBytes, 1000);
  t.deepEqual(lines(reader.push(Buffer.alloc(100, 0x61))), ['<overflow 1100>']);
  t.is(reader.pendingBytes, 0);
});

test('lines before an oversized one in the same chunk are still delivered', (t) => {
  const reader = new LineReader(4);
  t.deepEqual(lines(reader.push(Buffer.from('ab\ncd\nefghijk'))), ['ab', 'cd', '<overflow 7>']);
});

test('end() returns a half-written line', (t) => {
  const reader = new LineReader(100);
  t.deepEqual(lines(reader.push(Buffer.from('done\n{"id":1,"ty'))), ['done']);
  t.is(reader.end()?.toString(), '{"id":1,"ty');
  t.is(reader.end(), undefined);
});

test('delivered lines do not share memory with the chunk', (t) => {
  const reader = new LineReader(100);
  const chunk = Buffer.from('abc\n');
  const [event] = reader.push(chunk);
  chunk.fill(0x7a);
  t.is(event?.kind === 'line' ? event.line.toString() : '', 'abc');
});

test('refuses a limit that is not a positive integer', (t) => {
  t.throws(() => new LineReader(0), { instanceOf: RangeError });
  t.throws(() => new LineReader(1.5), { instanceOf: RangeError });
});
