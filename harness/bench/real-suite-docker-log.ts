/**
 * Splits what the engine's logs endpoint returns for a container without a TTY into stdout and stderr. The body
 * is a sequence of frames: an 8-byte header (stream: 1 stdout, 2 stderr; three zero bytes; the payload's length,
 * big-endian uint32) and then the payload. A truncated last frame keeps what arrived.
 */
export function demuxDockerLog(body: Buffer): { stdout: string; stderr: string } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= body.length) {
    const stream = body[offset];
    const length = body.readUInt32BE(offset + 4);
    const payload = body.subarray(offset + 8, Math.min(offset + 8 + length, body.length));
    if (stream === 2) stderr.push(payload);
    else stdout.push(payload);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}
