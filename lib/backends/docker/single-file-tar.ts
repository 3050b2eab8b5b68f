/**
 * Just enough of the ustar format to move one file in and out of a container through Docker's archive API,
 * without a tar dependency. Writing makes one regular-file entry; reading returns the first real entry and
 * skips the pax / GNU extension headers Docker's Go writer emits for long names and large values.
 */

const blockSize = 512;

export interface TarEntry {
  readonly name: string;
  /** The ustar typeflag: '0' file, '2' symlink, '5' directory... (an old-style '\0' reads as '0'). */
  readonly type: string;
  readonly mode: number;
  readonly data: Buffer;
  /** Target of a link entry; '' otherwise. */
  readonly linkName: string;
}

export interface TarFileOptions {
  /** Permission bits. @default 0o644 */
  readonly mode?: number;
  /** @default now */
  readonly mtime?: Date;
}

/** Longest name one ustar header holds without the prefix field; we only ever write a base name. */
export const maxTarNameBytes = 100;

export function createSingleFileTar(name: string, data: Uint8Array, options: TarFileOptions = {}): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length > maxTarNameBytes || name.includes('/')) {
    const expected = `1-${maxTarNameBytes} bytes without '/'`;
    throw new RangeError(`A tar entry name must be ${expected}, got ${JSON.stringify(name)}`);
  }
  const header = Buffer.alloc(blockSize);
  nameBytes.copy(header, 0);
  writeOctal(header, 100, 8, options.mode ?? 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, data.length);
  writeOctal(header, 136, 12, Math.floor((options.mtime ?? new Date()).getTime() / 1000));
  header.write('0', 156, 'ascii');
  header.write('ustar\u0000' + '00', 257, 'ascii');
  writeChecksum(header);
  const padding = (blockSize - (data.length % blockSize)) % blockSize;
  // Two zero blocks end the archive.
  return Buffer.concat([header, data, Buffer.alloc(padding + 2 * blockSize)]);
}

/** The first file, link or directory entry of a tar archive, or undefined for an empty archive. */
export function readFirstTarEntry(archive: Buffer): TarEntry | undefined {
  let offset = 0;
  let longName: string | undefined;
  let longLinkName: string | undefined;
  while (offset + blockSize <= archive.length) {
    const header = archive.subarray(offset, offset + blockSize);
    if (header.every((byte) => byte === 0)) return undefined;
    verifyChecksum(header, offset);
    const size = readOctal(header, 124, 12);
    const dataStart = offset + blockSize;
    const dataEnd = dataStart + size;
    if (dataEnd > archive.length) throw new RangeError(`Truncated tar entry at offset ${offset}`);
    const data = archive.subarray(dataStart, dataEnd);
    const type = header.toString('ascii', 156, 157).replace('\u0000', '0');
    offset = dataStart + Math.ceil(size / blockSize) * blockSize;

    if (type === 'x') {
      const pax = parsePax(data);
      longName = pax.get('path') ?? longName;
      longLinkName = pax.get('linkpath') ?? longLinkName;
      continue;
    }
    if (type === 'L') {
      longName = cString(data);
      continue;
    }
    if (type === 'K') {
      longLinkName = cString(data);
      continue;
    }
    // Global pax headers and other extensions carry nothing we need.
    if (type === 'g' || /[A-Z]/.test(type)) continue;

    const prefix = header.toString('ascii', 257, 263).startsWith('ustar') ? cString(header.subarray(345, 500)) : '';
    const shortName = cString(header.subarray(0, 100));
    return {
      name: longName ?? (prefix === '' ? shortName : `${prefix}/${shortName}`),
      type,
      mode: readOctal(header, 100, 8),
      data: Buffer.from(data),
      linkName: longLinkName ?? cString(header.subarray(157, 257)),
    };
  }
  return undefined;
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  // length - 1 octal digits and a NUL, as ustar wants.
  header.write(value.toString(8).padStart(length - 1, '0') + '\u0000', offset, length, 'ascii');
}

function readOctal(header: Buffer, offset: number, length: number): number {
  const field = header.subarray(offset, offset + length);
  // GNU base-256 for values too large for octal: high bit set in the first byte.
  if ((field[0] ?? 0) & 0x80) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let index = 0; index < blockSize; index++) {
    // The checksum field itself counts as eight spaces.
    sum += index >= 148 && index < 156 ? 0x20 : (header[index] ?? 0);
  }
  return sum;
}

function writeChecksum(header: Buffer): void {
  header.write(checksumOf(header).toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'ascii');
}

function verifyChecksum(header: Buffer, offset: number): void {
  const stored = readOctal(header, 148, 8);
  if (stored !== checksumOf(header)) throw new RangeError(`Bad tar header checksum at offset ${offset}`);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end === -1 ? bytes.length : end);
}

/** Pax records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.toString('ascii', offset, space), 10);
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}
