/**
 * The tar archives Docker's archive API moves files in and out of a container with, through tar-stream:
 * writing packs one regular file; reading streams the engine's archive in and stops at its first entry (the
 * path asked for), with the pax / GNU long-name headers Docker's Go writer emits already applied.
 */
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import type { Header } from 'tar-stream';

export type TarEntryType = Header['type'];

export interface TarEntry {
  readonly name: string;
  /** 'file', 'symlink', 'directory', 'link' (a hard link)... */
  readonly type: TarEntryType;
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

/**
 * Longest file name (one path part) we pack: Linux's NAME_MAX. Names past ustar's 100 bytes go in a pax header,
 * which Docker reads.
 */
export const maxTarNameBytes = 255;

/** The archive is not a readable tar: a bad header checksum, an unknown format, or it ends mid-entry. */
export class CorruptTarError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CorruptTarError';
  }
}

/** A tar archive holding one regular file `name` (a single path part) with `data`. */
export async function packSingleFile(name: string, data: Uint8Array, options: TarFileOptions = {}): Promise<Buffer> {
  const nameBytes = Buffer.byteLength(name, 'utf8');
  if (nameBytes === 0 || nameBytes > maxTarNameBytes || name.includes('/') || name.includes('\0')) {
    const expected = `1-${maxTarNameBytes} bytes without '/'`;
    throw new RangeError(`A tar entry name must be ${expected}, got ${JSON.stringify(name)}`);
  }
  const packer = pack();
  packer.entry({ name, type: 'file', mode: options.mode ?? 0o644, mtime: options.mtime ?? new Date() }, data);
  packer.finalize();
  const chunks: Uint8Array[] = [];
  for await (const chunk of packer as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The first entry of a tar archive (extension headers are not entries), or undefined for an empty archive.
 * A stream is read only up to the end of that entry and then destroyed, so a directory's archive is not
 * downloaded whole. Rejects with CorruptTarError for an unreadable archive, and with the stream's own error when
 * the stream fails.
 */
export async function readFirstTarEntry(archive: Readable | Uint8Array): Promise<TarEntry | undefined> {
  const source = archive instanceof Uint8Array ? Readable.from([archive]) : archive;
  const extractor = extract();
  let sourceError: Error | undefined;
  const onSourceError = (error: unknown): void => {
    sourceError = error instanceof Error ? error : new Error(String(error));
    extractor.destroy(sourceError);
  };
  source.on('error', onSourceError);
  source.pipe(extractor);
  try {
    // Leaving the loop (return) destroys the extractor; the finally below ends the source.
    for await (const entry of extractor) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of entry as AsyncIterable<Uint8Array>) chunks.push(chunk);
      const { name, type, mode, linkname } = entry.header;
      // linkname is null, not '', in a header without one (tar-stream's typings say string).
      return { name, type, mode, data: Buffer.concat(chunks), linkName: linkname ?? '' };
    }
    if (sourceError !== undefined) throw sourceError;
    return undefined;
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    const reason = error instanceof Error ? error.message : String(error);
    throw new CorruptTarError(`Corrupt tar archive: ${reason}`, { cause: error });
  } finally {
    source.unpipe();
    source.off('error', onSourceError);
    // An error after this point has no reader left: swallow it rather than crash the process.
    source.on('error', () => {});
    source.destroy();
  }
}
