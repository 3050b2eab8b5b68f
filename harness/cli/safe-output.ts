/**
 * Output that cannot kill the process. When the reader of stdout or stderr goes away (a log shipper restarts,
 * `| head` exits), the next write fails with EPIPE, reported as an 'error' event that, unheard, crashes the
 * process: a service would drop every client and leave its containers on the engine, a run would lose its results.
 * So the CLI entry point makes a failed stream quiet instead: from its first error on, writes to it are dropped and
 * the command carries on to its normal end and exit code.
 */

type Callback = (error?: Error | null) => void;
type Write = (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown) => boolean;

/** The streams that failed and are now dropped; for a command that wants to know (nothing needs it yet). */
export const brokenStreams = new Set<NodeJS.WritableStream>();

const protectedStreams = new WeakSet<NodeJS.WritableStream>();

/** Makes `streams` (stdout and stderr by default) drop their writes once one fails. Idempotent. */
export function protectOutput(streams: readonly NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) protect(stream);
}

function protect(stream: NodeJS.WritableStream): void {
  if (protectedStreams.has(stream)) return;
  protectedStreams.add(stream);
  const target = stream as unknown as { write: Write };
  const write: Write = target.write.bind(stream);
  const markBroken = (): void => {
    brokenStreams.add(stream);
  };
  // Asynchronous failures (pipes): the error event, and any later one, is heard and ends the writing.
  stream.on('error', markBroken);
  target.write = (chunk, encodingOrCallback, callback) => {
    const done = (typeof encodingOrCallback === 'function' ? encodingOrCallback : callback) as Callback | undefined;
    if (brokenStreams.has(stream)) {
      // Dropped, but reported as written: a caller waiting for its callback or 'drain' must not hang.
      if (done) process.nextTick(done, null);
      return true;
    }
    try {
      return write(chunk, encodingOrCallback, callback);
    } catch {
      // Synchronous failures (a file on a full disk, written with writeSync) end the writing too.
      markBroken();
      if (done) process.nextTick(done, null);
      return true;
    }
  };
}
