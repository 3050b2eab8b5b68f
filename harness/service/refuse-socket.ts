import type { Socket } from 'node:net';
import { encodeMessage, failure } from './protocol.js';

/** How long a refused client gets to read its answer and close before the service closes on it. */
const refusalGraceMs = 1000;

/**
 * Answers a connection the service will not take (`{ id: null, ok: false, error }`) and closes it.
 *
 * Closing at once is not enough for the answer to arrive: a client usually writes its first request as soon
 * as it is connected, and if that write finds the socket closed (EPIPE), Node destroys the client's socket
 * without reading what the service sent. So a `graceful` refusal ends the service's side after the answer,
 * reads and drops whatever the client sends, and closes when the client does (a Node client closes as soon as
 * it reads the end), or after a second. That holds a file descriptor for a moment, which the caller counts;
 * when it has none to spare, the refusal is immediate: the answer is written into the kernel and the
 * descriptor closed right away, which a client that has not written yet still reads. Resolves once closed.
 */
export function refuseSocket(socket: Socket, code: string, message: string, graceful: boolean): Promise<void> {
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  const answer = encodeMessage(failure(null, code, message));
  if (!graceful) {
    socket.write(answer);
    socket.destroy();
    return closed;
  }
  const cut = setTimeout(() => socket.destroy(), refusalGraceMs);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
  socket.once('end', () => socket.destroy());
  socket.end(answer);
  socket.resume();
  return closed;
}
