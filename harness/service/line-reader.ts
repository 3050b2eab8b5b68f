export type LineEvent =
  /** A complete line, without its `\n` (nor a `\r` before it). */
  | { readonly kind: 'line'; readonly line: Buffer }
  /** More than `maxLineBytes` arrived without a newline. The reader ignores all further input. */
  | { readonly kind: 'overflow'; readonly bytes: number };

const newline = 0x0a;
const carriageReturn = 0x0d;

/**
 * Splits a byte stream into lines while holding at most `maxLineBytes` of an unfinished line, so a peer that
 * never sends a newline cannot make us buffer without limit. It works on bytes, not strings: a chunk boundary
 * may fall inside a multi-byte UTF-8 character, and `\n` never occurs inside one.
 */
export class LineReader {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #failed = false;

  constructor(maxLineBytes: number) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    this.#maxLineBytes = maxLineBytes;
  }

  /** True once a line overflowed; everything after it is ignored. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes of an unfinished line held now. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Uint8Array): LineEvent[] {
    if (this.#failed) return [];
    const events: LineEvent[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let at = data.indexOf(newline); at !== -1; at = data.indexOf(newline)) {
      const length = this.#pendingBytes + at;
      if (length > this.#maxLineBytes) return this.#overflow(events, length);
      const line = this.#pendingBytes === 0 ? Buffer.from(data.subarray(0, at)) : Buffer.concat([...this.#pending, data.subarray(0, at)]);
      this.#pending = [];
      this.#pendingBytes = 0;
      events.push({ kind: 'line', line: stripCarriageReturn(line) });
      data = data.subarray(at + 1);
    }
    if (data.length > 0) {
      if (this.#pendingBytes + data.length > this.#maxLineBytes) return this.#overflow(events, this.#pendingBytes + data.length);
      // Copied: the caller may reuse its chunk's memory once push() returns.
      this.#pending.push(Buffer.from(data));
      this.#pendingBytes += data.length;
    }
    return events;
  }

  /** The stream ended: returns the unfinished line, if any (a half-written request). */
  end(): Buffer | undefined {
    if (this.#failed || this.#pendingBytes === 0) return undefined;
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    return rest;
  }

  #overflow(events: LineEvent[], bytes: number): LineEvent[] {
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    events.push({ kind: 'overflow', bytes });
    return events;
  }
}

function stripCarriageReturn(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === carriageReturn ? line.subarray(0, -1) : line;
}
